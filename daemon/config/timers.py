"""Configuration sections of the timers: the business calendar, the timetable, win-back offers.

Part of the schema in `daemon.config` (which re-exports these classes); documented in
`config.example.toml` under [business], [timers] and [winback].
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.business_calendar import build_calendar
from daemon.schema import ConfigError


@dataclass(frozen=True)
class BusinessConfig:
    timezone: str = "UTC"
    hours: str = "09:00-17:30"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays_country: str = ""
    holidays_subdivision: str = ""
    extra_holidays: tuple[str, ...] = ()
    customer_hours: str = "09:00-17:00"

    def validate(self, path: str) -> None:
        self.calendar(path)

    def calendar(self, path: str = "business"):
        """The working calendar these values describe (daemon.business_calendar)."""

        return build_calendar(
            self.timezone,
            self.hours,
            self.days,
            self.holidays_country,
            self.holidays_subdivision,
            self.extra_holidays,
            self.customer_hours,
            path,
        )


@dataclass(frozen=True)
class TimersConfig:
    sla_call_scheduled_business_days: int = 1
    sla_call_held_business_days: int = 2
    approval_reminder_hours: int = 24
    approval_escalation_hours: int = 48
    approval_escalation_roles: tuple[str, ...] = ("director",)
    effective_date_reminder_days: tuple[int, ...] = (7,)
    checklist_retry_business_days: int = 1
    thank_you_days_after_closure: int = 1
    feedback_days_after_closure: int = 14
    winback_days: tuple[int, ...] = (60, 120)
    pause_resume_reminder_days: int = 7
    customer_send_hour: str = "10:00"

    def validate(self, path: str) -> None:
        from datetime import time

        try:
            time.fromisoformat(self.customer_send_hour)
        except ValueError:
            raise ConfigError(
                f'{path}.customer_send_hour: expected a time like "10:00", got {self.customer_send_hour!r}'
            ) from None


@dataclass(frozen=True)
class WinbackConfig:
    offers: tuple[str, ...] = (
        "price: 20% off your first three months back",
        "results: a free strategy review and a new specialist on your account",
        "service: a dedicated account manager and a monthly review call",
        "budget: a lighter plan at half the monthly fee, upgrade when you are ready",
    )
    default_offer: str = "your first month back free"

    def validate(self, path: str) -> None:
        for i, line in enumerate(self.offers):
            if ":" not in line or not line.split(":", 1)[0].strip():
                raise ConfigError(f'{path}.offers[{i}]: expected "reason: offer", got {line!r}')

    def offer_for(self, reason: str | None) -> str:
        """The offer written for the reason a customer left (its category, before any ':')."""
        category = (reason or "").split(":", 1)[0].strip().lower()
        for line in self.offers:
            key, offer = line.split(":", 1)
            if key.strip().lower() == category:
                return offer.strip()
        return self.default_offer

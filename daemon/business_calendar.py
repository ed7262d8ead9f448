"""Business time: opening hours, working days, holidays, and when customer mail may go out.

Every deadline the desk keeps is computed here, in local wall-clock time, then turned into
UTC once. Doing the arithmetic on local dates (not on UTC offsets or cron expressions) is
what keeps "two business days at 10:00" at 10:00 across a daylight-saving change: APScheduler
only ever sees the resulting UTC instant (a wall-clock trigger would fire twice or never across a DST change).
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_tables

from daemon.schema import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UTC = UTC
# Far enough to cross any run of holidays and weekends; a calendar with no working day at
# all is refused when it is built, so this bound is never the real answer.
_MAX_DAYS_SEARCHED = 400


@dataclass(frozen=True)
class BusinessCalendar:
    """The agency's working time, and the local hours at which a customer may be written to."""

    zone: ZoneInfo
    opens: time
    closes: time
    days: frozenset[int]  # date.weekday() numbers: 0 is Monday
    holidays: Container[date]
    customer_opens: time = time(9, 0)
    customer_closes: time = time(17, 0)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def local(self, moment: datetime) -> datetime:
        return _aware(moment).astimezone(self.zone)


def build_calendar(
    timezone_name: str = "UTC",
    hours: str = "09:00-17:30",
    days: tuple[str, ...] = WEEKDAYS[:5],
    holidays_country: str = "",
    holidays_subdivision: str = "",
    extra_holidays: tuple[str, ...] = (),
    customer_hours: str = "09:00-17:00",
    path: str = "business",
) -> BusinessCalendar:
    """A calendar from configuration values; a bad value raises ConfigError naming its key."""
    opens, closes = parse_hours(hours, f"{path}.hours")
    customer_opens, customer_closes = parse_hours(customer_hours, f"{path}.customer_hours")
    return BusinessCalendar(
        zone=parse_zone(timezone_name, f"{path}.timezone"),
        opens=opens,
        closes=closes,
        days=_parse_days(days, f"{path}.days"),
        holidays=_holidays(holidays_country, holidays_subdivision, extra_holidays, path),
        customer_opens=customer_opens,
        customer_closes=customer_closes,
    )


def add_business_days(moment: datetime, n: int, cal: BusinessCalendar) -> datetime:
    """`n` business days after `moment`, at the same local time of day, in UTC.

    A moment outside business hours counts from the next opening: a notice sent on
    Saturday is one business day old on Tuesday morning, not on Monday.
    """
    start = cal.local(next_business_slot(moment, cal))
    day = start.date()
    for _ in range(n):
        day = _next_business_day(day, cal)
    return at_local(day, start.time(), cal.zone)


def next_business_slot(after: datetime, cal: BusinessCalendar) -> datetime:
    """The first moment at or after `after` that falls within business hours, in UTC."""
    local = cal.local(after)
    if cal.is_business_day(local.date()) and cal.opens <= local.time() < cal.closes:
        return _aware(after).astimezone(UTC)
    day = (
        local.date()
        if cal.is_business_day(local.date()) and local.time() < cal.opens
        else (_next_business_day(local.date(), cal))
    )
    return at_local(day, cal.opens, cal.zone)


def customer_send_time(moment: datetime, zone: str | ZoneInfo | None, cal: BusinessCalendar) -> datetime:
    """The first moment at or after `moment` when mail may reach the customer, in UTC.

    That is within the customer hours, on a working weekday, in the customer's own time
    zone (the agency's when the account has none). The agency's holidays are not the
    customer's, so only the weekday is checked there.
    """
    tz = _customer_zone(zone, cal)
    local = _aware(moment).astimezone(tz)
    if local.weekday() in cal.days and cal.customer_opens <= local.time() < cal.customer_closes:
        return _aware(moment).astimezone(UTC)
    day = local.date()
    if local.weekday() not in cal.days or local.time() >= cal.customer_closes:
        day = _next_weekday(day, cal)
    return at_local(day, cal.customer_opens, tz)


def customer_day_at(day: date, hour: time, zone: str | ZoneInfo | None, cal: BusinessCalendar) -> datetime:
    """`hour` local time on `day` for the customer, in UTC; a weekend moves it to the next
    working weekday at the same hour (an hour outside the customer hours moves as well)."""
    tz = _customer_zone(zone, cal)
    if day.weekday() not in cal.days:
        day = _next_weekday(day, cal)
    return customer_send_time(at_local(day, hour, tz), tz, cal)


def at_local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """Wall-clock `wall` on `day` in `zone`, as UTC.

    An hour skipped by a spring-forward change lands just after the change (02:30 becomes
    03:30); an hour repeated in autumn takes its first occurrence.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None))
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def parse_hours(text: str, key: str) -> tuple[time, time]:
    """ "09:00-17:30" -> (09:00, 17:30); the opening must come before the closing."""
    try:
        first, last = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ConfigError(f'{key}: expected hours like "09:00-17:30", got {text!r}') from None
    if first >= last:
        raise ConfigError(f"{key}: opens at {first:%H:%M}, which is not before {last:%H:%M}")
    return first, last


def parse_zone(name: str, key: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{key}: unknown time zone {name!r}") from None


def _parse_days(names: tuple[str, ...], key: str) -> frozenset[int]:
    unknown = [name for name in names if name.lower()[:3] not in WEEKDAYS]
    if unknown or not names:
        raise ConfigError(f"{key}: expected day names among {', '.join(WEEKDAYS)}, got {list(names)!r}")
    return frozenset(WEEKDAYS.index(name.lower()[:3]) for name in names)


def _holidays(country: str, subdivision: str, extra: tuple[str, ...], path: str) -> Container[date]:
    table = _country_table(country, subdivision, path)
    dates = set()
    for i, text in enumerate(extra):
        try:
            dates.add(date.fromisoformat(text))
        except ValueError:
            raise ConfigError(f"{path}.extra_holidays[{i}]: expected a date like 2026-12-24, got {text!r}") from None
    return _Holidays(table, frozenset(dates))


def _country_table(country: str, subdivision: str, path: str):
    if not country:
        return None
    supported = holiday_tables.list_supported_countries()
    if country not in supported:
        raise ConfigError(
            f"{path}.holidays_country: no holiday calendar for {country!r} (ISO codes such as GB, US, DE)"
        )
    if subdivision and subdivision not in supported[country]:
        raise ConfigError(
            f"{path}.holidays_subdivision: {country} has no subdivision {subdivision!r} "
            f"(known: {', '.join(supported[country]) or 'none'})"
        )
    return holiday_tables.country_holidays(country, subdiv=subdivision or None)


@dataclass(frozen=True)
class _Holidays:
    """Public holidays of a country (years filled in as asked) plus the agency's own days."""

    table: Container[date] | None
    extra: frozenset[date]

    def __contains__(self, day: object) -> bool:
        return day in self.extra or (self.table is not None and day in self.table)


def _next_business_day(day: date, cal: BusinessCalendar) -> date:
    for offset in range(1, _MAX_DAYS_SEARCHED):
        candidate = day + timedelta(days=offset)
        if cal.is_business_day(candidate):
            return candidate
    raise ValueError(f"no business day within {_MAX_DAYS_SEARCHED} days of {day}")


def _next_weekday(day: date, cal: BusinessCalendar) -> date:
    for offset in range(1, 8):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() in cal.days:
            return candidate
    raise ValueError("the calendar has no working weekday")


def _customer_zone(zone: str | ZoneInfo | None, cal: BusinessCalendar) -> ZoneInfo:
    if isinstance(zone, ZoneInfo):
        return zone
    try:
        return ZoneInfo(zone) if zone else cal.zone
    except (ZoneInfoNotFoundError, ValueError):
        # An account imported with a misspelt zone still gets its mail, at agency time.
        return cal.zone


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    return moment

"""Configuration sections of the playbook: authentication of staff mail, reasons and offers,
command roles, the save call, approvals, offboarding, vendors and the webhook.

Part of the schema in `daemon.config` (which re-exports these classes); documented in
`config.example.toml` under the sections of the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from daemon.schema import ConfigError

# -- staff commands: authentication, reasons, offers, roles ---------------------------------


@dataclass(frozen=True)
class AuthConfig:
    authserv_ids: tuple[str, ...] = ()
    accept: tuple[Literal["dkim", "spf", "dmarc"], ...] = ("dkim", "spf")
    verify_dkim_locally: bool = True
    receiving_hosts: tuple[str, ...] = ()
    dkim_max_signatures: int = 3
    dkim_dns_budget_seconds: float = 10.0


@dataclass(frozen=True)
class ReasonsConfig:
    categories: tuple[str, ...] = ("price", "results", "budget", "service", "moving_in_house", "other")


@dataclass(frozen=True)
class Offer:
    name: str
    description: str = ""
    answers: tuple[str, ...] = ()  # the reason categories this offer answers


@dataclass(frozen=True)
class OffersConfig:
    catalogue: tuple[Offer, ...] = (
        Offer("discount", "A discount on the monthly fee for the next months", ("price",)),
        Offer("free_month", "One month of service free of charge", ("price", "results")),
        Offer("strategy_review", "A strategy review with a senior specialist", ("results", "service")),
        Offer("new_specialist", "A different specialist on the account", ("results", "service")),
        Offer("pause", "Pause the services instead of cancelling", ("budget", "moving_in_house")),
        Offer("downgrade", "A smaller package at a lower fee", ("budget", "price")),
        Offer("handover", "A paid handover to the in-house team", ("moving_in_house",)),
    )

    def answering(self, category: str) -> list[Offer]:
        return [offer for offer in self.catalogue if category in offer.answers]

    def get(self, name: str) -> Offer | None:
        return next((offer for offer in self.catalogue if offer.name == name.lower()), None)


@dataclass(frozen=True)
class CommandsConfig:
    # command name -> the roles that may run it, replacing the command's own default.
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# -- the playbook in depth: save call, approvals, offboarding, vendors, webhook -------------

APPROVAL_CONDITIONS = ("always", "credit", "early_termination")


@dataclass(frozen=True)
class CallsConfig:
    minutes: int = 30
    business_days_after_notice: int = 1
    hour: str = "11:00"
    invite_delay_minutes: int = 60

    def validate(self, path: str) -> None:
        from datetime import time

        if not 1 <= self.business_days_after_notice <= 2:
            raise ConfigError(
                f"{path}.business_days_after_notice: the playbook holds the call within 2 business "
                f"days of the notice: use 1 or 2, got {self.business_days_after_notice}"
            )
        try:
            time.fromisoformat(self.hour)
        except ValueError:
            raise ConfigError(f'{path}.hour: expected a time like "11:00", got {self.hour!r}') from None


@dataclass(frozen=True)
class ApprovalsConfig:
    chain: tuple[str, ...] = (
        "retention",
        "director",
        "finance when credit",
        "general_manager when early_termination",
        "accounting",
    )

    def validate(self, path: str) -> None:
        for i, _ in enumerate(self.chain):
            self.step(i, f"{path}.chain[{i}]")

    def steps(self) -> list[tuple[str, str]]:
        """(role, condition) of every configured step, in order."""
        return [self.step(i) for i in range(len(self.chain))]

    def step(self, index: int, key: str = "approvals.chain") -> tuple[str, str]:
        """'finance when credit' -> ('finance', 'credit'); 'director' -> ('director', 'always')."""
        role, _, condition = (part.strip() for part in self.chain[index].partition(" when "))
        condition = condition or "always"
        if not role or " " in role or condition not in APPROVAL_CONDITIONS:
            raise ConfigError(
                f'{key}: expected "ROLE" or "ROLE when CONDITION" with CONDITION one of '
                f"{', '.join(APPROVAL_CONDITIONS)}, got {self.chain[index]!r}"
            )
        return role, condition


@dataclass(frozen=True)
class OffboardingConfig:
    items: tuple[str, ...] = (
        "Revoke tool access -> team",
        "Close open projects -> team_lead",
        "Pause ad campaigns and recurring ad spend -> PPC",
        "Settle outstanding payments -> accounting",
        "Refunds and final invoice -> finance",
    )

    def validate(self, path: str) -> None:
        for i, line in enumerate(self.items):
            name, arrow, owner = line.partition("->")
            if not arrow or not name.strip() or not owner.strip():
                raise ConfigError(f'{path}.items[{i}]: expected "ITEM -> OWNER", got {line!r}')


@dataclass(frozen=True)
class VendorsConfig:
    notices: tuple[str, ...] = ()

    def validate(self, path: str) -> None:
        for i, line in enumerate(self.notices):
            service, colon, addresses = line.partition(":")
            if not colon or not service.strip() or "@" not in addresses:
                raise ConfigError(f'{path}.notices[{i}]: expected "SERVICE: vendor@example.com", got {line!r}')

    def for_service(self, service: str) -> list[str]:
        found: list[str] = []
        for line in self.notices:
            name, _, addresses = line.partition(":")
            if name.strip().lower() == service.lower():
                found += [a.strip().lower() for a in addresses.split(",") if a.strip()]
        return found


@dataclass(frozen=True)
class WebhookConfig:
    url_env: str = "CANCELDESK_WEBHOOK_URL"
    timeout_seconds: float = 10.0


# -- sheets: billing, offboarding and planner projected onto Google or a workbook -----------

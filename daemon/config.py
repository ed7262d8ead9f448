"""Configuration: the typed, frozen schema behind `config.example.toml`, and its loader.

Every key of the file is a field here, with its default; `config.example.toml` documents
them in the same order (a test keeps the two in step). Relative paths in the file are read
relative to the file's own folder, so a configuration means the same from any directory.
Secrets are never in the file: only the name of an environment variable or a command
that prints them (see `daemon.secrets`).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from daemon.schema import ConfigError, build


@dataclass(frozen=True)
class DeskConfig:
    address: str = "cancel@agency.example"
    name: str = "Cancellation desk"
    company: str = "Agency"
    reference_prefix: str = "CX"
    timezone: str = "UTC"
    after_closure: Literal["reopen", "new_case"] = "new_case"
    max_automatic_mails_per_recipient_per_day: int = 6

    def validate(self, path: str) -> None:
        if "@" not in self.address:
            raise ConfigError(f"{path}.address: must be an e-mail address, got {self.address!r}")
        _check_zone(self.timezone, f"{path}.timezone")

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1].lower()

    @property
    def local_part(self) -> str:
        return self.address.rsplit("@", 1)[0].lower()


@dataclass(frozen=True)
class MailboxConfig:
    url: str = "maildir:inbox"
    processed_folder: str = "Processed"
    auth: Literal["password", "xoauth2"] = "password"
    password_env: str = "CANCELDESK_IMAP_PASSWORD"
    password_command: str = ""
    idle_renew_seconds: int = 300
    poll_seconds: int = 30
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    fetch_batch: int = 50

    def validate(self, path: str) -> None:
        _check_url(self.url, ("imap", "imaps", "maildir"), f"{path}.url")
        if not 30 <= self.idle_renew_seconds <= 29 * 60:
            raise ConfigError(f"{path}.idle_renew_seconds: must be between 30 and 1740 (29 minutes)")


@dataclass(frozen=True)
class SmtpConfig:
    url: str = "file:outbox"
    password_env: str = "CANCELDESK_SMTP_PASSWORD"
    password_command: str = ""
    timeout: float = 30.0
    max_attempts: int = 3

    def validate(self, path: str) -> None:
        _check_url(self.url, ("smtp", "smtps", "smtp+starttls", "file"), f"{path}.url")


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite:///canceldesk.db"
    password_env: str = "CANCELDESK_DB_PASSWORD"
    password_command: str = ""

    def validate(self, path: str) -> None:
        if urlsplit(self.url).password:
            raise ConfigError(f"{path}.url: has a password in it; put it in {self.password_env} instead")


@dataclass(frozen=True)
class IntakeConfig:
    max_attempts: int = 3
    robots_are_recorded: bool = True


@dataclass(frozen=True)
class OutboxConfig:
    max_attempts: int = 10
    retry_after_seconds: float = 60.0


@dataclass(frozen=True)
class StaffMember:
    email: str
    name: str = ""
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaffConfig:
    file: str = ""
    members: tuple[StaffMember, ...] = ()


@dataclass(frozen=True)
class IntentConfig:
    services: tuple[str, ...] = ("SEO", "PPC", "Social", "Content", "Email", "Website")
    phrases: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    extend_default_phrases: bool = True


@dataclass(frozen=True)
class TemplatesConfig:
    override_dir: str = ""


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


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
        from daemon.business_calendar import build_calendar

        return build_calendar(self.timezone, self.hours, self.days, self.holidays_country,
                              self.holidays_subdivision, self.extra_holidays, self.customer_hours, path)


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
            raise ConfigError(f"{path}.customer_send_hour: expected a time like \"10:00\", "
                              f"got {self.customer_send_hour!r}") from None


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
                raise ConfigError(f"{path}.offers[{i}]: expected \"reason: offer\", got {line!r}")

    def offer_for(self, reason: str | None) -> str:
        """The offer written for the reason a customer left (its category, before any ':')."""
        category = (reason or "").split(":", 1)[0].strip().lower()
        for line in self.offers:
            key, offer = line.split(":", 1)
            if key.strip().lower() == category:
                return offer.strip()
        return self.default_offer


# -- staff commands (issue 4a): authentication, reasons, offers, roles ----------------------

@dataclass(frozen=True)
class AuthConfig:
    authserv_ids: tuple[str, ...] = ()
    accept: tuple[Literal["dkim", "spf", "dmarc"], ...] = ("dkim", "spf")
    verify_dkim_locally: bool = True


@dataclass(frozen=True)
class ReasonsConfig:
    categories: tuple[str, ...] = ("price", "results", "budget", "service", "moving_in_house", "other")


@dataclass(frozen=True)
class Offer:
    name: str
    description: str = ""
    answers: tuple[str, ...] = ()   # the reason categories this offer answers


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


# -- the playbook in depth (issue 4b): save call, approvals, offboarding, vendors, webhook ---

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
            raise ConfigError(f"{path}.business_days_after_notice: the playbook holds the call within 2 business "
                              f"days of the notice: use 1 or 2, got {self.business_days_after_notice}")
        try:
            time.fromisoformat(self.hour)
        except ValueError:
            raise ConfigError(f"{path}.hour: expected a time like \"11:00\", got {self.hour!r}") from None


@dataclass(frozen=True)
class ApprovalsConfig:
    chain: tuple[str, ...] = ("retention", "director", "finance when credit",
                              "general_manager when early_termination", "accounting")

    def validate(self, path: str) -> None:
        for i, _ in enumerate(self.chain):
            self.step(i, f"{path}.chain[{i}]")

    def step(self, index: int, key: str = "approvals.chain") -> tuple[str, str]:
        """'finance when credit' -> ('finance', 'credit'); 'director' -> ('director', 'always')."""
        role, _, condition = (part.strip() for part in self.chain[index].partition(" when "))
        condition = condition or "always"
        if not role or " " in role or condition not in APPROVAL_CONDITIONS:
            raise ConfigError(f"{key}: expected \"ROLE\" or \"ROLE when CONDITION\" with CONDITION one of "
                              f"{', '.join(APPROVAL_CONDITIONS)}, got {self.chain[index]!r}")
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
                raise ConfigError(f"{path}.items[{i}]: expected \"ITEM -> OWNER\", got {line!r}")


@dataclass(frozen=True)
class VendorsConfig:
    notices: tuple[str, ...] = ()

    def validate(self, path: str) -> None:
        for i, line in enumerate(self.notices):
            service, colon, addresses = line.partition(":")
            if not colon or not service.strip() or "@" not in addresses:
                raise ConfigError(f"{path}.notices[{i}]: expected \"SERVICE: vendor@example.com\", got {line!r}")

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


# -- sheets (issue 5): billing, offboarding and planner projected onto Google or a workbook --

@dataclass(frozen=True)
class SheetsConfig:
    backend: Literal["xlsx", "google"] = "xlsx"
    path: str = "sheets.xlsx"
    spreadsheet: str = ""
    service_account_file: str = ""
    service_account_env: str = "CANCELDESK_GOOGLE_SERVICE_ACCOUNT"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    writes_per_minute: int = 60
    reads_per_minute: int = 60
    flush_interval_seconds: float = 10.0
    retry_after_seconds: float = 30.0
    reconcile_interval_minutes: float = 60.0
    billing_spreadsheet: str = ""
    billing_worksheet: str = "Billing"
    billing_columns: tuple[str, ...] = (
        "account: Account", "item_id: Item ID", "service: Service", "monthly_amount: Monthly amount",
        "stop_date: Stop date", "case_ref: Case", "status: Status")
    offboarding_spreadsheet: str = ""
    offboarding_worksheet: str = "Offboarding"
    offboarding_columns: tuple[str, ...] = (
        "case_ref: Case", "client: Client", "final_day: Final day", "reason: Reason", "owner: Owner",
        "status: Status")
    planner_spreadsheet: str = ""
    planner_worksheet: str = "Planner"
    planner_columns: tuple[str, ...] = (
        "case_ref: Case", "account: Account", "kind: Kind", "effective_date: Effective date",
        "resume_date: Resume date", "reason: Reason", "status: Status")
    customers_spreadsheet: str = ""
    customers_worksheet: str = "Customers"
    customers_columns: tuple[str, ...] = (
        "account_id: Account ID", "name: Name", "timezone: Time zone", "contract_start: Contract start",
        "term_months: Term months", "notice_days: Notice days", "account_manager: Account manager",
        "team_lead: Team lead", "contacts: Contacts", "team: Team", "billing_items: Billing items")

    def validate(self, path: str) -> None:
        from daemon.sheets.layout import mappings

        if self.writes_per_minute < 1 or self.reads_per_minute < 1 or self.max_attempts < 1:
            raise ConfigError(f"{path}: writes_per_minute, reads_per_minute and max_attempts must be at least 1")
        if self.flush_interval_seconds < 0 or self.retry_after_seconds <= 0:
            raise ConfigError(f"{path}: flush_interval_seconds must be 0 or more, retry_after_seconds above 0")
        mappings(self, (), path)


@dataclass(frozen=True)
class Config:
    desk: DeskConfig = field(default_factory=DeskConfig)
    mailbox: MailboxConfig = field(default_factory=MailboxConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    intake: IntakeConfig = field(default_factory=IntakeConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    staff: StaffConfig = field(default_factory=StaffConfig)
    intent: IntentConfig = field(default_factory=IntentConfig)
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    business: BusinessConfig = field(default_factory=BusinessConfig)
    timers: TimersConfig = field(default_factory=TimersConfig)
    winback: WinbackConfig = field(default_factory=WinbackConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    reasons: ReasonsConfig = field(default_factory=ReasonsConfig)
    offers: OffersConfig = field(default_factory=OffersConfig)
    commands: CommandsConfig = field(default_factory=CommandsConfig)
    calls: CallsConfig = field(default_factory=CallsConfig)
    approvals: ApprovalsConfig = field(default_factory=ApprovalsConfig)
    offboarding: OffboardingConfig = field(default_factory=OffboardingConfig)
    vendors: VendorsConfig = field(default_factory=VendorsConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    sheets: SheetsConfig = field(default_factory=SheetsConfig)
    base_dir: str = "."  # not a key of the file: the folder the file lives in

    def path(self, value: str) -> Path:
        """A path from the file, made absolute against the file's folder."""
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else Path(self.base_dir) / candidate


def load(path: str | Path) -> Config:
    """Read and check a configuration file; raise ConfigError naming the bad key."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if "base_dir" in table:
        raise ConfigError("base_dir: unknown key")
    config = build(Config, table, "")
    config = replace(config, base_dir=str(path.resolve().parent))
    return _with_staff_file(config)


def from_text(text: str, base_dir: str | Path = ".") -> Config:
    """Build a configuration from TOML text (tests and `canceldesk demo`)."""
    config = replace(build(Config, tomllib.loads(text), ""), base_dir=str(Path(base_dir).resolve()))
    return _with_staff_file(config)


def _with_staff_file(config: Config) -> Config:
    """Staff may live in their own file, so the people list can change without the rest."""
    if not config.staff.file:
        return config
    staff_path = config.path(config.staff.file)
    try:
        table = tomllib.loads(staff_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"staff.file: cannot read {staff_path}: {exc}") from None
    extra = build(StaffConfig, {"members": table.get("members", [])}, "staff.file")
    staff = replace(config.staff, members=config.staff.members + extra.members)
    return replace(config, staff=staff)


def _check_url(url: str, schemes: tuple[str, ...], key: str) -> None:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in schemes:
        raise ConfigError(f"{key}: must start with one of {', '.join(s + ':' for s in schemes)}, got {url!r}")
    if urlsplit(url).password:
        raise ConfigError(f"{key}: has a password in it; passwords come from the environment or a command")


def _check_zone(name: str, key: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{key}: unknown time zone {name!r}") from None

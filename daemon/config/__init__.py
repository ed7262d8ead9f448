"""Configuration: the typed, frozen schema behind `config.example.toml`, and its loader.

Every key of the file is a field here, with its default; `config.example.toml` documents
them in the same order (a test keeps the two in step). Relative paths in the file are read
relative to the file's own folder, so a configuration means the same from any directory.
Secrets are never in the file: only the name of an environment variable or a command
that prints them (see `daemon.config.credentials`). The sections of the playbook, the timers and
the sheets live in `config_playbook`, `config_timers` and `config_sheets`, re-exported here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from daemon.business_calendar import parse_zone
from daemon.config.playbook import (  # noqa: F401 (Offer re-exported: one schema, one import)
    ApprovalsConfig,
    AuthConfig,
    CallsConfig,
    CommandsConfig,
    OffboardingConfig,
    Offer,
    OffersConfig,
    ReasonsConfig,
    VendorsConfig,
    WebhookConfig,
)
from daemon.config.report import HealthConfig, ReportConfig
from daemon.config.sheets import SheetsConfig
from daemon.config.timers import BusinessConfig, TimersConfig, WinbackConfig
from daemon.schema import ConfigError, build
from parsers.language import LANGUAGES


@dataclass(frozen=True)
class DeskConfig:
    address: str = "cancel@agency.example"
    name: str = "Cancellation desk"
    company: str = "Agency"
    reference_prefix: str = "CX"
    timezone: str = "UTC"
    language: str = "en"
    after_closure: Literal["reopen", "new_case"] = "new_case"
    max_automatic_mails_per_recipient_per_day: int = 6
    max_automatic_mails_per_staff_per_day: int = 60
    own_domains: tuple[str, ...] = ()
    system_addresses: tuple[str, ...] = ()
    operator: str = ""

    def validate(self, path: str) -> None:
        if "@" not in self.address:
            raise ConfigError(f"{path}.address: must be an e-mail address, got {self.address!r}")
        parse_zone(self.timezone, f"{path}.timezone")
        if self.language not in LANGUAGES:
            raise ConfigError(f"{path}.language: one of {', '.join(LANGUAGES)}, got {self.language!r}")

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
    fetch_max_bytes: int = 32_000_000

    def validate(self, path: str) -> None:
        _check_url(self.url, ("imap", "imaps", "maildir"), f"{path}.url")
        if not 30 <= self.idle_renew_seconds <= 29 * 60:
            raise ConfigError(f"{path}.idle_renew_seconds: must be between 30 and 1740 (29 minutes)")


@dataclass(frozen=True)
class SmtpConfig:
    RETIRED: ClassVar[dict[str, str]] = {
        "max_attempts": "a failed delivery is retried by the outbox, see [outbox] max_attempts",
    }

    url: str = "file:outbox"
    password_env: str = "CANCELDESK_SMTP_PASSWORD"
    password_command: str = ""
    timeout: float = 30.0

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
    # Other names customers use for a service ({"PPC": ["Google Ads"]}): read as the service.
    service_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # How much of a mail's new text the recogniser reads: bounds the work on a huge mail.
    max_chars: int = 20_000

    def validate(self, path: str) -> None:
        if self.max_chars < 200:
            raise ConfigError(f"{path}.max_chars: at least 200 characters, not {self.max_chars}")
        for service in self.service_aliases:
            if service not in self.services:
                raise ConfigError(
                    f"{path}.service_aliases.{service}: not one of {path}.services ({', '.join(self.services)})"
                )


@dataclass(frozen=True)
class TemplatesConfig:
    override_dir: str = ""


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


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
    report: ReportConfig = field(default_factory=ReportConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
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

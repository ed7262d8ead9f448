"""Wiring: builds the one `Desk` (daemon.desk) from the configuration file.

Turning URLs into adapters happens here and nowhere else; what each workflow event causes
is subscribed from the one table in daemon.events.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import Engine

from daemon import db, events, timers
from daemon.cases.workflow import EventBus
from daemon.clock import Clock, SystemClock
from daemon.commands import staffmail
from daemon.commands.registry import COMMANDS
from daemon.config import Config, load
from daemon.config.credentials import secret_provider
from daemon.desk import Desk
from daemon.directory import StaffDirectory
from daemon.logformat import configure as configure_logging
from daemon.mail.outbox import MAIL, Dispatcher, MailHandler
from daemon.mail.rendering import Renderer
from daemon.mail.style import Style
from daemon.playbook.offboarding import WEBHOOK, webhook_handler
from daemon.schema import ConfigError
from daemon.sheets.sync import SheetSync
from daemon.timers import jobs
from integrations.imap import ImapSource
from integrations.maildir import MaildirSource
from integrations.mailfiles import FileSender
from integrations.sheets.google import GoogleSheets, client_from_service_account
from integrations.sheets.xlsx import XlsxSheets
from integrations.smtp import MailSender, Security, SmtpSender


def load_config(path: str | Path) -> Config:
    """The configuration file, its logging set up as it asks."""
    config = load(path)
    configure_logging(config.logging.level, config.logging.format)
    return config


def open_desk(path: str | Path, **kwargs: Any) -> Desk:
    """The desk a configuration file describes, its local folders made (what every command starts from)."""
    config = load_config(path)
    ensure_dirs(config)
    return build_desk(config, **kwargs)


def build_desk(
    config: Config, *, clock: Clock | None = None, sender: MailSender | None = None, migrate: bool = True
) -> Desk:
    """Everything the daemon needs, from the configuration; `sender` may be given by tests."""
    engine = make_engine(config)
    if migrate:
        db.migrate(engine)
    factory = db.session_factory(engine)
    clock = clock or SystemClock()
    stopping = threading.Event()
    dispatcher = Dispatcher(
        factory,
        clock,
        max_attempts=config.outbox.max_attempts,
        retry_after=timedelta(seconds=config.outbox.retry_after_seconds),
        stop=stopping,
    )
    staff = StaffDirectory(
        config.staff.members,
        desks=config.desk.system_addresses,
        domains=(config.desk.domain, *config.desk.own_domains),
        desk_address=config.desk.address,
    )
    desk = Desk(
        config,
        engine,
        factory,
        clock,
        make_renderer(config),
        EventBus(),
        staff,
        dispatcher,
        sender or make_sender(config),
        config.business.calendar(),
        stopping=stopping,
    )
    desk.staff_mail, desk.outsider_commands = staffmail.handle, staffmail.refuse_outsider
    desk.commands = COMMANDS
    desk.pending_timers = timers.pending_timers
    desk.timer_jobs = jobs.JOBS
    desk.sheets = SheetSync(desk, lambda: make_sheet_backend(config))
    dispatcher.register(MAIL, MailHandler(desk.sender))
    dispatcher.register(WEBHOOK, webhook_handler(config.webhook.timeout_seconds))
    events.subscribe(desk)
    return desk


def make_engine(config: Config) -> Engine:
    """The database engine for `[database]`, its password (if any) from the named secret."""
    password = secret_provider(config.database.password_env, config.database.password_command, "database")
    return db.make_engine(config.database.url, password, config.base_dir)


def local_path(config: Config, url: str, scheme: str) -> Path | None:
    """The folder a file-based URL names (`file:outbox`, `maildir:inbox`); None for a server's URL."""
    prefix = f"{scheme}:"
    return config.path(url[len(prefix) :]) if url.startswith(prefix) else None


def make_renderer(config: Config) -> Renderer:
    """The templates, with `[templates] override_dir` searched before the built-in ones."""
    override = config.path(config.templates.override_dir) if config.templates.override_dir else None
    staff = Style(config.desk.language, config.desk.timezone, config.report.currency)
    return Renderer(override, staff)


def make_sender(config: Config):
    """The outgoing-mail adapter for `[smtp] url`."""

    url = config.smtp.url
    if (folder := local_path(config, url, "file")) is not None:
        return FileSender(folder)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    security: Security = "tls" if parts.scheme == "smtps" else _starttls_choice(query)
    password = (
        secret_provider(config.smtp.password_env, config.smtp.password_command, "smtp") if parts.username else None
    )
    return SmtpSender(
        parts.hostname,
        parts.port or (465 if security == "tls" else 587),
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password_provider=password,
        timeout=config.smtp.timeout,
    )


def make_sheet_backend(config: Config):
    """The sheets adapter for `[sheets] backend`: the local workbook, or Google through gspread."""

    sheets = config.sheets
    if sheets.backend == "xlsx":
        return XlsxSheets(config.path(sheets.path))
    key = str(config.path(sheets.service_account_file)) if sheets.service_account_file else _service_account(sheets)
    client = client_from_service_account(key, timeout=(sheets.connect_timeout, sheets.read_timeout))
    return GoogleSheets(
        client,
        max_attempts=sheets.max_attempts,
        writes_per_minute=sheets.writes_per_minute,
        reads_per_minute=sheets.reads_per_minute,
    )


def _service_account(sheets) -> str:
    import os

    # The key's JSON (or its file's path) from the environment: a secret stays out of the file.
    value = os.environ.get(sheets.service_account_env, "").strip()
    if not value:
        raise ConfigError(
            f'sheets: backend "google" needs service_account_file or the key in ${sheets.service_account_env}'
        )
    return value


def make_source(config: Config):
    """The inbox adapter for `[mailbox] url`."""

    box = config.mailbox
    if (folder := local_path(config, box.url, "maildir")) is not None:
        return MaildirSource(folder, processed_folder=box.processed_folder or None)
    parts = urlsplit(box.url)
    implicit_tls = parts.scheme == "imaps"
    starttls = not implicit_tls and _starttls_choice(parse_qs(parts.query)) == "starttls"
    return ImapSource(
        parts.hostname,
        parts.port or (993 if implicit_tls else 143),
        unquote(parts.username or ""),
        secret_provider(box.password_env, box.password_command, "mailbox"),
        ssl=implicit_tls,
        starttls=starttls,
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        processed_folder=box.processed_folder or None,
        auth=box.auth,
        connect_timeout=box.connect_timeout,
        read_timeout=box.read_timeout,
        idle_renew=box.idle_renew_seconds,
        poll_interval=box.poll_seconds,
    )


def _starttls_choice(query: dict[str, list[str]]) -> Security:
    # STARTTLS unless the operator says otherwise, e.g. for a relay on the same host.
    return "none" if query.get("starttls", ["yes"])[0].lower() in ("no", "off", "false") else "starttls"


def ensure_dirs(config: Config) -> None:
    """Create the folders of a file-based embedded set-up (outbox, Maildir parent)."""
    for folder in (local_path(config, config.smtp.url, "file"), local_path(config, config.mailbox.url, "maildir")):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

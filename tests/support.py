"""Helpers for tests: a desk built from configuration text, accounts on file, mail to send.

Mail is written the way clients write it (headers and all), so a test reads like the
mail it is about.
"""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime, make_msgid
from pathlib import Path

from daemon.accounts_import import import_rows, read_rows
from daemon.app import build_desk, ensure_dirs
from daemon.clock import ManualClock
from daemon.config import from_text
from daemon.db import transaction
from daemon.cli.demo import DEMO_STAFF

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_ACCOUNTS = REPO / "docs" / "accounts.example.csv"
START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # a Monday morning

STAFF = DEMO_STAFF  # the people of docs/accounts.example.csv


def config_text(database_url: str, *, mailbox_url: str = "maildir:inbox", smtp_url: str = "file:outbox",
                extra: str = "") -> str:
    return f"""
[desk]
address = "cancel@agency.example"
name = "Agency cancellation desk"
company = "Agency"
timezone = "Europe/London"

[mailbox]
url = "{mailbox_url}"
poll_seconds = 30

[smtp]
url = "{smtp_url}"

[database]
url = "{database_url}"
{STAFF}
{extra}
"""


def build_test_desk(tmp_path: Path, database_url: str, *, mailbox_url: str = "maildir:inbox",
                    smtp_url: str = "file:outbox", sender=None, clock=None, extra: str = "",
                    accounts: bool = True):
    config = from_text(config_text(database_url, mailbox_url=mailbox_url, smtp_url=smtp_url, extra=extra), tmp_path)
    ensure_dirs(config)
    desk = build_desk(config, clock=clock or ManualClock(START), sender=sender)
    if accounts:
        load_example_accounts(desk)
    return desk


def load_example_accounts(desk) -> None:
    with transaction(desk.factory) as session:
        report = import_rows(session, read_rows(EXAMPLE_ACCOUNTS))
    assert not report.problems, report.problems


def mail(*, sender: str = "Jane Doe <jane@acme.example>", to: str = "cancel@agency.example",
         subject: str = "Cancelling our services", body: str = "Please cancel our SEO service.\n",
         message_id: str | None = None, date: datetime = START, headers: dict[str, str] | None = None) -> bytes:
    """A plain-text mail as a mail client would write it."""
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: {message_id or make_msgid(domain='client.example')}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def database_rows(desk) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order: equal before and after means nothing changed."""
    from sqlalchemy import MetaData, select

    tables = MetaData()
    tables.reflect(bind=desk.engine)
    with desk.engine.connect() as connection:
        return {name: sorted(connection.execute(select(table)).all(), key=repr)
                for name, table in tables.tables.items()}


def run_cli(*argv: str) -> int:
    """`canceldesk ARGV`, leaving the test run's logging as it was (the command sets up its own)."""
    import logging

    from daemon.cli import main

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return main(list(argv))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

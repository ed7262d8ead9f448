"""The daemon as `canceldesk run` runs it, on the demo's own SQLite database: the watcher's
thread takes the mail while the scheduler's thread fires timers and keeps its job store,
and the demo's staff flow (#reason, #cancel, then #approve at each step of the approval
chain) goes through whole, with nothing set aside and no mail lost.

The desk's clock is the test's: between staff mails it jumps a day ahead and the
scheduler is re-synced, so reminders fall due and fire on the scheduler's thread while
the watcher's thread handles the next command. What runs first is up to the threads:
the test waits for each answer and asserts only what must hold in every order.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import select

from daemon.cli import demo
from daemon.timers import scheduler
from daemon.app import build_desk, make_source
from daemon.clock import ManualClock
from daemon.config import load
from daemon.db import transaction
from daemon.models import Case, InboundMessage, MessageStatus, OutboxEntry, OutboxStatus, Timer, TimerStatus
from daemon.intake.watcher import Watcher
from integrations.maildir import deliver
from parsers import language
from tests.support import START

# A bound for a failing test only: a busy machine may take seconds per mail.
PATIENCE = 90.0
# Polls wait on an event that is never set rather than time.sleep: .ci/run also runs this
# test under libfaketime with a real monotonic clock, where time.sleep fails (EINVAL).
NEVER = threading.Event()
AUTH = "mx.agency.example; dkim=pass header.d=agency.example; spf=pass smtp.mailfrom=agency.example"
APPROVERS = {"retention": "amy", "director": "dana", "accounting": "acc"}


class RunningDaemon:
    """`canceldesk run` in threads: the scheduler started, the watcher in its own thread."""

    def __init__(self, desk) -> None:
        self.desk = desk
        self.watcher = Watcher(desk, make_source(desk.config), wait_seconds=0.5)
        self.scheduler = scheduler.make_scheduler(desk)
        self.thread = threading.Thread(target=self.watcher.run_forever, name="watcher", daemon=True)

    def start(self) -> None:
        # The watcher loads the language model first, importing py3langid, which makes a
        # logger. Made in its thread as pytest starts the test's call phase, that logger
        # breaks pytest's log capture (it walks logging's loggers without logging's lock:
        # "dictionary changed size during iteration"). Loaded here, the thread finds it ready.
        language.warm_up()
        scheduler.start(self.desk, self.scheduler)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.watcher.stop.set()
            self.thread.join(PATIENCE)
            scheduler.stop(self.desk)
        assert not self.thread.is_alive()

    def next_day(self) -> None:
        """A day passes on the desk's clock; timers now due fire on the scheduler's thread."""
        self.desk.clock.advance(timedelta(days=1))
        scheduler.sync(self.desk, self.scheduler)


@pytest.fixture
def daemon(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    desk = build_desk(load(demo.set_up(tmp_path)), clock=ManualClock(START))
    desk.dns = lambda name, timeout=5: None   # no test reaches real DNS
    running = RunningDaemon(desk)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        desk.engine.dispose()


def outbox(desk) -> list[EmailMessage]:
    folder = desk.config.path("outbox")
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def wait_for_mail(desk, to: str, subject: str, *, answering: str | None = None) -> EmailMessage:
    """The first mail to `to` whose subject holds `subject` (and that answers `answering`)."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        for message in outbox(desk):
            if (to in str(message["To"]) and subject in str(message["Subject"])
                    and answering in (None, message["In-Reply-To"])):
                return message
        NEVER.wait(0.1)
    raise AssertionError(f"no mail to {to} with {subject!r} (answering {answering}): "
                         f"{[(str(m['To']), str(m['Subject'])) for m in outbox(desk)]}")


def staff_reply(desk, answering: EmailMessage, body: str, who: str) -> str:
    """`who` replies to `answering` with commands, signed as our receiving server checks it."""
    message_id = make_msgid(domain="agency.example")
    raw = "\r\n".join([
        f"Authentication-Results: {AUTH}",
        f"From: {who.capitalize()} <{who}@agency.example>",
        "To: cancel@agency.example",
        f"Subject: Re: {answering['Subject']}",
        f"Date: {format_datetime(desk.clock.now())}",
        f"Message-ID: {message_id}",
        f"In-Reply-To: {answering['Message-ID']}",
        f"References: {answering['Message-ID']}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "", body.replace("\n", "\r\n"), f"{who.capitalize()}\r\n",
    ]).encode("utf-8")
    deliver(desk.config.path("inbox"), raw)
    return message_id


def text(message: EmailMessage) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


def test_the_demos_staff_flow_under_the_running_daemon_on_sqlite(daemon, caplog):
    desk = daemon.desk
    assert desk.engine.dialect.name == "sqlite"
    # The demo's request and Amy's #reason (docs/demo/05-staff-commands.eml) are in the inbox.
    notice = wait_for_mail(desk, "amy@agency.example", "[CX-2026-0001]")
    reason = wait_for_mail(desk, "amy@agency.example", "Re:", answering="<demo-05@agency.example>")
    assert "results: no new leads" in text(reason)

    daemon.next_day()
    sent = staff_reply(desk, notice, "#cancel SEO, PPC on 2027-03-31\n", "amy")
    assert "cancel" in text(wait_for_mail(desk, "amy@agency.example", "Re:", answering=sent)).lower()
    for step, who in APPROVERS.items():
        request = wait_for_mail(desk, f"{who}@agency.example", f"Approval needed ({step})")
        daemon.next_day()
        sent = staff_reply(desk, request, "#approve\n", who)
        answer = wait_for_mail(desk, f"{who}@agency.example", "Re:", answering=sent)
        assert f"approved as {step}" in text(answer)
    wait_for_mail(desk, "jane@acme.example", "Summary")
    wait_until(lambda: {job.id for job in daemon.scheduler.get_jobs()} == pending_jobs(desk),
               "every pending timer has its job, and no other job is left")

    daemon.stop()
    with transaction(desk.factory) as session:
        assert session.scalars(select(Case.state).where(Case.reference == "CX-2026-0001")).one() == "offboarding"
        assert set(session.scalars(select(InboundMessage.status))) == {MessageStatus.PROCESSED}
        assert set(session.scalars(select(OutboxEntry.status))) <= {OutboxStatus.SENT, OutboxStatus.PENDING}
        # The pause request's SLA timers at least: the scheduler's thread wrote beside the watcher's.
        assert session.scalars(select(Timer.id).where(Timer.status == TimerStatus.DONE)).first() is not None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def pending_jobs(desk) -> set[str]:
    with transaction(desk.factory) as session:
        return {scheduler.job_id(t) for t in session.scalars(select(Timer.id).where(
            Timer.status == TimerStatus.PENDING))}


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, what
        NEVER.wait(0.1)

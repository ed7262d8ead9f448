"""The walking skeleton through real servers: Dovecot in, aiosmtpd out, on both databases.

A mail APPENDed to INBOX becomes one case and one acknowledgment received by the SMTP
server; fetching twice, a crash between storing and moving, and a Dovecot restart under
a running watcher change none of that.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from daemon.app import make_source
from daemon.db import transaction
from daemon.models import Case, InboundMessage
from daemon.intake.watcher import Backoff, Watcher
from tests.support import build_test_desk, mail


class Crash(BaseException):
    """Stands for the process dying: nothing in the daemon catches a BaseException."""


@pytest.fixture
def imap_desk(database_url, tmp_path, dovecot_user, smtp_server, monkeypatch):
    monkeypatch.setenv("CANCELDESK_IMAP_PASSWORD", dovecot_user.password)
    port = dovecot_user.server.port
    built = build_test_desk(
        tmp_path, database_url,
        mailbox_url=f"imap://{dovecot_user.name}@127.0.0.1:{port}/INBOX?starttls=no",
        smtp_url=f"smtp://127.0.0.1:{smtp_server.port}?starttls=no",
    )
    yield built
    built.engine.dispose()


def _cases(desk) -> int:
    with transaction(desk.factory) as session:
        return session.scalar(select(func.count()).select_from(Case))


def _acks(smtp_server) -> list:
    return [m for m in smtp_server.messages if "jane@acme.example" in m.rcpt_tos]


def test_appended_mail_becomes_one_case_and_one_acknowledgment(imap_desk, dovecot_user, smtp_server):
    dovecot_user.append(mail(message_id="<imap-1@acme.example>"))
    report = Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    assert report.stored == 1
    assert _cases(imap_desk) == 1
    smtp_server.wait_for_readers(7)   # the acknowledgment and the team notice to six
    acks = _acks(smtp_server)
    assert len(acks) == 1
    assert acks[0].message["In-Reply-To"] == "<imap-1@acme.example>"
    assert "CX-2026-0001" in acks[0].message["Subject"]
    # handled mail was moved out of INBOX into the processed folder
    assert list((dovecot_user.maildir("Processed")).glob("cur/*")) or list(dovecot_user.maildir("Processed").glob("new/*"))
    assert not list(dovecot_user.maildir().glob("new/*")) and not list(dovecot_user.maildir().glob("cur/*"))


def test_fetched_twice_still_one_case(imap_desk, dovecot_user, smtp_server):
    raw = mail(message_id="<imap-twice@acme.example>")
    dovecot_user.append(raw)
    dovecot_user.append(raw)   # the same mail in the INBOX twice (a re-delivery)
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    assert _cases(imap_desk) == 1
    smtp_server.wait_for_readers(7)
    assert len(_acks(smtp_server)) == 1


def test_crash_between_storing_and_moving_loses_nothing_and_sends_once(imap_desk, dovecot_user, smtp_server):
    dovecot_user.append(mail(message_id="<imap-crash@acme.example>"))
    source = make_source(imap_desk.config)

    def die(uid):
        raise Crash()

    source.mark_done = die
    with pytest.raises(Crash):
        Watcher(imap_desk, source).run_once()
    with transaction(imap_desk.factory) as session:
        stored = session.scalars(select(InboundMessage)).one()
        assert stored.marked_on_server is False   # committed, but the server was never told
    # still in the INBOX on the server
    assert list(dovecot_user.maildir().glob("new/*")) or list(dovecot_user.maildir().glob("cur/*"))
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()   # the daemon comes back
    assert _cases(imap_desk) == 1
    smtp_server.wait_for_readers(7)
    assert len(_acks(smtp_server)) == 1
    assert not list(dovecot_user.maildir().glob("new/*")) and not list(dovecot_user.maildir().glob("cur/*"))


def test_watcher_survives_dovecot_restart(imap_desk, dovecot_user, smtp_server):
    watcher = Watcher(imap_desk, make_source(imap_desk.config), backoff=Backoff(base=0.05, cap=0.2),
                      wait_seconds=5)
    thread = threading.Thread(target=watcher.run_forever, daemon=True)
    thread.start()
    try:
        dovecot_user.append(mail(message_id="<before-restart@acme.example>"))
        smtp_server.wait_for_readers(7, timeout=30)
        dovecot_user.server.restart()
        dovecot_user.append(mail(sender="Peter Gibbons <peter@initech.example>", subject="Cancel",
                                 body="Please cancel our PPC.\n", message_id="<after-restart@initech.example>"))
        received = smtp_server.wait_for_readers(7 + 4, timeout=60)   # initech: ack + three team members
    finally:
        watcher.stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert _cases(imap_desk) == 2
    assert any("peter@initech.example" in m.rcpt_tos for m in received)

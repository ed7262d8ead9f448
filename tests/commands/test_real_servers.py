"""Commands through real servers: staff mail APPENDed to Dovecot, results received by aiosmtpd."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from daemon.app import make_source
from daemon.db import transaction
from daemon.models import Case
from daemon.intake.watcher import Watcher
from tests.commands.helpers import command_desk, staff_mail
from tests.support import mail


@pytest.fixture
def imap_desk(database_url, tmp_path, dovecot_user, smtp_server, monkeypatch):
    monkeypatch.setenv("CANCELDESK_IMAP_PASSWORD", dovecot_user.password)
    built = command_desk(
        tmp_path, database_url,
        mailbox_url=f"imap://{dovecot_user.name}@127.0.0.1:{dovecot_user.server.port}/INBOX?starttls=no",
        smtp_url=f"smtp://127.0.0.1:{smtp_server.port}?starttls=no",
    )
    yield built
    built.engine.dispose()


def _to(smtp_server, address: str) -> list:
    return [m.message for m in smtp_server.messages if address in m.rcpt_tos]


def _run(desk) -> None:
    Watcher(desk, make_source(desk.config)).run_once()


def test_commands_and_refusals_by_imap_and_smtp(imap_desk, dovecot_user, smtp_server):
    dovecot_user.append(mail(message_id="<imap-req@acme.example>"))
    _run(imap_desk)
    smtp_server.wait_for_readers(7)   # acknowledgment and the team notice to six
    notice = _to(smtp_server, "amy@agency.example")[0]
    dovecot_user.append(staff_mail("#reason budget: cutting costs\n#withdrawn they found the money\n#bogus\n",
                                   answering=notice, message_id="<imap-cmd@agency.example>"))
    dovecot_user.append(staff_mail("#note I am Amy, honest\n", sender='"amy@agency.example" <mallory@evil.example>',
                                   answering=notice, message_id="<imap-spoof@evil.example>"))
    _run(imap_desk)
    smtp_server.wait_for_readers(9)
    results = next(m for m in _to(smtp_server, "amy@agency.example") if m["In-Reply-To"] == "<imap-cmd@agency.example>")
    body = results.get_body(("plain",)).get_content()
    assert "reason recorded: budget" in body and "pause: Pause the services instead of cancelling" in body
    assert "CX-2026-0001 is now withdrawn" in body and "unknown command #bogus (#help lists them)" in body
    refusal = _to(smtp_server, "mallory@evil.example")
    assert len(refusal) == 1 and refusal[0]["In-Reply-To"] == "<imap-spoof@evil.example>"
    with transaction(imap_desk.factory) as session:
        case = session.scalars(select(Case)).one()
        assert case.state == "withdrawn"
        assert "I am Amy" not in " ".join(e.summary for e in case.events)

"""The straight cancellation through the real servers: Dovecot in (IMAP), aiosmtpd out (SMTP)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from daemon.app import make_source
from daemon.intake.watcher import Watcher
from tests.playbook.helpers import AUTH, calendar_of, playbook_desk, text
from tests.support import mail


@pytest.fixture
def imap_desk(database_url, tmp_path, dovecot_user, smtp_server, monkeypatch):
    monkeypatch.setenv("CANCELDESK_IMAP_PASSWORD", dovecot_user.password)
    built = playbook_desk(tmp_path, database_url,
                          mailbox_url=f"imap://{dovecot_user.name}@127.0.0.1:{dovecot_user.server.port}/INBOX"
                                      "?starttls=no",
                          smtp_url=f"smtp://127.0.0.1:{smtp_server.port}?starttls=no")
    yield built
    built.engine.dispose()


def _received(smtp_server, address: str, subject: str):
    found = [m.message for m in smtp_server.messages if address in m.rcpt_tos and subject in str(m.message["Subject"])]
    assert len(found) == 1, (address, subject, [str(m.message["Subject"]) for m in smtp_server.messages])
    return found[0]


def _command(desk, dovecot_user, answering, body: str, sender: str) -> None:
    headers = {"In-Reply-To": answering["Message-ID"], "References": answering["Message-ID"]}
    raw = mail(sender=sender, subject=f"Re: {answering['Subject']}", body=body, headers=headers)
    dovecot_user.append(f"Authentication-Results: {AUTH}\r\n".encode() + raw)
    Watcher(desk, make_source(desk.config)).run_once()


def test_straight_cancellation_through_dovecot_and_aiosmtpd(imap_desk, dovecot_user, smtp_server):
    dovecot_user.append(mail(body="Please cancel all our services with you at the end of March.\n"))
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    notice = _received(smtp_server, "tom@agency.example", "Cancellation request")
    assert "Final day to propose: 31 March 2027" in text(notice)

    imap_desk.clock.advance(timedelta(hours=2))
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    invite = _received(smtp_server, "jane@acme.example", "A call about")
    assert str(calendar_of(invite)["method"]) == "REQUEST"

    _command(imap_desk, dovecot_user, notice, "#reason results: no new leads\n#lost on 2027-03-31\n",
             "tom@agency.example")
    assert "outcome: lost" in text(_received(smtp_server, "tom@agency.example", "Re: "))
    for who, step in (("amy", "retention"), ("dana", "director"), ("acc", "accounting")):
        request = _received(smtp_server, f"{who}@agency.example", f"Approval needed ({step})")
        _command(imap_desk, dovecot_user, request, "#approve\n", f"{who}@agency.example")

    summary = text(_received(smtp_server, "jane@acme.example", "Summary"))
    assert "- SEO: final day of service 31 March 2027" in summary and "- Content: final day of service 31 March 2027" in summary
    vendor = text(_received(smtp_server, "rep@ads-vendor.example", "will cancel PPC"))
    assert "effective 31 March 2027, for this reason: results: no new leads" in vendor
    assert _received(smtp_server, "acc@agency.example", "Offboarding: Settle outstanding payments")


def test_notice_counts_from_the_imap_internaldate_not_from_processing(imap_desk, dovecot_user, smtp_server):
    friday = imap_desk.clock.now() - timedelta(days=3)   # the server got it on Friday; the daemon read it Monday
    dovecot_user.append(mail(body="Please cancel our contract.\n", date=friday), arrived=friday)
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    notice = text(_received(smtp_server, "tom@agency.example", "Cancellation request"))
    assert "Notice period: 30 days from 20 November 2026" in notice
    assert "Friday, 20 November 2026" in text(_received(smtp_server, "jane@acme.example", "We received"))


def test_ask_to_confirm_round_trip_through_dovecot_and_aiosmtpd(imap_desk, dovecot_user, smtp_server):
    dovecot_user.append(mail(subject="Question", body="Can I close my account before the end of the year?\n"))
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    asked = _received(smtp_server, "jane@acme.example", "Do you want us to cancel your agreement?")
    assert "Reply YES to make this your written request" in text(asked)
    assert _received(smtp_server, "tom@agency.example", "At risk")

    imap_desk.clock.advance(timedelta(days=2))
    reply = mail(subject=f"Re: {asked['Subject']}", body="YES\n",
                 headers={"In-Reply-To": asked["Message-ID"], "References": asked["Message-ID"]})
    dovecot_user.append(reply)
    Watcher(imap_desk, make_source(imap_desk.config)).run_once()
    notice = text(_received(smtp_server, "tom@agency.example", "Cancellation request"))
    assert "Notice period: 30 days from 23 November 2026" in notice   # from the question, not the YES
    assert _received(smtp_server, "jane@acme.example", "We received")

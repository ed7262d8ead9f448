"""One case's whole life through the real servers, on the hand-moved clock: the request
APPENDed to Dovecot, staff #commands as replies, every mail out through aiosmtpd; then
the timers alone carry it to the closure, the thank-you, and the second win-back letter."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from daemon import timers
from daemon.app import make_source
from daemon.clock import ManualClock
from daemon.intake.watcher import Watcher
from tests.playbook.helpers import AUTH, playbook_desk
from tests.support import START, mail

UTC = timezone.utc


@pytest.fixture
def life(database_url, tmp_path, dovecot_user, smtp_server, monkeypatch):
    monkeypatch.setenv("CANCELDESK_IMAP_PASSWORD", dovecot_user.password)
    desk = playbook_desk(tmp_path, database_url, clock=ManualClock(START),
                         mailbox_url=f"imap://{dovecot_user.name}@127.0.0.1:{dovecot_user.server.port}/INBOX?starttls=no",
                         smtp_url=f"smtp://127.0.0.1:{smtp_server.port}?starttls=no")
    yield Life(desk, dovecot_user, smtp_server)
    desk.engine.dispose()


class Life:
    def __init__(self, desk, imap, smtp) -> None:
        self.desk, self.imap, self.smtp = desk, imap, smtp

    def sweep(self, raw: bytes | None = None) -> None:
        """What the daemon does now: timers due, then the inbox, then the outbox."""
        if raw is not None:
            self.imap.append(raw)
        timers.run_due_timers(self.desk)
        Watcher(self.desk, make_source(self.desk.config)).run_once()

    def at(self, moment: datetime) -> None:
        self.desk.clock.set(moment)
        self.sweep()

    def received(self, address: str, subject: str) -> list:
        return [m.message for m in self.smtp.messages if address in m.rcpt_tos and subject in str(m.message["Subject"])]

    def one(self, address: str, subject: str):
        found = self.received(address, subject)
        assert len(found) == 1, (address, subject, [str(m.message["Subject"]) for m in self.smtp.messages
                                                    if address in m.rcpt_tos])
        return found[0]

    def reply(self, answering, body: str, sender: str) -> None:
        headers = {"In-Reply-To": answering["Message-ID"], "References": answering["Message-ID"]}
        raw = mail(sender=sender, subject=f"Re: {answering['Subject']}", body=body, headers=headers,
                   date=self.desk.clock.now())
        self.sweep(f"Authentication-Results: {AUTH}\r\n".encode() + raw)


def test_request_to_second_winback_letter(life):
    life.sweep(mail(body="Please cancel all our services with you at the end of March.\n"))
    notice = life.one("tom@agency.example", "Cancellation request")
    assert life.one("jane@acme.example", "We received your cancellation request")

    # Tuesday 09:00: one business day, and no call agreed: the account manager is reminded.
    life.at(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert life.one("amy@agency.example", "no call scheduled")

    life.reply(notice, "#reason price: the budget is gone\n#lost on 2027-03-31\n", "Tom <tom@agency.example>")
    for approver, role in (("amy", "retention"), ("dana", "director"), ("acc", "accounting")):
        life.reply(life.one(f"{approver}@agency.example", f"Approval needed ({role})"), "#approve\n",
                   f"{approver}@agency.example")
    assert life.one("jane@acme.example", "Summary of your cancellation request")

    # A week before the final day, each service's team is reminded at the London opening hour.
    life.at(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))
    assert life.one("pia@agency.example", "PPC for Acme Outdoor Ltd ends on 31 March 2027")

    # Final day, 10:00 BST: items are open, so their owners hear instead of the customer.
    life.at(datetime(2027, 3, 31, 9, 0, tzinfo=UTC))
    assert life.received("jane@acme.example", "have ended") == []
    overdue = [m for m in life.smtp.messages if "Offboarding item still open" in str(m.message["Subject"])]
    assert overdue
    for item in {str(m.message["Subject"]) for m in overdue}:
        first = next(m for m in overdue if str(m.message["Subject"]) == item)
        name = item.split("open: ", 1)[1].split(" for Acme", 1)[0]
        life.reply(first.message, f"#done {name}\n", first.rcpt_tos[0])

    # The next business day the checklist is complete: closed, and the customer told.
    life.at(datetime(2027, 4, 1, 9, 0, tzinfo=UTC))
    assert "access for our team to your tools" in life.one("jane@acme.example", "have ended").get_content()
    life.at(datetime(2027, 4, 2, 9, 0, tzinfo=UTC))
    assert life.one("jane@acme.example", "Thank you")
    life.at(datetime(2027, 4, 15, 9, 0, tzinfo=UTC))
    assert life.one("jane@acme.example", "Two minutes of feedback")

    life.at(datetime(2027, 6, 1, 9, 0, tzinfo=UTC))
    first = life.one("jane@acme.example", "a new offer")
    assert "20% off" in first.get_content() and str(first["List-Unsubscribe"]).strip().startswith("<mailto:cancel+")
    life.at(datetime(2027, 8, 2, 9, 0, tzinfo=UTC))
    assert life.one("jane@acme.example", "Still thinking of you")
    life.at(datetime(2028, 1, 3, 9, 0, tzinfo=UTC))
    assert len(life.received("jane@acme.example", "Still thinking of you")) == 1

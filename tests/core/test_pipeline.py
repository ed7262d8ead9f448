"""From a stored mail to a case and its mail: the walking skeleton on the embedded default."""
from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from daemon.intake import store
from daemon.intake import pipeline
from daemon.app import make_source
from daemon.db import transaction
from daemon.models import Case, CaseEvent, InboundMessage, MessageStatus, OutboxEntry, OutboxStatus
from daemon.mail.outbox import MailHandler
from daemon.intake.watcher import Watcher
from integrations.maildir import deliver
from tests.support import mail


def _deliver(desk, raw: bytes) -> None:
    deliver(desk.config.path("inbox"), raw)


def _sent(desk) -> list:
    folder = desk.config.path("outbox")
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def _count(desk, model) -> int:
    with transaction(desk.factory) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_cancellation_from_contact_opens_one_case_and_acknowledges(desk):
    _deliver(desk, mail(body="We want to cancel SEO and PPC at the end of March.\n", message_id="<req-1@acme.example>"))
    report = Watcher(desk, make_source(desk.config)).run_once()
    assert (report.stored, report.processed) == (1, 1)
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()
        assert case.reference == "CX-2026-0001"
        assert (case.kind, case.state, case.verified) == ("cancel", "open", True)
        assert case.requested_services == ["SEO", "PPC"]
        assert case.requested_final_day.isoformat() == "2027-03-31"
        kinds = [e.kind for e in case.events]
    assert kinds[:2] == ["mail_in", "state:opened"]
    sent = _sent(desk)
    acks = [m for m in sent if m["To"] == "jane@acme.example"]
    assert len(acks) == 1
    ack = acks[0]
    assert "CX-2026-0001" in ack["Subject"]
    assert ack["In-Reply-To"] == "<req-1@acme.example>"
    assert ack["References"] == "<req-1@acme.example>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Reply-To"].startswith("cancel+") and ack["Message-ID"].endswith("@agency.example>")
    text = " ".join(ack.get_body(("plain",)).get_content().split())
    assert "Monday, 23 November 2026, 09:00 GMT (UTC+00:00)" in text
    assert "not a condition" in text
    team = [a.addr_spec for m in sent if m["To"] != "jane@acme.example" for a in m["To"].addresses]
    assert sorted(team) == sorted(["tom@agency.example", "amy@agency.example", "sam@agency.example",
                                   "pia@agency.example", "sol@agency.example", "cora@agency.example"])
    assert all(m["Auto-Submitted"] == "auto-generated" for m in sent if m["To"] != "jane@acme.example")


def test_same_mail_twice_is_one_case_and_one_acknowledgment(desk):
    raw = mail(message_id="<twice@acme.example>")
    _deliver(desk, raw)
    _deliver(desk, raw)  # the same mail delivered again, as a server or a user might
    Watcher(desk, make_source(desk.config)).run_once()
    assert _count(desk, Case) == 1
    assert _count(desk, InboundMessage) == 1
    assert len([m for m in _sent(desk) if m["To"] == "jane@acme.example"]) == 1


def test_reply_to_acknowledgment_joins_the_case(desk):
    _deliver(desk, mail(message_id="<first@acme.example>"))
    Watcher(desk, make_source(desk.config)).run_once()
    ack = next(m for m in _sent(desk) if m["To"] == "jane@acme.example")
    _deliver(desk, mail(subject=f"Re: {ack['Subject']}", body="Thanks, also cancel Social please.\n",
                        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]}))
    Watcher(desk, make_source(desk.config)).run_once()
    assert _count(desk, Case) == 1
    with transaction(desk.factory) as session:
        replies = session.scalars(select(CaseEvent).where(CaseEvent.kind == "mail_in")).all()
    assert len(replies) == 2


def test_out_of_office_from_a_contact_gets_no_reply(desk):
    _deliver(desk, mail(subject="Automatic reply: cancel", body="I am away and cannot cancel anything.\n",
                        headers={"Auto-Submitted": "auto-replied"}))
    Watcher(desk, make_source(desk.config)).run_once()
    assert _count(desk, Case) == 0
    assert _sent(desk) == []
    with transaction(desk.factory) as session:
        stored = session.scalars(select(InboundMessage)).one()
    assert (stored.status, stored.label) == (MessageStatus.PROCESSED, "robot:auto-reply")


def test_failing_mail_is_retried_then_set_aside_and_can_be_reprocessed(desk, monkeypatch):
    _deliver(desk, mail(message_id="<poison@acme.example>"))
    calls = []

    def explode(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(pipeline, "parse_message", explode)
    watcher = Watcher(desk, make_source(desk.config))
    watcher.connect()
    for _ in range(5):
        watcher.sweep()
    watcher.source.close()
    assert len(calls) == desk.config.intake.max_attempts   # tried three times, then left alone
    with transaction(desk.factory) as session:
        stored = session.scalars(select(InboundMessage)).one()
        assert stored.status is MessageStatus.SET_ASIDE
        assert "RuntimeError: parser exploded" in stored.error
        message_id = stored.id
    monkeypatch.undo()
    outcome = pipeline.reprocess(desk, message_id)
    assert outcome.status is MessageStatus.PROCESSED
    assert outcome.case_reference == "CX-2026-0001"


def test_replay_dry_run_changes_nothing(desk):
    preview = pipeline.dry_run(desk, mail(body="Please cancel everything.\n"))
    assert preview.action == "open_case"
    assert preview.case == "CX-2026-0001 (open)"
    assert _count(desk, Case) == 0
    assert _count(desk, OutboxEntry) == 0
    assert _count(desk, InboundMessage) == 0


def test_unknown_sender_gets_verification_request_not_acknowledgment(desk):
    _deliver(desk, mail(sender="someone@freemail.example", body="Please cancel my account.\n"))
    Watcher(desk, make_source(desk.config)).run_once()
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()
    assert (case.state, case.verified, case.account_id) == ("awaiting_identity", False, None)
    sent = _sent(desk)
    assert [str(m["To"]) for m in sent] == ["someone@freemail.example"]
    assert "confirm" in sent[0]["Subject"].lower()


def test_per_recipient_cap_stops_a_loop(desk):
    # A customer whose mail system keeps sending new "requests": after the cap, silence.
    cap = desk.config.desk.max_automatic_mails_per_recipient_per_day
    for n in range(cap + 3):
        _deliver(desk, mail(sender="loop@freemail.example", body=f"Cancel my account please ({n}).\n",
                            subject=f"Cancel {n}"))
    Watcher(desk, make_source(desk.config)).run_once()
    with transaction(desk.factory) as session:
        to_loop = session.scalar(select(func.count()).select_from(OutboxEntry).where(
            OutboxEntry.recipient == "loop@freemail.example"))
    assert 0 < to_loop <= cap


def test_outbox_retries_a_failed_delivery_later(desk):
    class Flaky:
        def __init__(self):
            self.calls = 0

        def send(self, msg, **kwargs):
            self.calls += 1
            raise ConnectionRefusedError("relay down")

    flaky = Flaky()
    desk.dispatcher.register("mail", MailHandler(flaky))
    _deliver(desk, mail())
    Watcher(desk, make_source(desk.config)).run_once()
    with transaction(desk.factory) as session:
        statuses = set(session.scalars(select(OutboxEntry.status)))
        assert _count(desk, Case) == 1   # the case stands although no mail went out
    assert statuses == {OutboxStatus.PENDING}
    calls_before = flaky.calls
    assert desk.dispatcher.deliver_due().sent == 0
    assert flaky.calls == calls_before   # not due yet: no hammering
    desk.clock.advance(__import__("datetime").timedelta(minutes=5))
    desk.dispatcher.register("mail", MailHandler(desk.sender))
    assert desk.dispatcher.deliver_due().sent == calls_before > 1   # the answer and the team's, that failed


def test_store_is_unique_on_uid_and_message_id(desk):
    with transaction(desk.factory) as session:
        first = store.store(session, mailbox="m", uidvalidity=7, uid=1, raw=mail(message_id="<a@x>"), now=desk.clock.now())
        again = store.store(session, mailbox="m", uidvalidity=7, uid=1, raw=mail(message_id="<a@x>"), now=desk.clock.now())
        moved = store.store(session, mailbox="m", uidvalidity=8, uid=1, raw=mail(message_id="<a@x>"), now=desk.clock.now())
        no_id = mail(message_id="<b@x>").replace(b"Message-ID: <b@x>\r\n", b"")
        hashed = store.store(session, mailbox="m", uidvalidity=8, uid=2, raw=no_id, now=desk.clock.now())
        hashed_again = store.store(session, mailbox="m", uidvalidity=9, uid=5, raw=no_id, now=desk.clock.now())
        assert store.checkpoint(session, "m", 8) == 2
    assert first.is_new and not again.is_new and not moved.is_new
    assert again.message_id == moved.message_id == first.message_id
    assert hashed.is_new and not hashed_again.is_new



def test_changed_uidvalidity_rescans_without_duplicates(desk):
    from dataclasses import replace

    from integrations.maildir import UIDLIST

    # Flag mode: handled mail stays in the folder, so a new UIDVALIDITY sees it all again.
    flagging = replace(desk.config, mailbox=replace(desk.config.mailbox, processed_folder=""))
    _deliver(desk, mail(message_id="<uv-1@acme.example>"))
    first = Watcher(desk, make_source(flagging))
    first.run_once()
    (desk.config.path("inbox") / UIDLIST).unlink()   # the store lost its UID list: new UIDVALIDITY
    again = Watcher(desk, make_source(flagging))
    report = again.run_once()
    assert again.uidvalidity != first.uidvalidity
    assert (report.stored, report.duplicates) == (0, 1)
    assert _count(desk, Case) == 1
    assert len([m for m in _sent(desk) if m["To"] == "jane@acme.example"]) == 1


def test_a_resend_cut_off_before_its_move_is_moved_after_the_restart(desk, monkeypatch):
    """The same Message-ID again under a new UID: known already, so no row of its own remembers the move."""
    raw = mail(message_id="<resend@acme.example>")
    _deliver(desk, raw)
    Watcher(desk, make_source(desk.config)).run_once()
    _deliver(desk, raw)  # the customer's client sends it again

    class Killed(BaseException):
        pass

    def killed(uid):
        raise Killed  # the process dies after the commit, before the server is told
    crashed = Watcher(desk, make_source(desk.config))
    crashed.connect()
    monkeypatch.setattr(crashed, "_mark", killed)
    with pytest.raises(Killed):
        crashed._intake()
    crashed.source.close()

    Watcher(desk, make_source(desk.config)).run_once()  # the restart
    left = make_source(desk.config)
    left.connect()
    assert left.new_uids(0) == []
    left.close()
    assert _count(desk, InboundMessage) == 1 and _count(desk, Case) == 1


def _answer_order(desk, monkeypatch, count: int) -> list[str]:
    """What happened in one sweep over `count` requests from strangers (each asked to verify)."""
    happened = []
    real = pipeline.process_one

    def process_one(desk_, message_id, answer=None):
        outcome = real(desk_, message_id, answer)
        happened.append("processed")
        return outcome

    monkeypatch.setattr(pipeline, "process_one", process_one)
    desk.dispatcher.register("mail", lambda entry: happened.append(f"sent {entry.recipient}"))
    for n in range(count):
        _deliver(desk, mail(sender=f"Kim Lee <kim{n}@freemail.example>", body="Please cancel our account.\n",
                            message_id=f"<q-{n}@freemail.example>"))
    Watcher(desk, make_source(desk.config)).run_once()
    return happened


def test_with_a_few_mails_in_hand_each_answer_goes_out_before_the_next_mail_is_processed(desk, monkeypatch):
    # Each answer is sent inside process_one, as soon as its transaction has committed.
    assert _answer_order(desk, monkeypatch, 2) == ["sent kim0@freemail.example", "processed",
                                                   "sent kim1@freemail.example", "processed"]


def test_a_backlog_is_processed_first_and_answered_in_one_pass(desk, monkeypatch):
    happened = _answer_order(desk, monkeypatch, 7)
    assert happened[:7] == ["processed"] * 7
    assert sorted(happened[7:]) == sorted(f"sent kim{n}@freemail.example" for n in range(7))

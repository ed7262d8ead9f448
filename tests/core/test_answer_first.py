"""A customer's request is answered first; the rest of its opening follows, and resumes after a crash.

With a few mails in hand the watcher commits and sends the acknowledgment before the team
notice, the call invitations, the sheet rows and the timers are made (daemon.intake.pipeline).
What the desk decides is the same as when it does everything in one transaction, and a
stop between the two transactions loses nothing and answers nobody twice.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from daemon.app import make_source
from daemon.db import transaction
from daemon.intake import pipeline
from daemon.intake.watcher import Watcher
from daemon.models import CallInvite, CaseEvent, InboundMessage, MessageStatus, OutboxEntry, Timer
from integrations.maildir import deliver
from tests.support import build_test_desk, mail

REQUEST = "We want to cancel SEO and PPC at the end of March.\n\nJane\n"
CUSTOMER = "jane@acme.example"
TEAM = {"tom@agency.example", "amy@agency.example", "sam@agency.example", "pia@agency.example",
        "sol@agency.example", "cora@agency.example"}


class Killed(BaseException):
    """The process dies here (not an Exception: nothing in the desk may catch it)."""


def _request(desk, n: int = 1) -> None:
    deliver(desk.config.path("inbox"), mail(body=REQUEST, message_id=f"<req-{n}@acme.example>"))


def _decided(desk) -> dict:
    """Everything the desk decided, in a form two desks on the same clock can compare."""
    with transaction(desk.factory) as session:
        return {
            "outbox": sorted((e.recipient, e.dedupe_key, e.not_before) for e in session.scalars(select(OutboxEntry))),
            "timers": sorted((t.kind, t.seq, t.due_at) for t in session.scalars(select(Timer))),
            "timeline": sorted(e.kind for e in session.scalars(select(CaseEvent))),
            "invites": sorted((i.start, i.minutes) for i in session.scalars(select(CallInvite))),
            "mail": [(m.status, m.follow_ups) for m in session.scalars(select(InboundMessage))],
        }


def _recipients(desk) -> list[str]:
    with transaction(desk.factory) as session:
        # A team mail's entry names all its readers, comma-separated.
        return [reader.strip() for e in session.scalars(select(OutboxEntry).order_by(OutboxEntry.id))
                for reader in e.recipient.split(",")]


def test_the_acknowledgment_is_sent_before_the_rest_is_even_queued(desk):
    seen_at_the_answer = []
    desk.dispatcher.register("mail", lambda entry: seen_at_the_answer.append((entry.recipient, _recipients(desk))))
    _request(desk)
    Watcher(desk, make_source(desk.config)).run_once()
    first_sent, queued_then = seen_at_the_answer[0]
    assert first_sent == CUSTOMER
    assert queued_then == [CUSTOMER]  # no team notice, no invitation yet
    assert TEAM <= set(_recipients(desk))  # and then the rest, in the same sweep
    assert _decided(desk)["mail"] == [(MessageStatus.PROCESSED, None)]


def test_answering_first_decides_exactly_what_one_transaction_does(desk, tmp_path):
    _request(desk)
    Watcher(desk, make_source(desk.config)).run_once()
    (tmp_path / "in_full").mkdir()
    in_full = build_test_desk(tmp_path / "in_full", f"sqlite:///{tmp_path / 'in_full' / 'canceldesk.db'}")
    try:
        _request(in_full)
        watcher = Watcher(in_full, make_source(in_full.config))
        watcher.connect()
        watcher._intake()
        watcher.source.close()
        (message_id,) = pipeline._waiting(in_full, 10)
        assert pipeline.process_now(in_full, message_id).status is MessageStatus.PROCESSED
        in_full.dispatcher.deliver_due()
        assert _decided(desk) == _decided(in_full)
    finally:
        in_full.engine.dispose()


def test_a_crash_after_the_answer_resumes_with_the_rest_and_answers_nobody_twice(desk, monkeypatch):
    _request(desk)
    crashed = Watcher(desk, make_source(desk.config))

    def answer_then_die():
        desk.dispatcher.deliver_due(answers_only=True)
        raise Killed

    monkeypatch.setattr(crashed, "_deliver_answers", answer_then_die)
    crashed.connect()
    with pytest.raises(Killed):
        crashed._intake()
        pipeline.process_one(desk, pipeline._waiting(desk, 10)[0], answer=crashed._deliver_answers)
    crashed.source.close()
    between = _decided(desk)
    ((status, follow_ups),) = between["mail"]
    assert status is MessageStatus.ANSWERED and len(follow_ups) == 1
    assert [r for r, *_ in between["outbox"]] == [CUSTOMER] and between["timers"] == []

    Watcher(desk, make_source(desk.config)).run_once()  # the restart
    after = _decided(desk)
    assert after["mail"] == [(MessageStatus.PROCESSED, None)]
    recipients = _recipients(desk)
    assert recipients.count(CUSTOMER) == 1 + len(after["invites"])  # one acknowledgment, then its invitation
    assert TEAM <= set(recipients) and all(recipients.count(a) <= 2 for a in TEAM)
    assert after["timers"]


def test_a_follow_up_that_fails_is_retried_without_a_second_answer(desk, monkeypatch):
    from daemon.cases import effects

    real = effects.notify_team
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("sheet server away")
        return real(*args, **kwargs)

    monkeypatch.setattr(effects, "notify_team", fails_once)
    _request(desk)
    Watcher(desk, make_source(desk.config)).run_once()
    ((status, follow_ups),) = _decided(desk)["mail"]
    assert status is MessageStatus.FAILED and follow_ups  # answered; the rest waits for its retry
    assert _recipients(desk) == [CUSTOMER]

    Watcher(desk, make_source(desk.config)).run_once()
    assert _decided(desk)["mail"] == [(MessageStatus.PROCESSED, None)]
    assert _recipients(desk).count(CUSTOMER) == 1 + len(_decided(desk)["invites"])
    assert TEAM <= set(_recipients(desk))


def test_a_backlog_is_done_one_transaction_per_mail(desk, monkeypatch):
    statuses = []
    real = pipeline._process

    def watched(desk_, session, inbound, answer):
        outcome = real(desk_, session, inbound, answer)
        statuses.append(outcome.status)
        return outcome

    monkeypatch.setattr(pipeline, "_process", watched)
    for n in range(pipeline.ANSWER_AT_ONCE_UP_TO + 1):
        deliver(desk.config.path("inbox"), mail(sender=f"Kim Lee <kim{n}@freemail.example>",
                                                body="Please cancel our account.\n", message_id=f"<k-{n}@x.example>"))
    _request(desk)
    Watcher(desk, make_source(desk.config)).run_once()
    assert statuses and set(statuses) == {MessageStatus.PROCESSED}


def test_the_server_is_told_after_the_customer_is_answered(desk):
    happened = []
    desk.dispatcher.register("mail", lambda entry: happened.append(f"sent {entry.recipient}"))
    source = make_source(desk.config)
    real_mark = source.mark_done
    source.mark_done = lambda uid: (happened.append("marked"), real_mark(uid))
    _request(desk)
    Watcher(desk, source).run_once()
    assert happened[0] == f"sent {CUSTOMER}"
    assert happened.count("marked") == 1
    with transaction(desk.factory) as session:
        assert session.scalars(select(InboundMessage.marked_on_server)).one() is True

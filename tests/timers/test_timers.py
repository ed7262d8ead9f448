"""Each timer fires once, at its time in the right zone, and only while it still applies.

Runs on both databases with a hand-moved clock: `fire()` is what the daemon does at that
moment (run the due timers, deliver the outbox), and the mail is read from the .eml outbox.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from daemon.cases.workflow import Trigger
from tests.commands.helpers import run, text
from tests.support import mail
from tests.timers.helpers import (approve_and_offboard, cancel_services, done_kinds, fire, mails, pause_until,
                                  pending, request, state, step, tick_all_items, timer_desk)

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
# Thursday 22 October 2026, 11:00 in London (BST): the clocks go back on Sunday the 25th.
BEFORE_UK_CHANGE = datetime(2026, 10, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def desk(tmp_path, database_url):
    built = timer_desk(tmp_path, database_url, BEFORE_UK_CHANGE)
    yield built
    built.engine.dispose()


def test_sla_reminder_then_escalation_each_once_at_the_same_london_hour_across_the_change(desk):
    ref = request(desk)
    due = pending(desk, ref)
    # One business day: Friday 11:00 BST; two: Monday 11:00, now GMT, so an hour later in UTC.
    assert due[("sla_call_scheduled", 0)] == datetime(2026, 10, 23, 10, 0, tzinfo=UTC)
    assert due[("sla_call_held", 0)] == datetime(2026, 10, 26, 11, 0, tzinfo=UTC)
    desk.clock.set(datetime(2026, 10, 23, 10, 0, tzinfo=UTC) - MINUTE)
    assert fire(desk) == []
    desk.clock.advance(MINUTE)
    assert [f.kind for f in fire(desk)] == ["sla_call_scheduled"]
    reminders = mails(desk, to="amy@agency.example", subject="no call scheduled")
    assert len(reminders) == 1 and ref in reminders[0]["Subject"]
    assert fire(desk) == []
    desk.clock.set(datetime(2026, 10, 26, 11, 0, tzinfo=UTC) - MINUTE)
    assert fire(desk) == []
    desk.clock.advance(MINUTE)
    assert [f.kind for f in fire(desk)] == ["sla_call_held"]
    escalations = mails(desk, to="tom@agency.example", subject="no call held")
    assert len(escalations) == 1 and "amy@agency.example" in str(escalations[0]["Cc"])
    desk.clock.advance(timedelta(days=30))
    assert fire(desk) == [] and len(mails(desk, to="amy@agency.example", subject="no call scheduled")) == 1


def test_a_scheduled_call_silences_the_reminder_and_a_held_call_the_escalation(desk):
    ref = request(desk)
    step(desk, ref, Trigger.CALL_SCHEDULED)
    desk.clock.set(datetime(2026, 10, 23, 10, 0, tzinfo=UTC))
    outcome = fire(desk)
    assert "nothing to do" in outcome[0].outcome
    assert mails(desk, to="amy@agency.example", subject="no call scheduled") == []
    step(desk, ref, Trigger.SAVE_ATTEMPTED)
    assert ("sla_call_held", 0) not in pending(desk, ref)
    desk.clock.set(datetime(2026, 10, 26, 11, 0, tzinfo=UTC))
    assert fire(desk) == []
    assert mails(desk, to="tom@agency.example", subject="no call held") == []


def test_a_saved_case_cancels_its_timers_and_never_sends_closure_or_winback(desk):
    ref = request(desk)
    cancel_services(desk, ref, {"SEO": date(2026, 12, 31)})
    assert pending(desk, ref)
    step(desk, ref, Trigger.SAVED)
    assert pending(desk, ref) == {}
    desk.clock.advance(timedelta(days=400))
    assert fire(desk) == []
    customer = [m["Subject"] for m in mails(desk, to="jane@acme.example")]
    assert not [s for s in customer if "ended" in s or "offer" in s or "Thank you" in s], customer


def test_closure_waits_for_the_checklist_then_thanks_asks_and_writes_twice(desk):
    ref = request(desk, body="Please cancel our SEO service; the budget is gone.\n")
    cancel_services(desk, ref, {"SEO": date(2026, 11, 20)})
    approve_and_offboard(desk, ref)
    due = pending(desk, ref)
    # 7 days before Friday 20 November: Friday 13th, at the London opening hour.
    assert due[("effective_date_reminder", 0)] == datetime(2026, 11, 13, 9, 0, tzinfo=UTC)
    assert due[("closure", 0)] == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    desk.clock.set(datetime(2026, 11, 13, 9, 0, tzinfo=UTC))
    assert [f.kind for f in fire(desk)] == ["effective_date_reminder"]
    assert len(mails(desk, to="sam@agency.example", subject="SEO for Acme Outdoor Ltd ends on 20 November 2026")) == 1
    desk.clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    postponed = fire(desk)
    if postponed[0].outcome.startswith("closure postponed"):
        assert state(desk, ref) == "offboarding"
        assert mails(desk, to="jane@acme.example", subject="SEO ended") == []
        assert tick_all_items(desk, ref) > 0
        desk.clock.set(pending(desk, ref)[("closure", 1)])
        fire(desk)
    assert state(desk, ref) == "closed"
    # Acme keeps PPC, Social and Content: what ended is SEO, not the relationship.
    [closure] = mails(desk, to="jane@acme.example", subject="Confirmed: SEO ended")
    words = " ".join(text(closure).split())
    assert "SEO ended on 20 November 2026" in words
    assert "nothing changes for PPC, Social and Content" in words and "your tools and accounts" not in words
    desk.clock.advance(timedelta(days=200))
    fired = [f.kind for f in fire(desk)]
    assert sorted(fired) == ["feedback_request", "thank_you", "winback", "winback"]
    [thanks] = mails(desk, to="jane@acme.example", subject="Thank you")
    assert "go on working with you on PPC, Social and Content" in " ".join(text(thanks).split())
    letters = mails(desk, to="jane@acme.example", subject="offer") + mails(desk, to="jane@acme.example",
                                                                          subject="Still thinking")
    assert len(letters) == 2
    for letter in letters:
        words = " ".join(text(letter).split())
        assert "SEO" in words and "coming back" not in words and "former account team" not in words
    assert fire(desk) == [] and done_kinds(desk, ref).count("winback") == 2


def test_a_customer_who_ends_every_service_is_told_so_and_asked_back(desk):
    ref = request(desk, body="Please cancel all our services: SEO, PPC, Social and Content.\n")
    cancel_services(desk, ref, {s: date(2026, 11, 20) for s in ("SEO", "PPC", "Social", "Content")})
    approve_and_offboard(desk, ref)
    desk.clock.set(pending(desk, ref)[("closure", 0)])
    tick_all_items(desk, ref)
    fire(desk)
    if state(desk, ref) != "closed":  # the checklist was still open at the first try
        desk.clock.set(pending(desk, ref)[("closure", 1)])
        fire(desk)
    [closure] = mails(desk, to="jane@acme.example", subject="Your services with Agency have ended")
    words = " ".join(text(closure).split())
    assert "access for our team to your tools and accounts has been removed" in words
    assert "nothing changes for" not in words
    desk.clock.advance(timedelta(days=200))
    fire(desk)
    [first] = mails(desk, to="jane@acme.example", subject="offer")
    assert "ended its services with us" in " ".join(text(first).split())


def test_new_york_customer_mail_at_ten_local_on_both_sides_of_the_us_change(tmp_path, database_url):
    desk = timer_desk(tmp_path, database_url, datetime(2026, 10, 1, 14, 0, tzinfo=UTC))
    try:
        ref = request(desk, "GLOBEX", "Please cancel our SEO service.\n")
        cancel_services(desk, ref, {"SEO": date(2026, 10, 30)})
        approve_and_offboard(desk, ref)
        # Friday 30 October 10:00 EDT (UTC-4).
        assert pending(desk, ref)[("closure", 0)] == datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
        desk.clock.set(datetime(2026, 10, 30, 14, 0, tzinfo=UTC))
        tick_all_items(desk, ref)
        fire(desk)
        assert state(desk, ref) == "closed"
        # The thank-you falls on Saturday 31st: it waits for Monday 2 November, 10:00 EST (UTC-5).
        assert pending(desk, ref)[("thank_you", 0)] == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
        desk.clock.set(datetime(2026, 11, 2, 15, 0, tzinfo=UTC) - MINUTE)
        assert "thank_you" not in [f.kind for f in fire(desk)]
        desk.clock.advance(MINUTE)
        assert [f.kind for f in fire(desk)] == ["thank_you"]
        assert len(mails(desk, to="hank@globex.example", subject="Thank you")) == 1
    finally:
        desk.engine.dispose()


def test_stop_ends_the_winback_letters(desk):
    ref = request(desk, body="Please cancel our SEO service.\n")
    cancel_services(desk, ref, {"SEO": date(2026, 11, 20)})
    approve_and_offboard(desk, ref)
    tick_all_items(desk, ref)
    desk.clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    fire(desk)
    desk.clock.set(pending(desk, ref)[("winback", 0)])
    fire(desk)
    first = mails(desk, to="jane@acme.example", subject="offer")
    assert len(first) == 1
    unsubscribe = str(first[0]["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith("<mailto:cancel+") and "subject=stop" in unsubscribe
    run(desk, mail(subject=f"Re: {first[0]['Subject']}", body="STOP\n", date=desk.clock.now(),
                   headers={"In-Reply-To": first[0]["Message-ID"], "References": first[0]["Message-ID"]}))
    assert ("winback", 1) not in pending(desk, ref)
    desk.clock.advance(timedelta(days=200))
    fire(desk)
    assert mails(desk, to="jane@acme.example", subject="Still thinking") == []


def test_a_pause_reminds_before_the_resume_day_and_records_the_resume(desk):
    ref = request(desk, body="We would like to pause our SEO service until the new year.\n")
    pause_until(desk, ref, date(2027, 1, 11))
    step(desk, ref, Trigger.APPROVED, actor="dana@agency.example")
    step(desk, ref, Trigger.PAUSE_STARTED)
    assert state(desk, ref) == "paused"
    due = pending(desk, ref)
    assert due[("pause_resume_reminder", 0)] == datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
    desk.clock.set(datetime(2027, 1, 4, 10, 0, tzinfo=UTC))
    fire(desk)
    reminder = mails(desk, to="jane@acme.example", subject="resume on 11 January 2027")
    assert len(reminder) == 1 and "amy@agency.example" in str(reminder[0]["Cc"])
    desk.clock.set(datetime(2027, 1, 11, 10, 0, tzinfo=UTC))
    fire(desk)
    assert state(desk, ref) == "closed"
    assert pending(desk, ref) == {}, "a resumed pause is no closure: no thank-you, no win-back"


def test_approval_waiting_is_reminded_then_escalated(desk):
    ref = request(desk)
    cancel_services(desk, ref, {"SEO": date(2026, 12, 31)})
    assert state(desk, ref) == "pending_approval"
    due = pending(desk, ref)
    reminder = next(at for (kind, _), at in due.items() if kind == "approval_reminder")
    escalation = next(at for (kind, _), at in due.items() if kind == "approval_escalation")
    # Asked Thursday 11:00 BST: 24 hours later is Friday 11:00; 48 hours is Saturday, so Monday's opening.
    assert reminder == datetime(2026, 10, 23, 10, 0, tzinfo=UTC)
    assert escalation == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    desk.clock.set(escalation)
    kinds = [f.kind for f in fire(desk)]
    assert "approval_reminder" in kinds and "approval_escalation" in kinds
    assert mails(desk, to="dana@agency.example", subject="Escalation: approval stalled")
    assert fire(desk) == []

"""Timers: the database rows behind every deadline, and the runner that fires them.

A timer is a row (case, kind, seq, due_at, status). Scheduling one is idempotent, firing
one re-reads its case and does nothing when it no longer applies, and a timer is marked
done in the same transaction as the mail it causes (which goes through the outbox with a
dedupe key): so each one happens exactly once, however often the daemon restarts.

`run_due_timers(desk)` fires everything due by the desk's clock; APScheduler
(daemon.timers.scheduler) only decides *when* to call it for one timer. What each kind does is in
daemon.timers.jobs; when each kind is scheduled is in daemon.timers.plan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.db import find_row, note_made, transaction
from daemon.intake import claims
from daemon.mail.style import Style
from daemon.models import Case, Timer, TimerStatus

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)

# Keys in Session.info: timers added or ended in a transaction, told to the scheduler after commit.
SCHEDULED_KEY = "canceldesk_timers_scheduled"
ENDED_KEY = "canceldesk_timers_ended"

# What a timer of one kind does when it fires: (desk, session, case, timer) -> outcome in words.
Job = Callable[..., str]

LABELS = {
    "sla_call_scheduled": "SLA: call scheduled?",
    "sla_call_held": "SLA: call held?",
    "approval_reminder": "approval reminder",
    "approval_escalation": "approval escalation",
    "effective_date_reminder": "effective-date reminder",
    "closure": "closure confirmation",
    "thank_you": "thank-you note",
    "feedback_request": "feedback request",
    "winback": "win-back letter",
    "pause_resume_reminder": "pause: resume reminder",
    "pause_resume": "pause: resume",
}


@dataclass(frozen=True)
class Fired:
    timer_id: int
    case_reference: str
    kind: str
    outcome: str


def schedule(
    desk: Desk, session: Session, case: Case, kind: str, due_at: datetime, *, seq: int = 0, **data
) -> Timer | None:
    """Add a pending timer unless (case, kind, seq) exists; None when it did.

    The timer is written with the transaction's next flush, not one flush per timer: the
    check (`_exists`) never needs the table to have them.
    """
    if _exists(session, case, kind, seq):
        return None
    timer = Timer(
        case_id=case.id,
        kind=kind,
        seq=seq,
        due_at=due_at,
        status=TimerStatus.PENDING,
        data=data,
        created_at=desk.clock.now(),
        outcome="",
    )
    session.add(timer)
    note_made(session, timer)
    _note(session, SCHEDULED_KEY, (timer, due_at))
    log.info("%s: %s #%s due %s", case.reference, kind, seq, due_at.isoformat())
    return timer


# Built once: a statement built per call costs about as much as running it.
_BY_KEY = select(Timer.id).where(
    Timer.case_id == bindparam("case_id"), Timer.kind == bindparam("kind"), Timer.seq == bindparam("seq")
)


def _exists(session: Session, case: Case, kind: str, seq: int) -> bool:
    """Whether the case has timer (kind, seq): among the timers this transaction holds
    (`db.find_row`: all a case opened in it has), else in the table."""
    return find_row(session, case, Timer, {"case_id": case.id, "kind": kind, "seq": seq}, _BY_KEY) is not None


def cancel_pending(desk: Desk, session: Session, case: Case, why: str, kinds: tuple[str, ...] | None = None) -> int:
    """End the case's pending timers (all, or of `kinds`); say so on its timeline."""
    ended = [t for t in pending_of(session, case) if kinds is None or t.kind in kinds]
    for timer in ended:
        _finish(desk, session, timer, TimerStatus.CANCELLED, why)
    if ended:
        names = ", ".join(sorted({LABELS.get(t.kind, t.kind) for t in ended}))
        cases.record(session, case, "timers_cancelled", at=desk.clock.now(), summary=f"{names}: {why}")
    return len(ended)


def pending_of(session: Session, case: Case) -> list[Timer]:
    return list(
        session.scalars(
            select(Timer)
            .where(Timer.case_id == case.id, Timer.status == TimerStatus.PENDING)
            .order_by(Timer.due_at, Timer.id)
        )
    )


def pending_due(session: Session) -> dict[int, datetime]:
    """Each pending timer's due moment by id: only two columns, read for thousands at start-up."""
    return dict(session.execute(select(Timer.id, Timer.due_at).where(Timer.status == TimerStatus.PENDING)).all())


def describe(timer: Timer, style: Style) -> str:
    """'win-back letter #1 due Monday, 25 January 2027, 10:00 GMT (UTC+00:00)'."""
    label = LABELS.get(timer.kind, timer.kind)
    number = f" #{timer.seq + 1}" if timer.kind == "winback" else ""
    return f"{label}{number} due {style.moment(timer.due_at)}"


def pending_timers(desk: Desk, session: Session, case: Case) -> list[str]:
    """The case's pending timers in words, as staff read times (for #status)."""
    style = desk.renderer.staff_sentences
    return [describe(timer, style) for timer in pending_of(session, case)]


def listing(session: Session, zone: str) -> list[str]:
    """Every pending timer, soonest first: when, which case, what (`canceldesk jobs list`)."""
    rows = session.execute(
        select(Timer, Case.reference)
        .join(Case, Case.id == Timer.case_id)
        .where(Timer.status == TimerStatus.PENDING)
        .order_by(Timer.due_at, Timer.id)
    )
    style = Style(zone=zone)
    return [f"{reference}  {describe(timer, style)}  (timer {timer.id})" for timer, reference in rows]


def run_due_timers(desk: Desk) -> list[Fired]:
    """Fire every pending timer due by the desk's clock, each in its own transaction."""
    with transaction(desk.factory) as session:
        due = list(
            session.scalars(
                select(Timer.id)
                .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= desk.clock.now())
                .order_by(Timer.due_at, Timer.id)
            )
        )
    fired = [run_timer(desk, timer_id) for timer_id in due]
    return [f for f in fired if f is not None]


def run_timer(desk: Desk, timer_id: int) -> Fired | None:
    """Fire one timer if it is still pending and due; None when there was nothing to do."""
    with desk.case_work, transaction(desk.factory) as session:
        claims.lock_case_work(session)
        timer = session.get(Timer, timer_id, with_for_update=True)
        if timer is None or timer.status is not TimerStatus.PENDING or timer.due_at > desk.clock.now():
            return None
        # Locked like the timer: a staff command on the same case waits for this transaction.
        case = session.get(Case, timer.case_id, with_for_update=True)
        outcome = desk.timer_jobs[timer.kind](desk, session, case, timer)
        _finish(desk, session, timer, TimerStatus.DONE, outcome)
        cases.record(
            session,
            case,
            "timer",
            at=desk.clock.now(),
            actor="timer",
            summary=f"{LABELS.get(timer.kind, timer.kind)}: {outcome}",
            timer_id=timer.id,
        )
        log.info("%s: %s #%s fired: %s", case.reference, timer.kind, timer.seq, outcome)
        return Fired(timer.id, case.reference, timer.kind, outcome)


def next_seq(session: Session, case: Case, kind: str) -> int:
    seqs = session.scalars(select(Timer.seq).where(Timer.case_id == case.id, Timer.kind == kind))
    return max(seqs, default=-1) + 1


def _finish(desk: Desk, session: Session, timer: Timer, status: TimerStatus, outcome: str) -> None:
    timer.status = status
    timer.done_at = desk.clock.now()
    timer.outcome = outcome[:2000]
    _note(session, ENDED_KEY, timer.id)


def _note(session: Session, key: str, change) -> None:
    # With the transaction or savepoint that made it: if that one rolls back, so does the change.
    here = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(key, []).append((here, change))


def committed(session: Session, key: str) -> list:
    """The changes under `key` of the transaction that has just committed (and forget them)."""
    return [change for _, change in session.info.pop(key, [])]


def timer_id(timer: Timer) -> int:
    """A committed timer's id, without loading the row again (commit expired its attributes)."""
    identity = inspect(timer).identity
    assert identity is not None, "only a timer that was written has an id"
    return int(identity[0])


def forget(session: Session, rolled_back) -> None:
    """Drop the changes made in `rolled_back` (a transaction or savepoint) or inside it."""
    for key in (SCHEDULED_KEY, ENDED_KEY):
        session.info[key] = [
            (made_in, change) for made_in, change in session.info.get(key, []) if not _inside(made_in, rolled_back)
        ]


def _inside(transaction, outer) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False

"""What an operator does with the outbox: see what waits or failed, and send it again.

`canceldesk outbox list` reads every entry's state (`listing`), `canceldesk outbox retry`
puts failed or waiting entries back in line, due now (`requeue`). Requeueing changes
bookkeeping only: the daemon's next pass (or `canceldesk run --once`) sends them, so two
processes never deliver the same entry at once. An entry already sent is never requeued:
that would be a second copy in the customer's inbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.models import Case, OutboxEntry, OutboxStatus

WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def listing(session: Session, status: str | None = None, limit: int = 200) -> list[dict]:
    """The newest `limit` entries (only `status` ones when given; "pending" includes "sending"), oldest first."""
    query = select(OutboxEntry, Case.reference).outerjoin(Case, Case.id == OutboxEntry.case_id)
    if status:
        statuses = WAITING if status == OutboxStatus.PENDING.value else (OutboxStatus(status),)
        query = query.where(OutboxEntry.status.in_(statuses))
    found = session.execute(query.order_by(OutboxEntry.id.desc()).limit(limit)).all()
    return [_row(entry, reference) for entry, reference in reversed(found)]


def _row(entry: OutboxEntry, reference: str | None) -> dict:
    return {
        "id": entry.id,
        "status": entry.status.value,
        "kind": entry.kind,
        "recipient": entry.recipient or None,
        "case": reference,
        "attempts": entry.attempts,
        "next_try": entry.not_before if entry.status in WAITING else None,
        "last_error": entry.last_error or None,
        "message_id": entry.message_id or None,
    }


def requeue(
    session: Session, *, ids: tuple[int, ...] = (), failed: bool = False, now: datetime, actor: str = "operator"
) -> tuple[list[int], list[str]]:
    """Make failed (or waiting) entries due now with a fresh count of attempts.

    Returns the ids requeued and, for each id that could not be, why in plain words.
    """
    wanted = (
        list(
            session.scalars(
                select(OutboxEntry).where(OutboxEntry.status == OutboxStatus.FAILED).order_by(OutboxEntry.id)
            )
        )
        if failed
        else []
    )
    problems: list[str] = []
    for entry_id in ids:
        entry = session.get(OutboxEntry, entry_id)
        if entry is None:
            problems.append(f"#{entry_id}: no such outbox entry")
        elif entry.status is OutboxStatus.SENT:
            problems.append(f"#{entry_id}: already sent to {entry.recipient or entry.dedupe_key}; not sent twice")
        elif entry not in wanted:
            wanted.append(entry)
    for entry in wanted:
        _back_in_line(session, entry, now, actor)
    return [entry.id for entry in wanted], problems


def _back_in_line(session: Session, entry: OutboxEntry, now: datetime, actor: str) -> None:
    was = entry.status.value
    if entry.status is OutboxStatus.SENDING and not entry.last_error:
        # Its attempt may have carried it out without living to record it: with a fresh count
        # of attempts, only this tells the next attempt to check (`outbox.tried_before`).
        entry.last_error = f"queued again by {actor} while being sent"
    entry.status, entry.attempts, entry.not_before, entry.done_at = OutboxStatus.PENDING, 0, now, None
    if entry.case_id:
        case = session.get(Case, entry.case_id)
        cases.record(
            session,
            case,
            "effect_retried",
            at=now,
            actor=actor,
            summary=f"{entry.kind} to {entry.recipient or entry.dedupe_key} ({was}) queued again by {actor}",
        )

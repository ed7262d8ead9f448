"""Opening cases and writing their timeline: references, tokens, and timeline entries.

A case reference is for people (`CX-2026-0042`, numbered per year); the token is for
machines (unguessable, carried in our Reply-To address).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from daemon.cases.workflow import FINISHED, Trigger, add_event, advance
from daemon.db import insert_once, note_made, table_of
from daemon.models import Account, Case, CaseEvent, InboundMessage, ReferenceCounter

if TYPE_CHECKING:
    from daemon.desk import Desk

# A case in progress is any case not finished; the workflow says which states those are.
_FINISHED_STATES = tuple(sorted(state.value for state in FINISHED))


def next_reference(session: Session, prefix: str, year: int) -> str:
    """The year's next case reference. One UPDATE ... RETURNING takes the number: the row stays
    locked (SQLite's write lock taken at BEGIN IMMEDIATE; PostgreSQL's row lock) until the
    transaction ends either way, so two writers never share a number."""
    connection = session.connection()
    last = connection.execute(_TAKE_NUMBER, {"the_year": year}).scalar()
    if last is None:  # the year's first case: its counter starts (or a rival's start is kept)
        connection.execute(insert_once(session, ReferenceCounter), {"year": year, "last": 0})
        last = connection.execute(_TAKE_NUMBER, {"the_year": year}).scalar()
    return f"{prefix}-{year}-{last:04d}"


# Built once: every case takes a number, and building a statement costs about as much as running it.
_COUNTERS = table_of(ReferenceCounter)
_TAKE_NUMBER = (
    update(_COUNTERS)
    .where(_COUNTERS.c.year == bindparam("the_year"))
    .values(last=_COUNTERS.c.last + 1)
    .returning(_COUNTERS.c.last)
)


def new_token() -> str:
    # 80 bits in lower-case hex: survives mail systems that fold the local part's case.
    return secrets.token_hex(10)


def open_case(
    desk: Desk,
    session: Session,
    *,
    kind: str,
    requester: str,
    account: Account | None,
    trigger: Trigger,
    inbound: InboundMessage | None,
    actor: str,
    summary: str = "",
    services: tuple[str, ...] = (),
    final_day: date | None = None,
    scope: dict | None = None,
    language: str | None = None,
    asked_at: datetime | None = None,
    **event_data,
) -> Case:
    """Create a case, put the mail that started it on its timeline, and advance it."""
    now = desk.clock.now()
    case = Case(
        reference=next_reference(session, desk.config.desk.reference_prefix, now.year),
        token=new_token(),
        kind=kind,
        state=None,
        account_id=account.id if account else None,
        requester=requester,
        verified=trigger is Trigger.OPENED,
        opened_at=now,
        requested_services=list(services),
        requested_final_day=final_day,
        scope=dict(scope or {}),
        language=language,
        asked_at=asked_at,
        details={},
        # A new case's timeline is empty: said so, it is never read back from the table
        # (a read that would first write everything the opening has added so far).
        events=[],
    )
    session.add(case)
    note_made(session, case)
    session.flush()
    if inbound is not None:
        attach_message(session, case, inbound, now, actor=requester, summary=summary)
    advance(
        session, desk.bus, case, trigger, actor=actor, at=now, message_id=inbound.id if inbound else None, **event_data
    )
    return case


def attach_message(
    session: Session,
    case: Case,
    inbound: InboundMessage,
    at: datetime,
    *,
    actor: str,
    summary: str,
    kind: str = "mail_in",
) -> None:
    inbound.case_id = case.id
    record(session, case, kind, at=at, actor=actor, message_id=inbound.id, summary=summary[:300])


def attach_mail(desk: Desk, session: Session, case: Case, mail) -> None:
    """A stored mail (`classify.Mail`) on `case`'s timeline, from its sender, under its subject."""
    attach_message(session, case, mail.inbound, desk.clock.now(), actor=mail.sender, summary=mail.parsed.subject)


def record(
    session: Session,
    case: Case,
    kind: str,
    *,
    at: datetime,
    actor: str = "",
    summary: str = "",
    message_id: int | None = None,
    **data,
) -> CaseEvent:
    event = CaseEvent(case_id=case.id, at=at, kind=kind, actor=actor, summary=summary, data=data, message_id=message_id)
    add_event(session, case, event)
    return event


def open_case_for(session: Session, account_id: int | None, requester: str) -> Case | None:
    """The case still in progress for this account (or requester, when unknown)."""
    if account_id is not None:
        return session.scalars(_IN_PROGRESS_FOR_ACCOUNT, {"account_id": account_id}).first()
    return session.scalars(_IN_PROGRESS_FOR_REQUESTER, {"requester": requester}).first()


# Built once: every request asks, and building a statement costs about as much as running it.
_IN_PROGRESS = select(Case).where(Case.state.not_in(_FINISHED_STATES)).order_by(Case.id.desc())
_IN_PROGRESS_FOR_ACCOUNT = _IN_PROGRESS.where(Case.account_id == bindparam("account_id"))
_IN_PROGRESS_FOR_REQUESTER = _IN_PROGRESS.where(Case.requester == bindparam("requester"))


def latest_reason(case: Case) -> dict:
    """The reason staff recorded last with #reason ({category, text, by, at}), or {}."""
    return (case.reasons or [{}])[-1]


def reason_category(case: Case) -> str:
    """The category of the latest recorded reason, or ''."""
    return str(latest_reason(case).get("category", ""))

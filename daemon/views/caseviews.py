"""What the operator sees of cases and accounts: rows for `cases list`, the timeline of `cases show`.

Read-only: every function takes a session and returns plain dicts, which the CLI prints as
a table or as JSON. Who a case waits for and whether it is overdue are decided here and
nowhere else, from the case's state, its approval steps, its checklist and its timers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from daemon.cases.workflow import FINISHED, State
from daemon.models import (
    Account,
    ApprovalStep,
    Case,
    CaseEvent,
    InboundMessage,
    OutboxEntry,
    ServiceDecision,
    StepStatus,
    Timer,
    TimerStatus,
)
from daemon.playbook.offboarding import open_items
from daemon.sheets.projection import case_rows

# Timers whose firing means someone was chased: the case is overdue until it moves on.
CHASING_TIMERS = ("sla_call_scheduled", "sla_call_held", "approval_reminder", "approval_escalation")
WAITING = {
    State.AWAITING_WRITTEN: "customer",
    State.AWAITING_IDENTITY: "customer",
    State.OPEN: "account team",
    State.CALL_SCHEDULED: "account team",
    State.SAVE_ATTEMPTED: "account team",
    State.APPROVED: "desk",
    State.PAUSED: "pause end",
}


def load_cases(session: Session) -> list[Case]:
    return list(
        session.scalars(
            select(Case)
            .options(selectinload(Case.account), selectinload(Case.events))
            .order_by(Case.opened_at, Case.id)
        )
    )


def case_row(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    """One line of `cases list`."""
    account = case.account
    return {
        "reference": case.reference,
        "kind": case.kind,
        "state": case.state,
        "account": account.key if account else "",
        "client": account.name if account else case.requester,
        "owner": account.account_manager if account else "",
        "requester": case.requester,
        "opened_at": case.opened_at,
        "waiting_for": waiting_for(session, case),
        "overdue": is_overdue(session, case, now),
        "outcome": case.outcome or "",
    }


def list_cases(
    session: Session,
    now: datetime,
    *,
    state: str = "",
    kind: str = "",
    account: str = "",
    owner: str = "",
    overdue: bool = False,
    waiting: str = "",
) -> list[dict[str, Any]]:
    """`cases list` with its filters; each filter left empty lets every case through."""
    rows = [case_row(session, case, now) for case in load_cases(session)]
    wanted = {"state": state, "kind": kind, "account": account.upper(), "owner": owner.lower()}
    rows = [r for r in rows if all(not v or str(r[k]).upper() == v.upper() for k, v in wanted.items())]
    if overdue:
        rows = [r for r in rows if r["overdue"]]
    if waiting:
        rows = [r for r in rows if waiting.lower() in r["waiting_for"].lower()]
    return rows


def waiting_for(session: Session, case: Case) -> str:
    """Who must act next: the customer, the account team, an approver's role, the checklist's owners."""
    state = State(case.state)
    if state in FINISHED:
        return ""
    if state is State.PENDING_APPROVAL:
        asked = session.scalars(
            select(ApprovalStep.role).where(ApprovalStep.case_id == case.id, ApprovalStep.status == StepStatus.ASKED)
        ).all()
        return "approver: " + ", ".join(asked) if asked else "approver"
    if state is State.OFFBOARDING:
        owners = {o for item in open_items(session, case) for o in item.owners}
        return "offboarding: " + ", ".join(sorted(owners)) if owners else "closure"
    return WAITING.get(state, "")


def is_overdue(session: Session, case: Case, now: datetime) -> bool:
    """Not finished, and a timer is past due, or a reminder or escalation fired since the case last moved."""
    if State(case.state) in FINISHED:
        return False
    late = session.scalar(
        select(Timer.id)
        .where(Timer.case_id == case.id, Timer.status == TimerStatus.PENDING, Timer.due_at < now)
        .limit(1)
    )
    if late is not None:
        return True
    last_move = max((e.id for e in case.events if e.kind.startswith("state:")), default=0)
    chased = [
        e for e in case.events if e.kind == "timer" and e.id > last_move and _chased(session, e.data.get("timer_id"))
    ]
    return bool(chased)


def _chased(session: Session, timer_id: int | None) -> bool:
    timer = session.get(Timer, timer_id) if timer_id else None
    return bool(timer and timer.kind in CHASING_TIMERS and not timer.outcome.startswith("nothing to do"))


def find_case(session: Session, reference: str) -> Case | None:
    return session.scalar(select(Case).where(Case.reference == reference.strip().upper()))


def case_detail(session: Session, case: Case, now: datetime, checklist: tuple[str, ...]) -> dict[str, Any]:
    """Everything about one case for `cases show`: its line, timeline, decisions, approvals,
    timers, outgoing mail and sheet rows."""

    return {
        **case_row(session, case, now),
        "services": case.requested_services,
        "final_day": case.requested_final_day,
        "reasons": case.reasons or [],
        "offers": case.offers or [],
        "timeline": timeline(session, case),
        "decisions": decisions(session, case),
        "approvals": approvals(session, case),
        "timers": timer_rows(session, case),
        "outbox": outbox_rows(session, case),
        "sheet_rows": case_rows(session, case, checklist),
    }


def timeline(session: Session, case: Case) -> list[dict[str, Any]]:
    """Every entry on the case, oldest first, with the Message-ID of the mail it is about."""
    keys = dict(
        session.execute(
            select(InboundMessage.id, InboundMessage.message_key).where(InboundMessage.case_id == case.id)
        ).all()
    )
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id))
    return [
        {
            "at": e.at,
            "kind": e.kind,
            "actor": e.actor,
            "summary": e.summary,
            "message_id": keys.get(e.message_id) or e.data.get("message_id_out", ""),
        }
        for e in events
    ]


def decisions(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ServiceDecision).where(ServiceDecision.case_id == case.id).order_by(ServiceDecision.id)
    )
    return [
        {"service": d.service, "decision": d.decision, "day": d.day, "by": d.decided_by, "at": d.decided_at}
        for d in rows
    ]


def approvals(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ApprovalStep).where(ApprovalStep.case_id == case.id).order_by(ApprovalStep.round, ApprovalStep.position)
    )
    return [
        {
            "round": s.round,
            "role": s.role,
            "status": s.status,
            "by": s.decided_by,
            "at": s.decided_at,
            "reason": s.reason,
        }
        for s in rows
    ]


def timer_rows(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(select(Timer).where(Timer.case_id == case.id).order_by(Timer.due_at, Timer.id))
    return [{"kind": t.kind, "due_at": t.due_at, "status": t.status.value, "outcome": t.outcome} for t in rows]


def outbox_rows(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(select(OutboxEntry).where(OutboxEntry.case_id == case.id).order_by(OutboxEntry.id))
    return [
        {
            "kind": e.kind,
            "recipient": e.recipient,
            "message_id": e.message_id,
            "status": e.status.value,
            "done_at": e.done_at,
            "error": e.last_error,
        }
        for e in rows
    ]


def list_accounts(session: Session) -> list[dict[str, Any]]:
    """`accounts list`: each account with its contacts, services, monthly billing and open cases."""
    accounts = session.scalars(
        select(Account)
        .options(selectinload(Account.contacts), selectinload(Account.billing_items))
        .order_by(Account.key)
    )
    open_refs: dict[int, list[str]] = {}
    for case in session.scalars(select(Case).where(Case.state.not_in([s.value for s in FINISHED]))):
        open_refs.setdefault(case.account_id, []).append(case.reference)
    return [
        {
            "key": a.key,
            "name": a.name,
            "manager": a.account_manager,
            "active": a.active,
            "contacts": [c.email for c in a.contacts],
            "services": list(dict.fromkeys(i.service for i in a.billing_items)),
            "monthly": sum((i.monthly_amount for i in a.billing_items), start=0),
            "open_cases": open_refs.get(a.id, []),
        }
        for a in accounts
    ]

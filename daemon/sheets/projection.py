"""The projection: the rows each sheet should hold for a case, computed from the database alone.

This module is the one place that reads the playbook's state for the sheets, so a change
to how decisions, reasons or the checklist are stored is adapted here and nowhere else.
Only a case that was approved at some point has rows: before approval nothing is
processed. Once it has rows they follow it to the end: withdrawn,
reopened, resumed or won back, they change status rather than vanish.

Per service the decision comes from `ServiceDecision`; a case without any (one opened
before decisions existed) falls back to what the customer asked: its kind, the services
named (every billing item when none) and the requested final day. A changed service's
billing row shows its new monthly amount and the day it starts while the plan stands;
otherwise the amount on file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases.workflow import State, unwritten_lines
from daemon.db import made_here
from daemon.models import Case, CaseEvent, OffboardingItem, ServiceDecision
from daemon.sheets.layout import checklist_field

APPROVED_EVENT = "state:approved"
# States in which the approved plan stands; in any other state the rows say why not.
PLAN_STANDS = {State.APPROVED, State.OFFBOARDING, State.PAUSED, State.CHANGED, State.CLOSED, State.WON_BACK}
# Timeline entries that change rows without a workflow event: the sync's catch-up watches them.
AFFECTING_EVENTS = ("offboarding_done", "offboarding_complete", "reason", "decision")
KIND_OF_OUTCOME = {"lost": "cancel", "partially_saved": "cancel", "paused": "pause", "changed": "change"}

Rows = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Plan:
    """What happens to one service: 'cancel' (day = final day), 'pause' (day = its end), 'keep', or
    'change' (day = the first day at `amount` a month)."""

    decision: str
    day: date | None
    amount: Decimal | None = None


def ever_approved(session: Session, case: Case) -> bool:
    # An approval added in this transaction and not yet written is looked for among the
    # pending objects, so the query need not flush them all first: a request's dozen mails
    # and timeline lines are then written together with the transaction's next statement.
    if made_here(session, case) and "events" not in inspect(case).unloaded:
        # Opened in this transaction: its timeline, begun empty, holds every line it has.
        return any(line.kind == APPROVED_EVENT for line in case.events)
    if any(line.kind == APPROVED_EVENT for line in unwritten_lines(session, case)):
        return True
    if case.id is None:
        return False
    with session.no_autoflush:
        found = session.scalar(_AN_APPROVAL, {"case_id": case.id})
    return found is not None


# Built once: every sheet row of a case asks, and building a statement costs about as much as running it.
_AN_APPROVAL = (
    select(CaseEvent.id).where(CaseEvent.case_id == bindparam("case_id"), CaseEvent.kind == APPROVED_EVENT).limit(1)
)


def approved_case_ids(session: Session) -> list[int]:
    """Every case with rows, oldest first (a newer case's billing row wins over an older one's)."""
    return list(
        session.scalars(
            select(CaseEvent.case_id)
            .where(CaseEvent.kind == APPROVED_EVENT)
            .group_by(CaseEvent.case_id)
            .order_by(CaseEvent.case_id)
        )
    )


def case_rows(session: Session, case: Case, checklist: tuple[str, ...]) -> Rows:
    """The billing, offboarding and planner rows of one case ({} of each when it has none)."""
    if not ever_approved(session, case):
        return {"billing": [], "offboarding": [], "planner": []}
    plans = plans_of(session, case)
    cancels = [p.day for p in plans.values() if p.decision == "cancel" and p.day]
    return {
        "billing": billing_rows(case, plans),
        "offboarding": [offboarding_row(session, case, max(cancels, default=None), checklist)]
        if any(p.decision == "cancel" for p in plans.values())
        else [],
        "planner": [planner_row(session, case, plans)],
    }


def plans_of(session: Session, case: Case) -> dict[str, Plan]:
    """Service (lower case) -> plan, from the recorded decisions or, lacking any, the request."""
    decided = session.scalars(
        select(ServiceDecision).where(ServiceDecision.case_id == case.id).order_by(ServiceDecision.id)
    ).all()
    if decided:
        changes = case.changes or {}
        return {d.service.lower(): Plan(d.decision, d.day, _new_amount(d, changes)) for d in decided}
    services = [s.lower() for s in case.requested_services or []]
    if not services and case.account is not None:
        services = [item.service.lower() for item in case.account.billing_items]
    decision = "pause" if case.kind == "pause" else "cancel"
    return {s: Plan(decision, case.requested_final_day) for s in services}


def billing_rows(case: Case, plans: dict[str, Plan]) -> list[dict[str, Any]]:
    if case.account is None:
        return []
    rows = []
    for item in case.account.billing_items:
        plan = plans.get(item.service.lower(), Plan("keep", None))
        stop, status = billing_status(case, plan)
        # The new amount only once the plan stands: withdrawn or under review, the amount on file holds.
        changed = plan.amount is not None and State(case.state) in PLAN_STANDS
        rows.append(
            {
                "account": case.account.key,
                "client": case.account.name,
                "item_id": item.item_key,
                "service": item.service,
                "monthly_amount": plan.amount if changed else item.monthly_amount,
                "stop_date": stop,
                "case_ref": case.reference,
                "status": f"{status} (was {item.monthly_amount})" if changed else status,
            }
        )
    return rows


def billing_status(case: Case, plan: Plan) -> tuple[date | None, str]:
    """(stop date, status) of one billing item. A pause never sets a stop date."""
    state = State(case.state)
    if state is State.WITHDRAWN:
        return None, "withdrawn"
    if state not in PLAN_STANDS:
        return None, "under review"  # reopened: the earlier plan no longer stands
    if plan.decision == "cancel":
        return plan.day, {State.CLOSED: "stopped", State.WON_BACK: "won back"}.get(state, "stopping")
    if plan.decision == "pause":
        resumed = state is State.CLOSED and _outcome(case) == "paused"
        return None, "resumed" if resumed else f"paused until {plan.day.isoformat() if plan.day else '?'}"
    if plan.decision == "change":
        return None, f"new amount from {plan.day.isoformat() if plan.day else '?'}"
    return None, "kept"


def offboarding_row(session: Session, case: Case, final_day: date | None, checklist: tuple[str, ...]) -> dict[str, Any]:
    items = {
        i.name: i.status for i in session.scalars(select(OffboardingItem).where(OffboardingItem.case_id == case.id))
    }
    client = case.account.name if case.account else case.requester
    row: dict[str, Any] = {
        "case_ref": case.reference,
        "client": client,
        "final_day": final_day,
        "reason": reason_text(case),
        "owner": case.account.account_manager if case.account else "",
        "status": _status_word(case),
    }
    for name in checklist:
        # Before offboarding starts every item is still to do; once it has, an item the
        # desk did not create for this case (a service not cancelled) does not apply.
        status = items.get(name)
        row[checklist_field(name)] = ("done" if status == "done" else "pending") if status or not items else "n/a"
    return row


def planner_row(session: Session, case: Case, plans: dict[str, Plan]) -> dict[str, Any]:
    kind = KIND_OF_OUTCOME.get(_outcome(case), case.kind)
    cancels = [p.day for p in plans.values() if p.decision == "cancel" and p.day]
    pauses = [p.day for p in plans.values() if p.decision == "pause" and p.day]
    # A change is in effect once its last new amount starts or its last dropped service ends.
    changes = cancels + [p.day for p in plans.values() if p.decision == "change" and p.day]
    effective = (
        max(cancels)
        if kind == "cancel" and cancels
        else max(changes)
        if kind == "change" and changes
        else _approved_on(session, case)
    )
    account = case.account.key if case.account else case.requester
    client = case.account.name if case.account else case.requester
    return {
        "case_ref": case.reference,
        "account": account,
        "client": client,
        "kind": kind,
        "effective_date": effective,
        "resume_date": max(pauses) if pauses else None,
        "reason": reason_text(case),
        "status": _status_word(case),
    }


def reason_text(case: Case) -> str:
    """The latest recorded reason as the staff wrote it, its category after it."""
    latest = cases.latest_reason(case)
    text, category = (latest.get("text") or "").strip(), latest.get("category", "")
    return f"{text} ({category})" if text and category else text or category


def _approved_on(session: Session, case: Case) -> date | None:
    at = session.scalar(
        select(CaseEvent.at)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == APPROVED_EVENT)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return at.date() if at else None


def _new_amount(decision: ServiceDecision, changes: dict[str, dict[str, str]]) -> Decimal | None:
    """The monthly amount #change set for a service still decided 'change'; None for any other."""
    recorded = changes.get(decision.service) if decision.decision == "change" else None
    return Decimal(recorded["amount"]) if recorded else None


def _outcome(case: Case) -> str:
    return case.outcome or ""


def _status_word(case: Case) -> str:
    return case.state.replace("_", " ")

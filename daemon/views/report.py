"""The reasons report: what the desk has learned, counted from the database.

The playbooks end with a feedback database managers read to learn why customers leave.
This module turns the cases into those figures: requests and outcomes by month, reasons
by category, offers made and whom they saved, monthly revenue kept, lost and paused (from
the billing items and each service's decision), the time to acknowledge, to the save call
and to closure, and how often timers had to chase someone. One `CaseFacts` per case is
read first; every table is a sum over them, so the tables always agree with each other.

Months are the month a case was opened (requests, outcomes, reasons) or the month its
outcome was decided (revenue), in the desk's time zone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from statistics import median
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases.workflow import FINISHED, State
from daemon.models import (
    CallInvite,
    Case,
    InboundMessage,
    InviteStatus,
    OutboxEntry,
    ServiceDecision,
    Timer,
    TimerStatus,
)
from daemon.views.caseviews import load_cases

if TYPE_CHECKING:
    from daemon.desk import Desk

OUTCOMES = ("saved", "partially_saved", "paused", "changed", "lost", "withdrawn", "undecided")
SAVED_OUTCOMES = ("saved", "partially_saved")
CHASES = {
    "sla_call_scheduled": "SLA reminders",
    "sla_call_held": "SLA escalations",
    "approval_reminder": "approval reminders",
    "approval_escalation": "approval escalations",
}
ZERO = Decimal("0.00")
NO_REASON = "(none recorded)"


@dataclass
class CaseFacts:
    """One case as the report counts it."""

    reference: str
    opened_at: datetime
    client: str
    kind: str
    outcome: str
    opened_month: str
    decided_month: str
    category: str
    offers: list[dict[str, Any]]
    kept: Decimal = ZERO
    lost: Decimal = ZERO
    paused: Decimal = ZERO
    hours: dict[str, float] = field(default_factory=dict)  # "acknowledgment", "call", "closure"
    chases: Counter = field(default_factory=Counter)


def case_facts(session: Session, case: Case, zone: str) -> CaseFacts:
    decided_at = _decided_at(case)
    facts = CaseFacts(
        reference=case.reference,
        opened_at=case.opened_at,
        client=case.account.name if case.account else case.requester,
        kind=case.kind,
        outcome=outcome_of(case),
        opened_month=_month(case.opened_at, zone),
        decided_month=_month(decided_at, zone) if decided_at else "",
        category=cases.reason_category(case),
        offers=case.offers or [],
    )
    if facts.outcome not in ("withdrawn", "undecided"):
        _add_revenue(session, case, facts)
    facts.hours = _durations(session, case)
    facts.chases = _chases(session, case)
    return facts


def outcome_of(case: Case) -> str:
    if case.state == State.WITHDRAWN:
        return "withdrawn"
    return case.outcome or "undecided"


def _decided_at(case: Case) -> datetime | None:
    moments = [e.at for e in case.events if e.kind in ("state:saved", "state:decided")]
    return moments[-1] if moments else None


def _month(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m")


def _add_revenue(session: Session, case: Case, facts: CaseFacts) -> None:
    """Each billed service's monthly amount, by its decision: kept, lost, or paused; a change
    keeps the new amount and loses the difference."""
    decisions = {
        d.service.lower(): d.decision
        for d in session.scalars(select(ServiceDecision).where(ServiceDecision.case_id == case.id))
    }
    changes = {k.lower(): v for k, v in (case.changes or {}).items()}
    for item in case.account.billing_items if case.account else []:
        decision = decisions.get(item.service.lower())
        amount = Decimal(item.monthly_amount)
        if decision == "keep":
            facts.kept += amount
        elif decision == "cancel":
            facts.lost += amount
        elif decision == "pause":
            facts.paused += amount
        elif decision == "change":
            new = Decimal(changes.get(item.service.lower(), {}).get("amount", amount))
            facts.kept += new
            facts.lost += max(amount - new, ZERO)


def _durations(session: Session, case: Case) -> dict[str, float]:
    """Hours from the customer's first mail (as our server received it) to each milestone."""
    start = (
        session.scalar(
            select(InboundMessage.received_at)
            .where(InboundMessage.case_id == case.id)
            .order_by(InboundMessage.received_at)
            .limit(1)
        )
        or case.opened_at
    )
    moments = {
        "acknowledgment": _acknowledged_at(session, case),
        "call": _call_at(session, case),
        "closure": _closed_at(case),
    }
    return {name: round((at - start).total_seconds() / 3600, 2) for name, at in moments.items() if at}


def _acknowledged_at(session: Session, case: Case) -> datetime | None:
    """When the acknowledgment really left (its outbox entry sent), not when it was decided."""
    ids = [
        e.data.get("message_id_out")
        for e in case.events
        if e.kind == "mail_out" and e.summary.startswith("acknowledgment ")
    ]
    if not ids:
        return None
    return session.scalar(
        select(OutboxEntry.done_at)
        .where(OutboxEntry.message_id.in_(ids), OutboxEntry.done_at.is_not(None))
        .order_by(OutboxEntry.done_at)
        .limit(1)
    )


def _call_at(session: Session, case: Case) -> datetime | None:
    """The agreed save call's start: agreed once the customer accepted or staff set it."""
    call = session.scalar(select(CallInvite).where(CallInvite.case_id == case.id))
    agreed = any(e.kind == "state:call_scheduled" for e in case.events)
    return call.start if call is not None and agreed and call.status != InviteStatus.DECLINED else None


def _closed_at(case: Case) -> datetime | None:
    """When the case first reached a state where it waits for nothing."""
    finished = {s.value for s in FINISHED}
    return next((e.at for e in case.events if e.kind.startswith("state:") and e.data.get("to") in finished), None)


def _chases(session: Session, case: Case) -> Counter:
    """Reminders and escalations that really chased someone (not those that found nothing to do)."""
    fired = session.scalars(
        select(Timer).where(Timer.case_id == case.id, Timer.status == TimerStatus.DONE, Timer.kind.in_(CHASES))
    )
    return Counter(CHASES[t.kind] for t in fired if not t.outcome.startswith("nothing to do"))


@dataclass
class Report:
    """Every table of the report, as rows of plain values (for the terminal, HTML, CSV, JSON)."""

    generated_at: datetime
    currency: str
    cases: list[CaseFacts]

    def months(self) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for f in self.cases:
            row = rows.setdefault(
                f.opened_month,
                {
                    "month": f.opened_month,
                    "requests": 0,
                    "cancel": 0,
                    "pause": 0,
                    "change": 0,
                    **{o: 0 for o in OUTCOMES},
                },
            )
            row["requests"] += 1
            row[f.kind] = row.get(f.kind, 0) + 1
            row[f.outcome] += 1
        return [rows[m] for m in sorted(rows)]

    def reasons(self) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for f in self.cases:
            name = f.category or NO_REASON
            row = rows.setdefault(name, {"category": name, "cases": 0, "saved": 0, "lost": 0})
            row["cases"] += 1
            row["saved"] += f.outcome in SAVED_OUTCOMES
            row["lost"] += f.outcome == "lost"
        return sorted(rows.values(), key=lambda r: (-r["cases"], r["category"]))

    def offers(self) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for f in self.cases:
            for offer in f.offers:
                row = rows.setdefault(
                    offer["name"], {"offer": offer["name"], "made": 0, "accepted": 0, "declined": 0, "saved": []}
                )
                row["made"] += 1
                row[offer["outcome"]] = row.get(offer["outcome"], 0) + (offer["outcome"] != "made")
                if offer["outcome"] == "accepted" and f.outcome in (*SAVED_OUTCOMES, "paused", "changed"):
                    row["saved"].append(f"{f.client} ({f.reference})")
        return sorted(rows.values(), key=lambda r: (-r["made"], r["offer"]))

    def revenue(self) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for f in self.cases:
            if not f.decided_month:
                continue
            row = rows.setdefault(
                f.decided_month, {"month": f.decided_month, "kept": ZERO, "lost": ZERO, "paused": ZERO}
            )
            row["kept"] += f.kept
            row["lost"] += f.lost
            row["paused"] += f.paused
        return [rows[m] for m in sorted(rows)]

    def timings(self) -> list[dict[str, Any]]:
        rows = []
        for name in ("acknowledgment", "call", "closure"):
            values = [f.hours[name] for f in self.cases if name in f.hours]
            rows.append(
                {
                    "to": name,
                    "cases": len(values),
                    "median_hours": round(median(values), 1) if values else None,
                    "longest_hours": round(max(values), 1) if values else None,
                }
            )
        return rows

    def chases(self) -> list[dict[str, Any]]:
        total = sum((f.chases for f in self.cases), Counter())
        return [
            {"timer": label, "fired": total[label], "cases": sorted(f.reference for f in self.cases if f.chases[label])}
            for label in CHASES.values()
        ]

    def headline(self) -> dict[str, Any]:
        outcomes = Counter(f.outcome for f in self.cases)
        decided = sum(n for o, n in outcomes.items() if o not in ("undecided", "withdrawn"))
        saved = outcomes["saved"] + outcomes["partially_saved"]
        return {
            "requests": len(self.cases),
            **{o: outcomes[o] for o in OUTCOMES},
            "save_rate_percent": round(100 * saved / decided) if decided else None,
            "revenue_kept": sum((f.kept for f in self.cases), ZERO),
            "revenue_lost": sum((f.lost for f in self.cases), ZERO),
            "revenue_paused": sum((f.paused for f in self.cases), ZERO),
            "currency": self.currency,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "headline": self.headline(),
            "months": self.months(),
            "reasons": self.reasons(),
            "offers": self.offers(),
            "revenue": self.revenue(),
            "timings": self.timings(),
            "chases": self.chases(),
        }


def build_report(desk: Desk, session: Session, *, since: datetime | None = None) -> Report:
    """The report over every case (or those opened since `since`), as of the desk's clock."""
    zone = desk.config.desk.timezone
    cases = [c for c in load_cases(session) if since is None or c.opened_at >= since]
    return Report(desk.clock.now(), desk.config.report.currency, [case_facts(session, c, zone) for c in cases])

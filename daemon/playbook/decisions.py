"""Decisions per service (keep / cancel / pause / change), the outcome they add up to, and the customer's summary.

The services a case is about are the ones the customer named, or every service of the
account when they named none; a service of the account left out stays as it is. Once
each of them has a decision the case concludes: all kept is *saved* (nothing to process);
otherwise *lost*, *partially saved*, *paused* or *changed*, and the case goes to the
approval chain (`Trigger.DECIDED`). Deciding again while approvals run amends the
decision and starts a new round. The customer's summary (services kept, services
cancelled with the final day of each, pauses with their end, changed services with their
new monthly amount and the day it starts) goes out once there is nothing left to approve:
when the case is saved, or when the chain approves it.

A change (a downgrade, a budget cut) is a decision like the others: its day is the first
day billed at the new amount, and the amounts live in `Case.changes` (service ->
{"amount", "was"}), read only while that service's decision is a change. The customer
stays on different terms, so a case with a change and no cancellation is *changed*; so is
a change request that drops a service and keeps the rest.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases import effects
from daemon.cases.workflow import DomainEvent, StepRefused, Trigger, advance
from daemon.directory import bare
from daemon.mail import mailer
from daemon.models import Case, ServiceDecision
from daemon.playbook import contract

if TYPE_CHECKING:
    from daemon.desk import Desk

KEEP, CANCEL, PAUSE, CHANGE = "keep", "cancel", "pause", "change"
OUTCOME_LABELS = {
    "saved": "saved",
    "lost": "lost",
    "partially_saved": "partially saved",
    "paused": "paused",
    "changed": "changed",
}


def services_of(case: Case) -> list[str]:
    """The account's services, from its billing items then its team, each once, as spelt on file."""
    if case.account is None:
        return []
    names = [item.service for item in case.account.billing_items] + [m.service for m in case.account.team]
    return list(dict.fromkeys(names))


def resolve_services(case: Case, text: str) -> list[str]:
    """'seo, Social' -> ['SEO', 'Social']; an unknown service is refused, naming those on file."""
    known = {name.lower(): name for name in services_of(case)}
    wanted = [part.strip() for part in text.replace(" and ", ",").split(",") if part.strip()]
    if not wanted:
        raise StepRefused(f"name the services: {', '.join(known.values()) or 'none on file'}")
    unknown = [name for name in wanted if name.lower() not in known]
    if unknown:
        raise StepRefused(
            f"unknown service {', '.join(unknown)} for {_account_name(case)} "
            f"(services on file: {', '.join(known.values()) or 'none'})"
        )
    return list(dict.fromkeys(known[name.lower()] for name in wanted))


def in_scope(case: Case) -> list[str]:
    on_file = services_of(case)
    asked = [name for name in on_file if name.lower() in {s.lower() for s in case.requested_services or []}]
    return asked or on_file


def decisions_of(session: Session, case: Case) -> list[ServiceDecision]:
    return list(
        session.scalars(select(ServiceDecision).where(ServiceDecision.case_id == case.id).order_by(ServiceDecision.id))
    )


def final_days(session: Session, case: Case) -> dict[str, date]:
    """Each cancelled service's final day: the decisions recorded, else what was requested."""
    days = {d.service: d.day for d in decisions_of(session, case) if d.decision == CANCEL and d.day is not None}
    if not days and case.requested_final_day:
        days = {service: case.requested_final_day for service in case.requested_services or ["all services"]}
    return days


def continuing_services(session: Session, case: Case) -> list[str]:
    """The account's services this case does not end (kept, paused, changed, or never part of
    it); none when it ends all of them or names no service."""
    ended = {service.lower() for service in final_days(session, case)}
    if not ended or "all services" in ended:
        return []
    return [service for service in services_of(case) if service.lower() not in ended]


def resume_day(session: Session, case: Case) -> date | None:
    """The day a pause ends: the latest 'pause until' decision, else the requested day."""
    days = [d.day for d in decisions_of(session, case) if d.decision == PAUSE and d.day is not None]
    return max(days, default=None) or case.requested_final_day


def check_to_come(desk: Desk, day: date, today: date) -> None:
    """A day a decision takes effect (final day, end of a pause, new amount) must be after today."""
    if day <= today:
        raise StepRefused(f"{_day(desk, day)} is not after today ({_day(desk, today)})")


def check_final_day(desk: Desk, case: Case, day: date, today: date) -> None:
    """A final day must be to come and allowed by the notice period."""
    check_to_come(desk, day, today)
    review = contract.review_case(case)
    if review is not None and day < review.notice_end:
        raise StepRefused(
            f"{_day(desk, day)} is before the earliest final day of service, "
            f"{_day(desk, review.notice_end)} ({review.notice_days} days' notice from "
            f"{_day(desk, review.notice_date)}): write it {review.notice_end.isoformat()} or later"
        )


def _day(desk: Desk, day: date) -> str:
    return effects.staff_day(desk, day)


def _money(desk: Desk, amount: Decimal) -> str:
    return effects.staff_money(desk, amount)


def decide(
    desk: Desk, session: Session, case: Case, services: list[str], decision: str, day: date | None, actor: str
) -> str | None:
    """Record one decision for `services`, then conclude the case if every service is decided."""
    now = desk.clock.now()
    existing = {d.service: d for d in decisions_of(session, case)}
    if decision != CHANGE:
        _forget_changes(case, services)
    for service in services:
        row = existing.get(service) or ServiceDecision(case_id=case.id, service=service)
        row.decision, row.day, row.decided_by, row.decided_at = decision, day, actor, now
        session.add(row)
    session.flush()
    cases.record(
        session,
        case,
        "decision",
        at=now,
        actor=actor,
        summary=f"{decision} {', '.join(services)}" + (f" ({_day_word(decision)} {_day(desk, day)})" if day else ""),
        decision=decision,
        services=services,
        day=day.isoformat() if day else None,
    )
    return conclude(desk, session, case, actor)


def outcome(case: Case, decisions: list[ServiceDecision]) -> str | None:
    """What the decisions add up to, or None while a service the case is about is undecided."""
    decided = {d.service: d.decision for d in decisions}
    if any(service not in decided for service in in_scope(case)):
        return None
    kinds = set(decided.values())
    if kinds == {KEEP}:
        return "saved"
    if CANCEL not in kinds:
        # A pause decides the case's course (it resumes); a change alongside it still bills anew.
        return "paused" if PAUSE in kinds else "changed"
    if kinds == {CANCEL}:
        return "lost"
    return "changed" if case.kind == "change" or CHANGE in kinds else "partially_saved"


def conclude(desk: Desk, session: Session, case: Case, actor: str) -> str | None:
    found = outcome(case, decisions_of(session, case))
    if found is None:
        return None
    case.outcome = found
    trigger = Trigger.SAVED if found == "saved" else Trigger.DECIDED
    advance(
        session,
        desk.bus,
        case,
        trigger,
        actor=actor,
        at=desk.clock.now(),
        summary=f"outcome: {OUTCOME_LABELS[found]}",
        outcome=found,
    )
    return found


def change_service(
    desk: Desk, session: Session, case: Case, service: str, amount: Decimal, day: date, actor: str
) -> str | None:
    """Bill `service` at `amount` a month from `day`, then conclude like any decision."""
    was = monthly_amount(case, service)
    if amount < 0:
        raise StepRefused(f"{amount} is not a monthly amount: write it like 400.00")
    if amount == 0:
        raise StepRefused(f"0 ends {service}: write #cancel {service} to drop it")
    if amount == was:
        raise StepRefused(
            f"{service} is already billed {_money(desk, was)} a month: write #keep {service} to leave it as it is"
        )
    check_change_day(desk, case, day, desk.clock.now().date())
    # Stored before deciding: the approval request the decision may send reads the amounts.
    case.changes = {**changes_of(case), service: {"amount": str(amount), "was": str(was)}}
    return decide(desk, session, case, [service], CHANGE, day, actor)


def monthly_amount(case: Case, service: str) -> Decimal:
    """The monthly amount of the one billing item of `service`: the amount a change replaces."""
    items = [item for item in case.account.billing_items if item.service == service] if case.account else []
    if not items:
        raise StepRefused(
            f"{service} has no billing item on file for {_account_name(case)}, so no monthly amount to change"
        )
    if len(items) > 1:
        # The billing sheet shows the new amount on the item it replaces: with several, which one is ambiguous.
        raise StepRefused(
            f"{service} is billed as {len(items)} items ({', '.join(i.item_key for i in items)}): "
            f"#change sets the amount of a service billed as one item"
        )
    return items[0].monthly_amount


def default_change_day(case: Case) -> date:
    """The first of the month after the final day the contract review proposes: a whole billing month."""
    review = contract.review_case(case)
    if review is None:
        raise StepRefused("no contract on file to take the day from: write #change SERVICE to AMOUNT from YYYY-MM-DD")
    return contract.add_months(review.final_day.replace(day=1), 1)


def check_change_day(desk: Desk, case: Case, day: date, today: date) -> None:
    """The new amount starts after today, and the old one runs at least to the end of the notice period."""
    check_to_come(desk, day, today)
    review = contract.review_case(case)
    if review is not None and day <= review.notice_end:
        first = review.notice_end + timedelta(days=1)
        raise StepRefused(
            f"{_day(desk, day)} is within the notice period: the new amount may start from "
            f"{_day(desk, first)} ({review.notice_days} days' notice from "
            f"{_day(desk, review.notice_date)}): write from {first.isoformat()} or later"
        )


def changes_of(case: Case) -> dict[str, dict[str, str]]:
    """Service -> {"amount", "was"} of each service #change decided (another decision forgets it)."""
    return dict(case.changes or {})


def parse_amount(text: str, example: str = "250.00") -> Decimal:
    """'1,200.00' -> Decimal('1200.00'); anything else is refused, with an example to copy. The sign is the caller's."""
    try:
        amount = Decimal(text.strip().replace(",", ""))
        if amount.is_finite():
            return amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        pass
    raise StepRefused(f"{text.strip() or '(nothing)'} is not an amount: write it like {example}")


def credit_of(case: Case) -> Decimal:
    return Decimal(case.credit or 0)


def set_credit(case: Case, text: str) -> Decimal:
    amount = parse_amount(text)
    if amount < 0:
        raise StepRefused("a credit is a positive amount, or 0 to take it back")
    case.credit = amount
    return amount


def is_early_termination(session: Session, case: Case) -> bool:
    """Any service cancelled on a final day before the contract term ends."""
    if case.account is None:
        return False
    return any(
        d.decision == CANCEL and d.day and contract.is_early(case.account, d.day) for d in decisions_of(session, case)
    )


def summary_values(session: Session, case: Case) -> dict:
    """Kept, cancelled (with final days), paused (until) and changed (amount, from) services, for mails and #status."""
    decided = {d.service: d for d in decisions_of(session, case)}
    services = services_of(case)
    rows = [decided.get(service) for service in services]
    changes, credit = changes_of(case), credit_of(case)
    return {
        "kept": [s for s, d in zip(services, rows) if d is None or d.decision == KEEP],
        "cancelled": [
            {"service": d.service, "final_day": d.day.isoformat()} for d in rows if d and d.decision == CANCEL
        ],
        "paused": [{"service": d.service, "until": d.day.isoformat()} for d in rows if d and d.decision == PAUSE],
        "changed": [
            {"service": d.service, "from": d.day.isoformat(), **changes[d.service]}
            for d in rows
            if d and d.decision == CHANGE and d.service in changes
        ],
        "outcome": OUTCOME_LABELS.get(case.outcome or "", "undecided"),
        "credit": str(credit) if credit else "",
        "offers_accepted": [o for o in case.offers or [] if o.get("outcome") == "accepted"],
    }


def send_summary(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """The customer's written summary of what ends and when, so nothing ends without them reading it."""
    context = {**effects.case_context(desk, case), **summary_values(session, case)}
    # The offers agreed, in the words of the language the summary is written in.
    language = desk.renderer.language_of("customer_summary", mailer.customer_language(case))
    context["offers_accepted"] = [
        {**offer, "label": desk.config.offers.customer_label(offer["name"], language)}
        for offer in context["offers_accepted"]
    ]
    round_ = case.approval_round or 0
    mailer.send(
        desk, session, case, "customer_summary", [case.requester], context, dedupe=f"summary:{event.name}:{round_}"
    )


def leads(case: Case) -> list[str]:
    """The account manager and the team lead: who hears of a declined call or a rejected approval."""
    account = case.account
    if account is None:
        return []
    return [a for a in dict.fromkeys([bare(account.account_manager or ""), bare(account.team_lead or "")]) if a]


def _forget_changes(case: Case, services: list[str]) -> None:
    """A service decided otherwise no longer changes: its amounts must not reach a mail or a sheet."""
    changes = changes_of(case)
    if any(service in changes for service in services):
        case.changes = {s: v for s, v in changes.items() if s not in services}


def _day_word(decision: str) -> str:
    return {PAUSE: "until", CHANGE: "from"}.get(decision, "final day")


def _account_name(case: Case) -> str:
    return case.account.name if case.account else case.requester

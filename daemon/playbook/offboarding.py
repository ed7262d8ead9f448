"""Once approved: the offboarding checklist, the vendor notices and the webhook post.

An approved case with a cancelled service is offboarded: each `[offboarding] items` entry
that applies becomes an item mailed to the team that owns it and ticked with `#done`;
the vendors `[vendors]` names for each cancelled service are told "CLIENT will cancel,
effective DATE, for REASON"; and a Slack-compatible webhook (the account's `slack_webhook`
link, else the URL in `[webhook] url_env`) hears of it with the reasons, through the
outbox as an entry of kind "webhook". A pause keeps the client in every tool: no
checklist and no vendor notice, only the webhook post.

A changed case (the customer stays on new terms) is not offboarded as a whole: the
change applies at once (`Trigger.CHANGE_APPLIED`, the case ends *changed*), and only a
service it drops gets the checklist and vendor notices; a service kept or billed anew
keeps its team and tools.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases import effects
from daemon.cases.workflow import DomainEvent, StepRefused, Trigger, advance
from daemon.directory import Staff, bare
from daemon.mail import mailer, outbox
from daemon.models import Case, ItemStatus, OffboardingItem
from daemon.playbook import decisions
from integrations import webhook

if TYPE_CHECKING:
    from daemon.desk import Desk

WEBHOOK = "webhook"


def begin(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """Offboarding started or a change applied: the checklist, the vendor notices, the webhook."""
    start(desk, session, case)


def announce_pause(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """A pause started: only the webhook, nothing is offboarded."""
    post_webhook(desk, session, case)


def process_approved(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """Approved: apply a change; otherwise offboard what is cancelled, or start the pause."""
    kinds = {d.decision for d in decisions.decisions_of(session, case)}
    changed = case.outcome == "changed"
    trigger = (
        Trigger.CHANGE_APPLIED
        if changed
        else Trigger.OFFBOARDING_STARTED
        if decisions.CANCEL in kinds
        else Trigger.PAUSE_STARTED
        if decisions.PAUSE in kinds
        else Trigger.CHANGE_APPLIED
    )
    advance(session, desk.bus, case, trigger, actor=event.actor, at=desk.clock.now())


def start(desk: Desk, session: Session, case: Case) -> None:
    """The checklist and vendor notices of the cancelled services (none: nothing to offboard), the webhook."""
    cancelled = [d for d in decisions.decisions_of(session, case) if d.decision == decisions.CANCEL]
    services = {d.service for d in cancelled}
    if not services:
        post_webhook(desk, session, case)
        return
    position = 0
    for line in desk.config.offboarding.items:
        name, _, owner = (part.strip() for part in line.partition("->"))
        owners = owners_of(desk, case, owner, services)
        if owners:
            position += 1
            item = OffboardingItem(case_id=case.id, position=position, name=name, owners=owners, status=ItemStatus.OPEN)
            session.add(item)
            session.flush()
            _mail_item(desk, session, case, item)
    _notify_vendors(desk, session, case, cancelled)
    post_webhook(desk, session, case)


def owners_of(desk: Desk, case: Case, owner: str, cancelled: set[str]) -> list[str]:
    """The addresses that own an item; [] when it does not apply (a service that is not cancelled)."""
    account = case.account
    on_file = {name.lower(): name for name in decisions.services_of(case)}
    if owner == "team":
        found = [account.team_lead] + [m.email for m in account.team if m.service in cancelled]
    elif owner in ("team_lead", "account_manager"):
        found = [getattr(account, owner)]
    elif owner.lower() in on_file:
        found = [m.email for m in account.team if m.service == on_file[owner.lower()] and m.service in cancelled]
    elif "@" in owner:
        found = [owner]
    else:
        found = [s.email for s in desk.staff.with_role(owner)] or [account.team_lead]
    return [a for a in dict.fromkeys(bare(a or "") for a in found) if a]


def _mail_item(desk: Desk, session: Session, case: Case, item: OffboardingItem) -> None:
    context = {**effects.case_context(desk, case), **decisions.summary_values(session, case), "item": item}
    for address in item.owners:
        mailer.send(
            desk, session, case, "offboarding_item", [address], context, dedupe=f"offboarding:{item.position}:{address}"
        )


def items_of(session: Session, case: Case) -> list[OffboardingItem]:
    return list(
        session.scalars(
            select(OffboardingItem).where(OffboardingItem.case_id == case.id).order_by(OffboardingItem.position)
        )
    )


def open_items(session: Session, case: Case) -> list[OffboardingItem]:
    """Items not ticked yet, in checklist order: the closure waits for them."""
    return list(
        session.scalars(
            select(OffboardingItem)
            .where(OffboardingItem.case_id == case.id, OffboardingItem.status == ItemStatus.OPEN)
            .order_by(OffboardingItem.position)
        )
    )


def tick(desk: Desk, session: Session, case: Case, staff: Staff, text: str) -> str:
    """`#done ITEM`: by its number or (the start of) its name, by an owner or the account's leads."""
    item = _find_item(items_of(session, case), text)
    if item.status == ItemStatus.DONE:
        raise StepRefused(f"'{item.name}' was already ticked by {item.done_by}")
    if staff.email not in item.owners and staff.email not in decisions.leads(case):
        raise StepRefused(f"'{item.name}' belongs to {', '.join(item.owners)}; they or the account's leads tick it")
    now = desk.clock.now()
    item.status, item.done_by, item.done_at = ItemStatus.DONE, staff.email, now
    cases.record(session, case, "offboarding_done", at=now, actor=staff.email, summary=f"done: {item.name}")
    left = open_items(session, case)
    if not left:
        cases.record(session, case, "offboarding_complete", at=now, actor=staff.email, summary="checklist complete")
        return f"ticked '{item.name}': the checklist is complete"
    return f"ticked '{item.name}'; still open: {', '.join(i.name for i in left)}"


def _find_item(items: list[OffboardingItem], text: str) -> OffboardingItem:
    wanted = text.strip().lower()
    if not wanted:
        raise StepRefused("name the item: #done ITEM (its number or name)")
    found = [i for i in items if str(i.position) == wanted or i.name.lower() == wanted] or [
        i for i in items if i.name.lower().startswith(wanted)
    ]
    if len(found) != 1:
        listing = "; ".join(f"{i.position}. {i.name}" for i in items) or "none"
        raise StepRefused(
            f"{'no' if not found else 'more than one'} checklist item matches {text.strip()!r} (items: {listing})"
        )
    return found[0]


def reasons_text(case: Case) -> str:
    reasons = case.reasons or []
    return (
        "; ".join(f"{r['category']}: {r['text']}" if r.get("text") else r["category"] for r in reasons)
        or "no reason given"
    )


def _notify_vendors(desk: Desk, session: Session, case: Case, cancelled) -> None:
    for decision in cancelled:
        for vendor in desk.config.vendors.for_service(decision.service):
            context = {
                **effects.case_context(desk, case),
                "service": decision.service,
                "final_day": decision.day.isoformat(),
                "reason": reasons_text(case),
            }
            mailer.send(
                desk, session, case, "vendor_notice", [vendor], context, dedupe=f"vendor:{decision.service}:{vendor}"
            )


def webhook_url(desk: Desk, case: Case) -> str:
    links = (case.account.links or {}) if case.account else {}
    return links.get("slack_webhook") or os.environ.get(desk.config.webhook.url_env, "")


def post_webhook(desk: Desk, session: Session, case: Case) -> None:
    """Queue the post (Slack's {"text": ...}); nothing when no URL is configured for the account."""
    url = webhook_url(desk, case)
    if not url:
        return
    summary = decisions.summary_values(session, case)
    body = {"text": _webhook_text(desk, case, summary)}
    entry = outbox.enqueue(
        session,
        kind=WEBHOOK,
        dedupe_key=f"case:{case.id}:webhook:{case.state}",
        payload=json.dumps({"url": url, "body": body}).encode(),
        now=desk.clock.now(),
        case_id=case.id,
    )
    if entry is not None:
        cases.record(session, case, "webhook_out", at=desk.clock.now(), summary=body["text"][:300])


def _webhook_text(desk: Desk, case: Case, summary: dict) -> str:
    name = case.account.name if case.account else case.requester
    style = desk.renderer.staff_sentences
    parts = [f"{s['service']} (final day {style.day(s['final_day'])})" for s in summary["cancelled"]]
    parts += [f"{s['service']} paused until {style.day(s['until'])}" for s in summary["paused"]]
    parts += [
        f"{s['service']} {style.money(s['was'])} → {style.money(s['amount'])} a month from {style.day(s['from'])}"
        for s in summary["changed"]
    ]
    return (
        f"{case.reference} {name}: {summary['outcome']}. {', '.join(parts) or 'no service ends'}. "
        f"Kept: {', '.join(summary['kept']) or 'none'}. Reasons: {reasons_text(case)}."
    )


def webhook_handler(timeout: float):
    """Delivers a webhook entry (integrations.webhook); a refusal for good is not retried."""

    def deliver(entry) -> None:
        spec = json.loads(entry.payload)
        try:
            webhook.post(spec["url"], spec["body"], timeout=timeout)
        except webhook.WebhookUnavailable as exc:
            raise outbox.TransientEffectError(str(exc)) from exc
        except webhook.WebhookRefused as exc:
            raise outbox.PermanentEffectError(str(exc)) from exc

    return deliver

"""Effects: what each workflow event causes in the outside world, enqueued in the outbox.

Subscribed to the event bus in one place (`register`), so reading this module tells every
mail a case change can cause. Effects only enqueue: delivery happens after commit.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import cases, contract, outbox
from daemon.compose import Thread, compose, parent_chain
from daemon.directory import account_team_addresses, bare
from daemon.models import Case, CaseEvent, InboundMessage
from daemon.workflow import DomainEvent, Trigger
from parsers.headers import parse_ids, parse_message_id
from parsers.language import DEFAULT as DEFAULT_LANGUAGE

log = logging.getLogger(__name__)

KIND_LABELS = {"cancel": "cancellation", "pause": "pause", "change": "contract change"}


def register(desk) -> None:
    desk.bus.subscribe(Trigger.OPENED, lambda s, c, e: _on_opened(desk, s, c, e))
    desk.bus.subscribe(Trigger.OPENED_UNVERIFIED, lambda s, c, e: ask_to_verify(desk, s, c, e))
    from daemon import requests  # verbal, written, verified, reopened: the mail beside those steps
    requests.register(desk)
    from daemon import staffmail  # here: staffmail sends through this module
    staffmail.register(desk)
    from daemon.decisions import register_playbook  # contract, call, decisions, approvals, offboarding
    register_playbook(desk)
    from daemon.sheets import sync as sheets_sync  # billing, offboarding and planner rows, after the playbook's
    sheets_sync.register(desk)
    from daemon import timers_plan  # last: its approval timers read the steps asked above
    timers_plan.register(desk)


def _on_opened(desk, session: Session, case: Case, event: DomainEvent) -> None:
    context = case_context(desk, case, event)
    send(desk, session, case, "acknowledgment", [case.requester], context, dedupe="ack",
         answering=thread_of(event), reply=True)
    notify_team(desk, session, case, "team_notice", context, dedupe="opened")


def ask_to_verify(desk, session: Session, case: Case, event: DomainEvent) -> None:
    """The requester, writing from an address not on file, is asked to confirm from one on file."""
    send(desk, session, case, "verification_request", [case.requester], case_context(desk, case, event),
         dedupe="verify", answering=thread_of(event), reply=True)


def thread_of(event: DomainEvent) -> Thread:
    """The customer's mail an event's mail answers, as the event carries it (`requests._mail_data`)."""
    return Thread(event.data.get("answering", ""), tuple(event.data.get("answering_references", ())))


def notify_team(desk, session: Session, case: Case, template: str, context: dict[str, Any], *, dedupe: str) -> None:
    team = account_team_addresses(case.account) if case.account else []
    if not team:
        cases.record(session, case, "warning", at=desk.clock.now(), summary="no team on file to notify")
        return
    for address in team:
        send(desk, session, case, template, [address], staff_view(desk, context, address),
             dedupe=f"{dedupe}:{address}", reply=False)


def staff_view(desk, context: dict[str, Any], address: str) -> dict[str, Any]:
    """A case context as one of the account's team reads it: times in the desk's zone, and
    `to_staff`, since only staff may drive the case with #commands (a freelancer on the
    team is told, not invited to command)."""
    view = {**context, "to_staff": address in desk.staff}
    if "received" in context:
        view["received_at"] = staff_time(desk, context["received"])
    return view


def staff_time(desk, moment: datetime) -> str:
    """A moment as staff read it: in the desk's zone (`[desk] timezone`), one zone for all of them."""
    return format_local(moment, desk.config.desk.timezone)


def notify_team_at_risk(desk, session: Session, mail) -> None:
    """An at-risk signal opens no case: the account's team is told so they can act."""
    account = mail.contact.account
    context = {"desk": desk.config.desk, "account_name": account.name, "sender": mail.sender,
               "subject": mail.parsed.subject, "excerpt": (mail.parsed.new_text or mail.parsed.text)[:2000],
               "matched": ", ".join(mail.intent.matched) if mail.intent else ""}
    rendered, now = desk.renderer.render("at_risk_notice", context), desk.clock.now()
    for address in account_team_addresses(account):
        msg = compose(desk.config.desk, rendered, [address], now=now)
        outbox.enqueue_mail(session, msg, dedupe_key=f"at-risk:{mail.inbound.id}:{address}", now=now)


def send_without_case(desk, session: Session, template: str, recipient: str, context: dict[str, Any], *,
                      dedupe: str, answering: Thread | None = None, reply: bool = False) -> None:
    """One mail that belongs to no case (an answer to a stray mail); the same cap as `send`."""
    now = desk.clock.now()
    if reply and _over_cap(desk, session, bare(recipient), now):
        log.warning("%s to %s suppressed by the per-recipient cap", template, recipient)
        return
    msg = compose(desk.config.desk, desk.renderer.render(template, context), [recipient], now=now,
                  answering=answering, auto="auto-replied")
    outbox.enqueue_mail(session, msg, dedupe_key=f"mail:{dedupe}", now=now, answers_recipient=reply)


def send(desk, session: Session, case: Case, template: str, to: list[str], context: dict[str, Any], *,
         dedupe: str, answering: Thread | None = None, reply: bool = False,
         not_before: datetime | None = None, auto: str | None = None,
         decorate: Callable[[EmailMessage], None] | None = None):
    """Render, compose and enqueue one mail of a case; record it on the timeline.

    `decorate` changes the composed message before it is queued (a calendar invite).

    `reply=True` marks mail caused by the recipient's own mail: it counts against the
    per-recipient daily cap, the last guard against two robots answering each other.
    """
    now = desk.clock.now()
    recipient = bare(to[0])
    if answering is None and recipient not in desk.staff:
        answering = latest_mail_from(session, case, recipient)
    if reply and _over_cap(desk, session, recipient, now):
        cases.record(session, case, "mail_suppressed", at=now, summary=f"{template} to {recipient} not sent: "
                     f"daily limit of {_cap(desk, recipient)} reached")
        log.warning("%s: %s to %s suppressed by the per-recipient cap", case.reference, template, recipient)
        return None
    rendered = desk.renderer.render(template, context, language_for(desk, case, recipient))
    msg = compose(desk.config.desk, rendered, to, now=now, case_reference=case.reference, case_token=case.token,
                  answering=answering, auto=auto or ("auto-replied" if reply else "auto-generated"))
    if decorate is not None:
        decorate(msg)
    entry = outbox.enqueue_mail(session, msg, dedupe_key=f"case:{case.id}:{dedupe}", now=now, case_id=case.id,
                                not_before=not_before, answers_recipient=reply)
    if entry is not None:
        cases.record(session, case, "mail_out", at=now, actor=desk.config.desk.address,
                     summary=f"{template} to {', '.join(to)}: {msg['Subject']}", message_id_out=str(msg["Message-ID"]))
    return entry


def language_for(desk, case: Case, recipient: str) -> str:
    """The customer reads the language they wrote in (kept on the case); staff and the team read the desk's."""
    if recipient in desk.staff or (case.account and recipient in account_team_addresses(case.account)):
        return DEFAULT_LANGUAGE
    return (case.details or {}).get("language", DEFAULT_LANGUAGE)


def latest_mail_from(session: Session, case: Case, sender: str) -> Thread | None:
    """`sender`'s latest mail on the case: what any mail of ours to them answers, so it sits in their thread."""
    raw = session.scalar(select(InboundMessage.raw).join(CaseEvent, CaseEvent.message_id == InboundMessage.id)
                         .where(CaseEvent.case_id == case.id, CaseEvent.actor == sender)
                         .order_by(CaseEvent.id.desc()).limit(1))
    if raw is None:
        return None
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    message_id = parse_message_id(headers["Message-ID"])
    if not message_id:
        return None
    return Thread(message_id, parent_chain(parse_ids(headers["References"]), parse_ids(headers["In-Reply-To"])))


def _over_cap(desk, session: Session, recipient: str, now: datetime) -> bool:
    return outbox.automatic_mails_since(session, recipient, now - timedelta(days=1)) >= _cap(desk, recipient)


def _cap(desk, recipient: str) -> int:
    """Staff command all day long and get a results mail each time: theirs is a larger cap."""
    limits = desk.config.desk
    if recipient in desk.staff:
        return limits.max_automatic_mails_per_staff_per_day
    return limits.max_automatic_mails_per_recipient_per_day


def case_context(desk, case: Case, event: DomainEvent | None = None) -> dict[str, Any]:
    """The values every case template may use."""
    account = case.account
    zone = account.timezone if account else desk.config.desk.timezone
    received = event.data.get("received_at") if event else None
    received_at = datetime.fromisoformat(received) if received else case.opened_at
    contact_name = _contact_name(case)
    return {
        "desk": desk.config.desk,
        "case": case,
        "kind_label": KIND_LABELS.get(case.kind, case.kind),
        "account_name": account.name if account else case.requester,
        "customer_name": contact_name or (account.name if account else "customer"),
        "received": received_at,
        "received_at": format_local(received_at, zone),
        "zone": zone,
        "services": list(case.requested_services or []),
        "kept_services": ((case.details or {}).get("scope") or {}).get("kept", []),
        "unmatched_services": ((case.details or {}).get("scope") or {}).get("unmatched", []),
        "requested_final_day": case.requested_final_day.isoformat() if case.requested_final_day else "",
        "account_manager": account.account_manager if account else "",
        "team_lead": account.team_lead if account else "",
        "excerpt": (event.data.get("excerpt", "") if event else "").strip() or "(no text)",
        "contract": contract.template_values(desk, case),
        "pause_reminder_days": desk.config.timers.pause_resume_reminder_days,
    }


def format_local(moment: datetime, zone: str) -> str:
    """'Sunday 22 November 2026, 09:15 CET (UTC+01:00)': unambiguous for the reader."""
    local = moment.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    return f"{local.strftime('%A')} {local.day} {local.strftime('%B %Y, %H:%M %Z')} (UTC{offset[:3]}:{offset[3:]})"


def _contact_name(case: Case) -> str:
    if not case.account:
        return ""
    for contact in case.account.contacts:
        if contact.email == bare(case.requester):
            return contact.name
    return ""

"""Act: what each classification decision does, inside the mail's one transaction.

Each action records the mail on the case's timeline and moves the case through
`workflow.advance()`; the mail and sheet rows it causes come from effects subscribed to
the resulting events, and land in the outbox in this same transaction.
"""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import cases, timers_letters
from daemon.classify import Decision, Mail
from daemon.models import Contact, OutboxEntry
from daemon.workflow import Trigger
from parsers.dates import extract_dates
from parsers.intent import extract_services
from parsers.robots import bounce_info

log = logging.getLogger(__name__)


def record(desk, session: Session, mail: Mail, decision: Decision) -> None:
    """Robots and our own mail: kept on the case they belong to, never answered."""
    if mail.case is not None:
        cases.attach_message(session, mail.case, mail.inbound, desk.clock.now(), actor=mail.sender,
                             kind=decision.label, summary=f"{decision.reason}: {mail.parsed.subject}")


def bounce(desk, session: Session, mail: Mail, decision: Decision) -> None:
    """A bounce marks the failed address as bouncing and our sent mail as not delivered."""
    info = bounce_info(mail.parsed, mail.inbound.raw)
    if info is not None:
        _mark_bouncing(session, info.failed_recipients)
        original = session.scalar(select(OutboxEntry).where(OutboxEntry.message_id == info.original_message_id)) \
            if info.original_message_id else None
        if original is not None:
            original.last_error = f"bounced: {', '.join(info.failed_recipients)} {info.status}".strip()
            mail.case = mail.case or (session.get(cases.Case, original.case_id) if original.case_id else None)
    record(desk, session, mail, decision)


def add_to_case(desk, session: Session, mail: Mail, decision: Decision) -> None:
    cases.attach_message(session, mail.case, mail.inbound, desk.clock.now(), actor=mail.sender,
                         summary=mail.parsed.subject)
    timers_letters.on_customer_reply(desk, session, mail)  # "stop" ends win-back letters (6)


def open_case(desk, session: Session, mail: Mail, decision: Decision) -> None:
    account = mail.contact.account
    existing = cases.open_case_for(session, account.id, mail.sender)
    if existing is not None:
        mail.case = existing
        add_to_case(desk, session, mail, decision)
        return
    mail.case = _open(desk, session, mail, Trigger.OPENED, account)


def open_unverified(desk, session: Session, mail: Mail, decision: Decision) -> None:
    existing = cases.open_case_for(session, None, mail.sender)
    if existing is not None:
        mail.case = existing
        add_to_case(desk, session, mail, decision)
        return
    mail.case = _open(desk, session, mail, Trigger.OPENED_UNVERIFIED, None)


def staff(desk, session: Session, mail: Mail, decision: Decision) -> None:
    """Staff mail: commands when there are any (see daemon.commands), else a note on the case."""
    handler = desk.extras.get("staff_mail")
    if handler is not None:
        handler(desk, session, mail)
    elif mail.case is not None:
        add_to_case(desk, session, mail, decision)


def refuse_commands(desk, session: Session, mail: Mail, decision: Decision) -> None:
    """Customers never run commands: they are told so (daemon.staffmail), nothing changes."""
    desk.extras["outsider_commands"](desk, session, mail)


def at_risk(desk, session: Session, mail: Mail, decision: Decision) -> None:
    from daemon.effects import notify_team_at_risk

    notify_team_at_risk(desk, session, mail)


def label(desk, session: Session, mail: Mail, decision: Decision) -> None:
    """Nothing to do: the label on the stored message tells a person to look."""


def _open(desk, session: Session, mail: Mail, trigger: Trigger, account):
    text = mail.parsed.new_text or mail.parsed.text
    services = extract_services(text, desk.config.intent.services)
    dates = extract_dates(text, desk.clock.now().date())
    log.info("%s: opening a %s case for %s", mail.parsed.message_id, mail.intent.kind, mail.sender)
    return cases.open_case(
        desk, session, kind=mail.intent.kind, requester=mail.sender, account=account, trigger=trigger,
        inbound=mail.inbound, actor=mail.sender, summary=mail.parsed.subject, services=services,
        final_day=max(dates) if dates else None,
        answering=mail.parsed.message_id, answering_references=list(mail.parsed.references),
        received_at=mail.inbound.received_at.isoformat(), excerpt=text[:2000],
        intent_matched=list(mail.intent.matched),
    )


def _mark_bouncing(session: Session, addresses) -> None:
    for address in addresses:
        contact = session.scalar(select(Contact).where(Contact.email == address.lower()))
        if contact is not None:
            contact.bouncing = True


ACTIONS = {
    "record": record,
    "bounce": bounce,
    "staff": staff,
    "refuse_commands": refuse_commands,
    "add_to_case": add_to_case,
    "open_case": open_case,
    "open_unverified": open_unverified,
    "at_risk": at_risk,
    "label": label,
}

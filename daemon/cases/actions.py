"""Act: what each classification decision does, inside the mail's one transaction.

Each action records the mail on the case's timeline and moves the case through
`workflow.advance()`; the mail and sheet rows it causes come from effects subscribed to
the resulting events, and land in the outbox in this same transaction.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases import effects, joining, opening
from daemon.cases.effects import case_context, notify_team
from daemon.cases.workflow import State, Trigger
from daemon.models import Case, Contact, OutboxEntry
from daemon.playbook import calls
from daemon.reading.classify import Decision, Mail, case_in_progress
from daemon.timers import letters
from parsers.robots import bounce_info

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)


def record(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """Robots and our own mail: kept on the case they belong to, never answered."""
    keep = desk.config.intake.robots_are_recorded or not decision.label.startswith("robot:")
    if mail.case is not None and keep:
        cases.attach_message(
            session,
            mail.case,
            mail.inbound,
            desk.clock.now(),
            actor=mail.sender,
            kind=decision.label,
            summary=f"{decision.reason}: {mail.parsed.subject}",
        )


def bounce(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """A bounce marks the failed address as bouncing and our sent mail as not delivered."""
    info = bounce_info(mail.parsed, mail.inbound.raw)
    if info is not None:
        _mark_bouncing(session, info.failed_recipients)
        original = (
            session.scalar(select(OutboxEntry).where(OutboxEntry.message_id == info.original_message_id))
            if info.original_message_id
            else None
        )
        if original is not None:
            original.last_error = f"bounced: {', '.join(info.failed_recipients)} {info.status}".strip()
            mail.case = (session.get(Case, original.case_id) if original.case_id else None) or mail.case
        mail.notes.append(
            f"failed: {', '.join(info.failed_recipients) or 'unknown'}; "
            f"{'our mail ' + original.message_id if original else 'not a mail of ours'}"
        )
    record(desk, session, mail, decision)


def add_to_case(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    cases.attach_mail(desk, session, mail.case, mail)
    calls.record_calendar_reply(desk, session, mail.case, mail.parsed)  # accept/decline of the save call (4b)
    letters.on_customer_reply(desk, session, mail)  # "stop" ends win-back letters (6)


def customer_withdraws(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """Kept on the case, and the team asked to confirm with #withdrawn: a sentence read by
    a machine is not enough to stop a cancellation, nor to undo one."""

    add_to_case(desk, session, mail, decision)
    context = {
        **case_context(desk, mail.case),
        "excerpt": (mail.parsed.new_text or mail.parsed.text)[:2000],
        "matched": ", ".join(mail.intent.matched),
    }
    notify_team(desk, session, mail.case, "customer_withdrawal_notice", context, dedupe=f"withdraw:{mail.inbound.id}")


def open_case(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    _open_or_join(desk, session, mail, decision, Trigger.OPENED, mail.contact.account)


def open_unverified(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    _open_or_join(desk, session, mail, decision, Trigger.OPENED_UNVERIFIED, None)
    if mail.case.state == State.AWAITING_IDENTITY and mail.case.claimed_account is None:
        opening.record_claim(desk, session, mail.case, mail)


def deny_identity(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    opening.deny_identity(desk, session, mail)


def _open_or_join(desk: Desk, session: Session, mail: Mail, decision: Decision, trigger: Trigger, account) -> None:
    """A request joins the case already in progress for the account (or the unknown sender).

    A contact on file is answered and the team told what the request adds; a sender not
    on file, already asked to confirm from an address on file, is not answered again.
    """
    existing = case_in_progress(session, mail)
    if existing is not None:
        mail.case = existing
        add_to_case(desk, session, mail, decision)
        if account is not None:
            joining.join(desk, session, existing, mail)
        return
    mail.case = opening.open_from_mail(desk, session, mail, trigger, account)


def staff(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """Staff mail: commands when there are any (see daemon.commands), else a note on the case."""
    handler = desk.staff_mail
    if handler is not None:
        handler(desk, session, mail)
    elif mail.case is not None:
        add_to_case(desk, session, mail, decision)


def refuse_commands(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """Customers never run commands: they are told so (daemon.commands.staffmail), nothing changes."""
    assert desk.outsider_commands is not None, "the desk is built with its commands stage"
    desk.outsider_commands(desk, session, mail)


def at_risk(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    effects.notify_team_at_risk(desk, session, mail)


def ask_to_confirm(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """A question about leaving: asked back whether it is a request, the team told (`opening.open_question`)."""
    mail.case = opening.open_question(desk, session, mail)


def written_request(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """The customer's reply to a case that waited for the request in writing."""
    opening.receive_written_request(desk, session, mail)


def written_unverified(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """The request in writing, but from an address not on file: the case now waits for identity."""
    opening.receive_unverified_written_request(desk, session, mail)


def verify(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """A contact on file confirms a request that came from an address not on file."""
    cases.attach_mail(desk, session, mail.case, mail)
    opening.verify_case(desk, session, mail.case, actor=mail.sender, mail=mail)


def reopen(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    opening.reopen(desk, session, mail)


def follow_up_case(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    mail.case = opening.open_follow_up(desk, session, mail)


def label(desk: Desk, session: Session, mail: Mail, decision: Decision) -> None:
    """Nothing to do: the label on the stored message tells a person to look."""


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
    "customer_withdraws": customer_withdraws,
    "open_case": open_case,
    "open_unverified": open_unverified,
    "at_risk": at_risk,
    "ask_to_confirm": ask_to_confirm,
    "written_request": written_request,
    "written_unverified": written_unverified,
    "verify": verify,
    "deny_identity": deny_identity,
    "reopen": reopen,
    "follow_up_case": follow_up_case,
    "label": label,
}

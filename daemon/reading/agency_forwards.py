"""A request forwarded by the agency itself: staff, reception, the voicemail system, shared inboxes.

The forwarder is never the customer. The customer is found from what was forwarded: the
original sender when on file, else the names, addresses, company names and account
numbers in the forwarded text and the forwarder's note (`daemon.reading.account_claims`). Found,
the case opens on that account and waits for the request in writing, which the customer
is asked for (`requests.open_verbal_case`); not found, the forwarder gets one mail asking
which account, and `#account ACC-ID` in a reply to it opens the case (`settle`).
Reached from staff mail (`daemon.commands.staffmail`) after the sender was authenticated.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.cases.opening import open_verbal_case, own_domains
from daemon.commands.base import Refused
from daemon.directory import bare, contact_for
from daemon.mail import mailer
from daemon.mail.compose import Thread
from daemon.models import Account, Case, Contact, InboundMessage, OutboxEntry
from daemon.reading import account_claims
from parsers.message import parse_message

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)
QUESTION = "which-account"  # the dedupe key of our question names the forward it is about


def open_forwarded(desk: Desk, session: Session, mail) -> Case | None:
    """The case for the forwarded request in `mail`, or None when the forwarder was asked which account."""

    customer = customer_of(desk, session, mail.parsed)
    if customer is None:
        _ask_which_account(desk, session, mail)
        return None
    return open_verbal_case(
        desk, session, customer=customer.email, staff_address=mail.sender, inbound=mail.inbound, note=_note(mail)
    )


def customer_of(desk: Desk, session: Session, parsed, account: Account | None = None) -> Contact | None:
    """The contact on file the forwarded request comes from (of `account`, when staff named it)."""
    for original in parsed.forwarded:
        address = bare(original.from_.addr) if original.from_ and original.from_.addr else ""
        contact = contact_for(session, address) if address else None
        if contact is not None and account in (None, contact.account):
            return contact
    text = "\n".join([parsed.new_text or "", parsed.subject, *(f.text for f in parsed.forwarded)])
    sender, name = _original_sender(desk, parsed)

    claim = account_claims.claimed_account(
        session, address=sender, name=name, text=text, ignore_domains=own_domains(desk)
    )
    if account is not None:
        return claim.contact if claim and claim.account == account and claim.contact else _first_contact(account)
    if claim is None:
        return None
    return claim.contact or _first_contact(claim.account)


def _original_sender(desk: Desk, parsed) -> tuple[str, str]:
    """The forwarded original's sender, unless it is one of us (a call note, a voicemail)."""
    for original in parsed.forwarded:
        if original.from_ and original.from_.addr and bare(original.from_.addr) not in desk.staff:
            return bare(original.from_.addr), original.from_.name
    return "", ""


def _first_contact(account: Account) -> Contact | None:
    return min(account.contacts, key=lambda c: c.id) if account.contacts else None


def _note(mail) -> str:
    return (mail.parsed.new_text or "").strip() or f"forwarded by {mail.sender}"


def _ask_which_account(desk: Desk, session: Session, mail) -> None:
    context = {
        "desk": desk.config.desk,
        "subject": mail.parsed.subject or "(no subject)",
        "excerpt": "\n\n".join(f.text for f in mail.parsed.forwarded)[:2000] or "(no text)",
    }
    log.info(
        "%s: forwarded by %s, no customer on file found: asking which account", mail.parsed.message_id, mail.sender
    )
    mailer.send_without_case(
        desk,
        session,
        "which_account",
        mail.sender,
        context,
        dedupe=f"{QUESTION}:{mail.inbound.id}",
        answering=Thread.of(mail.parsed),
    )


def pending_forward(session: Session, parsed) -> InboundMessage | None:
    """The forward our question (which `parsed` answers) was about, by the question's Message-ID."""
    ids = [i for i in (*parsed.in_reply_to, *reversed(parsed.references)) if i]
    if not ids:
        return None
    keys = session.scalars(select(OutboxEntry.dedupe_key).where(OutboxEntry.message_id.in_(ids)))
    for key in keys:
        if key.startswith(f"mail:{QUESTION}:"):
            return session.get(InboundMessage, int(key.rsplit(":", 1)[1]))
    return None


def settle(desk: Desk, session: Session, forward: InboundMessage, account: Account, staff_address: str) -> Case:
    """`#account`: the forward's case opens on `account`, asking its contact for the request in writing."""

    if forward.case_id is not None:
        raise Refused(f"that forward is already on {session.get(Case, forward.case_id).reference}")
    parsed = parse_message(forward.raw)
    customer = customer_of(desk, session, parsed, account)
    if customer is None:
        raise Refused(f"{account.key} has no contact on file to ask for the request in writing")
    note = (parsed.new_text or "").strip() or f"forwarded by {staff_address}"
    return open_verbal_case(
        desk, session, customer=customer.email, staff_address=staff_address, inbound=forward, note=note
    )

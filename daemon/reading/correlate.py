"""Ties a mail to its case: by our Message-IDs, then the reply token, then the subject.

The order matters for safety. The unguessable token in our Reply-To address proves the
sender saw our mail. A Message-ID is not a secret (everyone in the thread, and anyone they
forward it to, has the customer's), and a case reference in the subject is easy to guess:
both count only when the sender already belongs to that case (or, for a case waiting for
identity, is a contact come to confirm it); otherwise the mail is judged as a new one.

It also says who counts as verified for a written request (`verified_writer`), and which
cases still waiting for identity look like a customer who has since written from an
address on file (`unverified_lookalikes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from daemon.cases.workflow import State
from daemon.directory import bare, contact_for
from daemon.models import Account, Case, Contact, InboundMessage, OutboxEntry
from parsers.message import ParsedMessage
from parsers.references import find_case_references, token_from_address

if TYPE_CHECKING:
    from daemon.desk import Desk

AWAITING_IDENTITY = State.AWAITING_IDENTITY


@dataclass(frozen=True)
class Found:
    case: Case
    how: str  # plain words for the label reason: which proof tied the mail to the case


def find_case(session: Session, desk: Desk, parsed: ParsedMessage, sender: str) -> Case | None:
    found = explain(session, desk, parsed, sender)
    return found.case if found else None


def explain(session: Session, desk: Desk, parsed: ParsedMessage, sender: str) -> Found | None:
    """The case `parsed` belongs to and how we know, trying the strongest proof first."""
    for how, finder in (
        ("our Message-ID in its In-Reply-To/References", _by_message_ids),
        ("the case token in the address it was sent to", _by_token),
        ("the case reference in its subject", _by_subject),
    ):
        case = finder(session, desk, parsed, sender)
        if case is not None:
            return Found(case, how)
    return None


def _member(session: Session, desk: Desk, case: Case, sender: str) -> bool:
    """Who may join `case` by citing its thread: its people, a contact come to confirm, or the desk itself."""
    own = desk.config.desk
    token = token_from_address(sender, own.local_part, own.domain) if sender else None
    return (
        sender_belongs(session, desk, case, sender)
        or may_confirm(session, case, sender)
        or sender == own.address.lower()
        or (bool(token) and token.lower() == case.token)
    )


def case_of_our_message(session: Session, message_id: str) -> Case | None:
    """The case of a mail we sent ourselves, by its Message-ID (a copy coming back)."""
    if not message_id:
        return None
    case_id = session.scalar(
        select(OutboxEntry.case_id)
        .where(OutboxEntry.message_id == message_id, OutboxEntry.case_id.is_not(None))
        .limit(1)
    )
    return session.get(Case, case_id) if case_id else None


def is_our_message(session: Session, message_id: str) -> bool:
    # The outbox is written by plain statements (outbox.enqueue): read the same way.
    return bool(message_id) and session.connection().scalar(_OURS, {"message_id": message_id}) is not None


# Built once, as the other look-ups every mail makes: building costs about as much as running.
_OURS = select(OutboxEntry.id).where(OutboxEntry.message_id == bindparam("message_id")).limit(1)


def _by_message_ids(session: Session, desk: Desk, parsed: ParsedMessage, sender: str) -> Case | None:
    # The parent first, then References newest first: a thread that moved from a closed
    # case to its follow-up must land on the follow-up.
    ids = list(dict.fromkeys(i for i in (*parsed.in_reply_to, *reversed(parsed.references)) if i))
    if not ids:
        return None
    owners = dict(
        session.execute(
            select(OutboxEntry.message_id, OutboxEntry.case_id).where(
                OutboxEntry.message_id.in_(ids), OutboxEntry.case_id.is_not(None)
            )
        ).all()
    )
    owners.update(
        {
            key: case_id
            for key, case_id in session.execute(
                select(InboundMessage.message_key, InboundMessage.case_id).where(
                    InboundMessage.message_key.in_(ids), InboundMessage.case_id.is_not(None)
                )
            ).all()
            if key not in owners
        }
    )
    for message_id in ids:
        if message_id in owners:
            case = session.get(Case, owners[message_id])
            return case if _member(session, desk, case, sender) else None
    return None


def _by_token(session: Session, desk: Desk, parsed: ParsedMessage, sender: str) -> Case | None:
    local, domain = desk.config.desk.local_part, desk.config.desk.domain
    for address in (*parsed.to, *parsed.cc):
        token = token_from_address(address.addr, local, domain)
        if token:
            case = session.scalar(select(Case).where(Case.token == token.lower()))
            if case:
                return case
    return None


def _by_subject(session: Session, desk: Desk, parsed: ParsedMessage, sender: str) -> Case | None:
    for reference in find_case_references(parsed.subject, desk.config.desk.reference_prefix):
        case = session.scalar(select(Case).where(Case.reference == reference))
        if case and _member(session, desk, case, sender):
            return case
    return None


def sender_belongs(session: Session, desk: Desk, case: Case, sender: str) -> bool:
    """The requester, a contact of the case's account, or staff."""
    sender = bare(sender)
    if not sender:
        return False
    if sender == bare(case.requester) or sender in desk.staff:
        return True
    if case.account_id is None:
        return False
    return (
        session.scalar(select(Contact.id).where(Contact.account_id == case.account_id, Contact.email == sender))
        is not None
    )


def may_confirm(session: Session, case: Case, sender: str) -> bool:
    """A contact on file citing a case that waits for identity: the confirmation we asked for.

    Such a case has no account yet, so nobody but its requester "belongs" to it. When it
    claims an account, only a contact of that account may answer for it; with no claim, a
    contact on file can only attach it to their own account, which they may cancel anyway.
    """
    if case.state != AWAITING_IDENTITY:
        return False
    contact = contact_for(session, sender) if sender else None
    if contact is None or case.account_id not in (None, contact.account_id):
        return False
    claimed = case.claimed_account
    return not claimed or contact.account.key.lower() == claimed.lower()


def verified_writer(session: Session, case: Case, sender: str) -> Contact | None:
    """The contact on file writing for `case`: of its account, or of any account when it has none yet.

    None means the written request comes from an address not on file, which the identity
    rule does not let count until someone on file (or staff) confirms it.
    """
    contact = contact_for(session, sender) if sender else None
    if contact is None or case.account_id not in (None, contact.account_id):
        return None
    return contact


@dataclass(frozen=True)
class Lookalike:
    case: Case
    why: str  # plain words for the team: what makes it look like the same customer


def unverified_lookalikes(session: Session, account: Account) -> list[Lookalike]:
    """Cases waiting for identity whose requester looks like one of `account`'s contacts.

    A resemblance is only a hint for staff (a shared webmail domain, a common name), so it
    is never acted on here: the caller tells the team, who withdraw or verify.
    """
    # Cases waiting since an earlier mail: what this transaction has not written yet (the
    # new case's timeline, its mail) need not be written first; a case it has just moved
    # out of waiting (verified) is still waiting in the table, and is passed over below.
    with session.no_autoflush:
        waiting = session.scalars(_WAITING_FOR_IDENTITY, {"account_id": account.id}).all()
    found = []
    for case in waiting:
        if case.state != AWAITING_IDENTITY:
            continue
        why = _resemblance(case, account)
        if why:
            found.append(Lookalike(case, why))
    return found


_WAITING_FOR_IDENTITY = (
    select(Case)
    .where(Case.state == AWAITING_IDENTITY, Case.account_id.is_(None) | (Case.account_id == bindparam("account_id")))
    .order_by(Case.id)
)


def _resemblance(case: Case, account: Account) -> str:
    """Why `case`'s requester may be one of the account's contacts, or "" when nothing says so."""
    requester = bare(case.requester)
    domain = requester.rpartition("@")[2]
    names = _words(f"{(case.details or {}).get('requester_name', '')} {requester.rpartition('@')[0]}")
    for contact in account.contacts:
        if domain and contact.email.rpartition("@")[2] == domain:
            return f"{requester} writes from {domain}, like {contact.email} on file"
        wanted = _words(contact.name)
        if wanted and wanted <= names:
            return f"{requester} bears the name of {contact.name} <{contact.email}> on file"
    return ""


def _words(text: str) -> set[str]:
    """Name words of two letters or more, lower-cased: 'Doe, Jane' and jane.doe both give {jane, doe}."""
    return set(re.findall(r"[^\W\d_]{2,}", text.lower()))

"""Ties a mail to its case: by our Message-IDs, then the reply token, then the subject.

The order matters for safety. Message-IDs we minted and the unguessable token in our
Reply-To address prove the sender saw our mail. A case reference in the subject is easy
to guess, so it only counts when the sender already belongs to that case.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.directory import bare
from daemon.models import Case, Contact, InboundMessage, OutboxEntry
from parsers.message import ParsedMessage
from parsers.references import find_case_references, token_from_address


def find_case(session: Session, desk, parsed: ParsedMessage, sender: str) -> Case | None:
    return (
        _by_message_ids(session, parsed)
        or _by_token(session, desk, parsed)
        or _by_subject(session, desk, parsed, sender)
    )


def _by_message_ids(session: Session, parsed: ParsedMessage) -> Case | None:
    ids = [i for i in (*parsed.in_reply_to, *reversed(parsed.references)) if i]
    if not ids:
        return None
    case_id = session.scalar(select(OutboxEntry.case_id).where(
        OutboxEntry.message_id.in_(ids), OutboxEntry.case_id.is_not(None)).limit(1))
    if case_id is None:
        case_id = session.scalar(select(InboundMessage.case_id).where(
            InboundMessage.message_key.in_(ids), InboundMessage.case_id.is_not(None)).limit(1))
    return session.get(Case, case_id) if case_id else None


def _by_token(session: Session, desk, parsed: ParsedMessage) -> Case | None:
    local = desk.config.desk.local_part
    for address in (*parsed.to, *parsed.cc):
        token = token_from_address(address.addr, local)
        if token:
            case = session.scalar(select(Case).where(Case.token == token.lower()))
            if case:
                return case
    return None


def _by_subject(session: Session, desk, parsed: ParsedMessage, sender: str) -> Case | None:
    for reference in find_case_references(parsed.subject, desk.config.desk.reference_prefix):
        case = session.scalar(select(Case).where(Case.reference == reference))
        if case and sender_belongs(session, desk, case, sender):
            return case
    return None


def sender_belongs(session: Session, desk, case: Case, sender: str) -> bool:
    """The requester, a contact of the case's account, or staff."""
    sender = bare(sender)
    if not sender:
        return False
    if sender == bare(case.requester) or sender in desk.staff:
        return True
    if case.account_id is None:
        return False
    return session.scalar(select(Contact.id).where(
        Contact.account_id == case.account_id, Contact.email == sender)) is not None

"""Builds outgoing messages: addressing, threading and the headers that stop mail loops.

Every message canceldesk sends has its own Message-ID on our domain, `In-Reply-To` and
`References` when it answers a mail, the case reference in the subject, a Reply-To that
leads back to the case (`cancel+TOKEN@domain`), and `Auto-Submitted` (RFC 3834) with
`X-Auto-Response-Suppress: All`, so that other robots do not answer us.
"""
from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from daemon.config import DeskConfig
from daemon.rendering import RenderedMail
from parsers.references import make_reply_address

CASE_HEADER = "X-Canceldesk-Case"


def compose(desk: DeskConfig, rendered: RenderedMail, to: list[str], *, now: datetime,
            case_reference: str = "", case_token: str = "", answering: "Thread | None" = None,
            auto: str = "auto-generated", cc: list[str] | None = None) -> EmailMessage:
    """One complete message, ready for the outbox."""
    msg = EmailMessage()
    msg["From"] = Address(desk.name, addr_spec=desk.address)
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = _subject(rendered.subject, case_reference)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(idstring="cd", domain=desk.domain)
    if case_token:
        msg["Reply-To"] = make_reply_address(desk.local_part, desk.domain, case_token)
    if answering:
        _thread(msg, answering)
    msg["Auto-Submitted"] = auto
    msg["X-Auto-Response-Suppress"] = "All"
    if case_reference:
        msg[CASE_HEADER] = case_reference
    msg.set_content(rendered.text)
    if rendered.html:
        msg.add_alternative(rendered.html, subtype="html")
    return msg


class Thread:
    """What a reply needs to know about the mail it answers."""

    def __init__(self, message_id: str, references: tuple[str, ...] = ()) -> None:
        self.message_id = message_id
        self.references = references


def _thread(msg: EmailMessage, answering: Thread) -> None:
    if not answering.message_id:
        return
    msg["In-Reply-To"] = answering.message_id
    # RFC 5322 3.6.4: the parent's References followed by the parent's own Message-ID.
    chain = [ref for ref in answering.references if ref != answering.message_id][-20:]
    msg["References"] = " ".join([*chain, answering.message_id])


def _subject(subject: str, reference: str) -> str:
    if not reference or reference in subject:
        return subject
    return f"{subject} [{reference}]"

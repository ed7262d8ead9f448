"""Helpers for the pipeline tests: client-written fixtures re-addressed, the whole pipeline run, what went out.

The .eml fixtures under tests/fixtures/mail are kept byte for byte as the clients wrote
them; only the header lines a scenario needs (From, To, threading) are rewritten, so a
Gmail or Outlook mail can come from a contact on file and answer one of our mails.
"""
from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from sqlalchemy import select

from daemon.app import make_source
from daemon.db import transaction
from daemon.models import Case, CaseEvent, InboundMessage, OutboxEntry
from daemon.intake.watcher import Watcher
from integrations.maildir import deliver

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
JANE = "jane@acme.example"
TEAM = {"tom@agency.example", "amy@agency.example", "sam@agency.example", "pia@agency.example",
        "sol@agency.example", "cora@agency.example"}


def fixture(name: str, **headers: str | None) -> bytes:
    """tests/fixtures/mail/NAME.eml with the given headers replaced (None removes one).

    Keyword names use underscores for dashes (In_Reply_To). A fresh Message-ID is given
    unless one is asked for, so a fixture can be sent more than once.
    """
    raw = (FIXTURES / f"{name}.eml").read_bytes()
    headers.setdefault("Message_ID", make_msgid(domain="client.example"))
    return rewrite(raw, **headers)


def rewrite(raw: bytes, **headers: str | None) -> bytes:
    newline = b"\r\n" if b"\r\n" in raw.split(b"\n\n", 1)[0] + b"\n" else b"\n"
    head, sep, body = raw.partition(newline * 2)
    lines = _unfolded(head.split(newline))
    wanted = {name.replace("_", "-").lower(): (name.replace("_", "-"), value) for name, value in headers.items()}
    kept = [line for line in lines if _name(line) not in wanted]
    added = [f"{name}: {value}".encode("utf-8") for name, value in wanted.values() if value is not None]
    return newline.join(kept + added) + sep + body


def _unfolded(lines: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = out[-1] + b" " + line.strip()
        else:
            out.append(line)
    return out


def _name(line: bytes) -> str:
    match = re.match(rb"([!-9;-~]+):", line)
    return match.group(1).decode("ascii").lower() if match else ""


def run(desk, *raws: bytes) -> None:
    """Deliver into the desk's Maildir and run one sweep: intake, processing, delivery."""
    for raw in raws:
        deliver(desk.config.path("inbox"), raw)
    Watcher(desk, make_source(desk.config)).run_once()


def sent(desk) -> list[EmailMessage]:
    folder = desk.config.path("outbox")
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def sent_to(desk, address: str) -> list[EmailMessage]:
    return [m for m in sent(desk) if address in {a.addr_spec.lower() for a in m["To"].addresses}]


def readers(mails: list[EmailMessage]) -> set[str]:
    """Everyone the mails are addressed to (a team mail names the whole team)."""
    return {a.addr_spec.lower() for m in mails for a in m["To"].addresses}


def mails_of(desk, template: str) -> list[EmailMessage]:
    """The mails sent from `template`, found by the Message-ID the case timeline recorded."""
    with transaction(desk.factory) as session:
        ids = {e.data["message_id_out"] for e in session.scalars(select(CaseEvent).where(
            CaseEvent.kind == "mail_out", CaseEvent.summary.startswith(f"{template} to ")))}
    return [m for m in sent(desk) if m["Message-ID"] in ids]


def text_of(msg: EmailMessage) -> str:
    return " ".join(msg.get_body(("plain",)).get_content().split())


def cases(desk) -> list[Case]:
    with transaction(desk.factory) as session:
        found = list(session.scalars(select(Case).order_by(Case.id)))
        for case in found:
            _ = case.events, case.account
        session.expunge_all()
    return found


def stored(desk) -> list[InboundMessage]:
    with transaction(desk.factory) as session:
        rows = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        session.expunge_all()
    return rows


def events(desk, case_id: int) -> list[CaseEvent]:
    with transaction(desk.factory) as session:
        rows = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))
        session.expunge_all()
    return rows


def outbox_entry(desk, message_id: str) -> OutboxEntry:
    with transaction(desk.factory) as session:
        entry = session.scalars(select(OutboxEntry).where(OutboxEntry.message_id == message_id)).one()
        session.expunge(entry)
    return entry


def open_request(desk) -> tuple[Case, EmailMessage]:
    """Jane (on file for ACME) asks in a Gmail mail ("cancel SEO and PPC at the end of March");
    returns her case and our acknowledgment."""
    run(desk, fixture("gmail_reply_above_quote", From=f"Jane Doe <{JANE}>", To="cancel@agency.example",
                      Subject="Cancelling", In_Reply_To=None, References=None))
    case = cases(desk)[-1]
    return case, next(m for m in mails_of(desk, "acknowledgment") if case.reference in m["Subject"])

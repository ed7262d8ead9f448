"""The one way the desk sends mail: render, cap, compose, enqueue, and note it on the case.

Every mail the desk writes (acknowledgments, notices, results, letters, answers to mail
that belongs to no case) goes through `post`, so the per-recipient daily cap, the
auto-reply headers and the timeline line are the same for all of them. Mail only enters
the outbox here: delivery happens after the transaction commits (daemon.mail.outbox).

The front doors differ only in what they know: `send` is a case's mail to one party
(in the recipient's language, in their latest thread on the case), `letter` is a
timer's (with copies and headers of its own), `send_without_case` answers a stray mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases.workflow import unwritten_lines
from daemon.desk import Desk
from daemon.directory import account_team_addresses, bare
from daemon.mail import outbox
from daemon.mail.compose import Thread, compose, header_text, parent_chain
from daemon.models import Case, CaseEvent, InboundMessage, Timer
from parsers.headers import parse_ids, parse_message_id
from parsers.language import DEFAULT as DEFAULT_LANGUAGE

log = logging.getLogger(__name__)


def send(
    desk: Desk,
    session: Session,
    case: Case,
    template: str,
    to: list[str],
    context: dict[str, Any],
    *,
    dedupe: str,
    answering: Thread | None = None,
    reply: bool = False,
    not_before: datetime | None = None,
    auto: str | None = None,
    decorate: Callable[[EmailMessage], None] | None = None,
) -> int | None:
    """One mail of a case; to one customer, it answers their latest mail on it unless `answering` is given.

    `decorate` changes the composed message before it is queued (a calendar invite).

    `reply=True` marks mail caused by the recipient's own mail: it counts against the
    per-recipient daily cap, the last guard against two robots answering each other.
    """
    recipient = bare(to[0])
    if answering is None and len(to) == 1 and recipient not in desk.staff:
        answering = latest_mail_from(session, case, recipient)
    return post(
        desk,
        session,
        template,
        context,
        to,
        case=case,
        dedupe_key=f"case:{case.id}:{dedupe}",
        language=language_for(desk, case, recipient),
        answering=answering,
        reply=reply,
        auto=auto or ("auto-replied" if reply else "auto-generated"),
        not_before=not_before,
        decorate=decorate,
    )


def letter(
    desk: Desk,
    session: Session,
    case: Case,
    timer: Timer,
    template: str,
    to: list[str],
    context: dict[str, Any],
    *,
    cc: list[str] | None = None,
    key: str = "",
    headers: dict[str, str] | None = None,
) -> bool:
    """One timer mail; once per timer, template and key. True when it was queued now."""
    dedupe = f"case:{case.id}:timer:{timer.id}:{template}" + (f":{key}" if key else "")
    entry = post(
        desk,
        session,
        template,
        context,
        to,
        case=case,
        dedupe_key=dedupe,
        cc=cc,
        headers=headers,
        language=language_for(desk, case, bare(to[0])),
    )
    return entry is not None


def send_without_case(
    desk: Desk,
    session: Session,
    template: str,
    recipient: str,
    context: dict[str, Any],
    *,
    dedupe: str,
    answering: Thread | None = None,
    reply: bool = False,
    language: str = DEFAULT_LANGUAGE,
) -> None:
    """One mail that belongs to no case (an answer to a stray mail); the same cap as `send`."""
    post(
        desk,
        session,
        template,
        context,
        [recipient],
        dedupe_key=f"mail:{dedupe}",
        answering=answering,
        reply=reply,
        auto="auto-replied",
        language=language,
    )


def post(
    desk: Desk,
    session: Session,
    template: str,
    context: dict[str, Any],
    to: list[str],
    *,
    dedupe_key: str,
    case: Case | None = None,
    language: str = DEFAULT_LANGUAGE,
    answering: Thread | None = None,
    reply: bool = False,
    auto: str = "auto-generated",
    cc: list[str] | None = None,
    headers: dict[str, str] | None = None,
    not_before: datetime | None = None,
    decorate: Callable[[EmailMessage], None] | None = None,
) -> int | None:
    """Render, cap, compose and enqueue one mail; on a case, a line on its timeline.

    The outbox entry's id; None when it was not queued: over the recipient's cap, or already queued (`dedupe_key`).
    """
    now = desk.clock.now()
    recipient = bare(to[0])
    if reply and over_cap(desk, session, recipient, now):
        _suppressed(desk, session, case, template, recipient, now)
        return None
    msg = compose(
        desk.config.desk,
        desk.renderer.render(template, context, language),
        to,
        now=now,
        case_reference=case.reference if case else "",
        case_token=case.token if case else "",
        answering=answering,
        auto=auto,
        cc=[a for a in cc or [] if a not in to] or None,
    )
    for name, value in (headers or {}).items():
        msg[name] = value
    if decorate is not None:
        decorate(msg)
    entry = outbox.enqueue_mail(
        session,
        msg,
        dedupe_key=dedupe_key,
        now=now,
        case_id=case.id if case else None,
        not_before=not_before,
        answers_recipient=reply,
    )
    if entry is not None and case is not None:
        cases.record(
            session,
            case,
            "mail_out",
            at=now,
            actor=desk.config.desk.address,
            summary=f"{template} to {', '.join(to)}: {header_text(msg, 'Subject')}",
            message_id_out=header_text(msg, "Message-ID"),
        )
    return entry


def _suppressed(desk: Desk, session: Session, case: Case | None, template: str, recipient: str, now: datetime) -> None:
    if case is None:
        log.warning("%s to %s suppressed by the per-recipient cap", template, recipient)
        return
    cases.record(
        session,
        case,
        "mail_suppressed",
        at=now,
        summary=f"{template} to {recipient} not sent: daily limit of {cap(desk, recipient)} reached",
    )
    log.warning("%s: %s to %s suppressed by the per-recipient cap", case.reference, template, recipient)


def language_for(desk: Desk, case: Case, recipient: str) -> str:
    """The customer reads the language they wrote in (kept on the case), unless the account or
    staff (#language) say otherwise; staff and the team read the desk's."""
    if recipient in desk.staff or (case.account and recipient in account_team_addresses(case.account)):
        return desk.config.desk.language
    return customer_language(case)


def customer_language(case: Case) -> str:
    """Staff's `#language` on the case, else the account's language, else the request's own."""
    chosen = (case.details or {}).get("language_chosen")
    account = case.account.language if case.account is not None else None
    return chosen or account or case.language or DEFAULT_LANGUAGE


def latest_mail_from(session: Session, case: Case, sender: str) -> Thread | None:
    """`sender`'s latest mail on the case: what any mail of ours to them answers, so it sits in their thread."""
    # Usually the mail being processed, put on the timeline in this transaction.
    added = [line.message_id for line in unwritten_lines(session, case) if line.actor == sender and line.message_id]
    if added:
        inbound = session.get(InboundMessage, added[-1])
        raw = inbound.raw if inbound is not None else None
    else:
        with session.no_autoflush:
            raw = session.scalar(_LATEST_MAIL_FROM, {"case_id": case.id, "sender": sender})
    if raw is None:
        return None
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    message_id = parse_message_id(headers["Message-ID"])
    if not message_id:
        return None
    return Thread(message_id, parent_chain(parse_ids(headers["References"]), parse_ids(headers["In-Reply-To"])))


# Built once: most mails to a customer ask, and building a statement costs about as much as running it.
_LATEST_MAIL_FROM = (
    select(InboundMessage.raw)
    .join(CaseEvent, CaseEvent.message_id == InboundMessage.id)
    .where(CaseEvent.case_id == bindparam("case_id"), CaseEvent.actor == bindparam("sender"))
    .order_by(CaseEvent.id.desc())
    .limit(1)
)


def over_cap(desk: Desk, session: Session, recipient: str, now: datetime) -> bool:
    return outbox.automatic_mails_since(session, recipient, now - timedelta(days=1)) >= cap(desk, recipient)


def cap(desk: Desk, recipient: str) -> int:
    """Staff command all day long and get a results mail each time: theirs is a larger cap."""
    limits = desk.config.desk
    if recipient in desk.staff:
        return limits.max_automatic_mails_per_staff_per_day
    return limits.max_automatic_mails_per_recipient_per_day

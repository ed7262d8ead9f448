"""The mail timers send, and the customer's way to stop win-back letters.

Timer mail goes out through daemon.mail.mailer's `letter`, with copies (Cc) and extra headers
where it needs them. A win-back letter
carries `List-Unsubscribe: <mailto:cancel+TOKEN@domain?subject=stop>` (RFC 2369): that
mail, or any reply whose new text says "stop", lands on the case and ends the letters.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import cases, timers
from daemon.cases.workflow import State
from daemon.directory import bare
from daemon.mail import mailer
from daemon.models import Case, Contact, Timer
from daemon.reading.classify import _intent
from parsers.references import make_reply_address

if TYPE_CHECKING:
    from daemon.desk import Desk

WINBACK = ("winback",)


def winback_letter(desk: Desk, session: Session, case: Case, timer: Timer, context: dict) -> str:
    """Send letter number timer.seq + 1 with the offer that answers why they left; the offer."""
    reason = cases.reason_category(case)
    template = "winback_1" if timer.seq == 0 else "winback"
    # The offer in the language the letter's words are in: the customer's, where it is translated.
    language = desk.renderer.language_of(template, mailer.language_for(desk, case, bare(case.requester)))
    offer = desk.config.winback.offer_for(reason, language)
    context = {
        **context,
        "offer": offer,
        "reason": reason.replace("_", " "),
        "letter_number": timer.seq + 1,
        "closed_on": _closed_on(case),
    }
    mailer.letter(
        desk,
        session,
        case,
        timer,
        template,
        [case.requester],
        context,
        headers={"List-Unsubscribe": f"<{unsubscribe_address(desk, case)}>"},
    )
    return offer


def unsubscribe_address(desk: Desk, case: Case) -> str:
    address = make_reply_address(desk.config.desk.local_part, desk.config.desk.domain, case.token)
    return f"mailto:{address}?subject={quote('stop')}&body={quote('stop')}"


def on_customer_reply(desk: Desk, session: Session, mail) -> bool:
    """Called for each reply filed on a case: a plain "stop" ends its win-back letters."""
    if mail.case is None or bare(mail.sender) in desk.staff:
        return False

    # Classification has usually read this mail's intent already (always for a finished case).
    intent = mail.intent or _intent(desk, mail)
    return intent.kind == "stop" and stop_winback(desk, session, mail.case)


def stop_winback(desk: Desk, session: Session, case_or_address: Case | str) -> bool:
    """Stop win-back letters for a case, or for every closed case of an address; True if any."""
    found = [case_or_address] if isinstance(case_or_address, Case) else _closed_cases_of(session, case_or_address)
    stopped = [case for case in found if _stop_one(desk, session, case)]
    return bool(stopped)


def _stop_one(desk: Desk, session: Session, case: Case) -> bool:
    if case.winback_stopped_at is not None:
        return False
    now = desk.clock.now()
    case.winback_stopped_at = now
    cancelled = timers.cancel_pending(desk, session, case, "the customer asked us to stop writing", WINBACK)
    cases.record(
        session,
        case,
        "winback_stopped",
        at=now,
        actor=case.requester,
        summary=f"no more win-back letters ({cancelled} pending cancelled)",
    )
    return True


def _closed_cases_of(session: Session, address: str) -> list[Case]:
    address = bare(address)
    contact = session.scalar(select(Contact).where(Contact.email == address))
    query = select(Case).where(Case.state == State.CLOSED)
    if contact is not None:
        return list(session.scalars(query.where(Case.account_id == contact.account_id)))
    return list(session.scalars(query.where(Case.requester == address)))


def _closed_on(case: Case) -> str:
    closed: datetime | None = case.closed_at
    return closed.date().isoformat() if closed else ""

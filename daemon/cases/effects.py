"""Effects: the mail a case's opening causes, and the values every case template may use.

Which event runs which of these is listed in daemon.events. Mail goes out through
daemon.mail.mailer, which only enqueues: delivery happens after commit.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases.workflow import DomainEvent
from daemon.directory import account_team_addresses, bare
from daemon.mail import mailer
from daemon.mail.compose import Thread
from daemon.mail.style import Style
from daemon.models import Case
from daemon.playbook import contract

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)

KIND_LABELS = {"cancel": "cancellation", "pause": "pause", "change": "contract change"}


def acknowledge(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """The customer is told the request is in hand."""
    mailer.send(
        desk,
        session,
        case,
        "acknowledgment",
        [case.requester],
        case_context(desk, case, event),
        dedupe="ack",
        answering=thread_of(event),
        reply=True,
    )


def tell_team(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """The account's team is told of the new request."""
    notify_team(desk, session, case, "team_notice", case_context(desk, case, event), dedupe="opened")


def ask_to_verify(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """The requester, writing from an address not on file, is asked to confirm from one on file."""
    mailer.send(
        desk,
        session,
        case,
        "verification_request",
        [case.requester],
        case_context(desk, case, event),
        dedupe="verify",
        answering=thread_of(event),
        reply=True,
    )


def thread_of(event: DomainEvent) -> Thread:
    """The customer's mail an event's mail answers, as the event carries it (`requests._mail_data`)."""
    return Thread(event.data.get("answering", ""), tuple(event.data.get("answering_references", ())))


def notify_team(
    desk: Desk, session: Session, case: Case, template: str, context: dict[str, Any], *, dedupe: str
) -> None:
    team = account_team_addresses(case.account) if case.account else []
    if not team:
        cases.record(session, case, "warning", at=desk.clock.now(), summary="no team on file to notify")
        return
    mail_team(desk, session, case, template, context, team, dedupe=dedupe)


def mail_team(
    desk: Desk,
    session: Session,
    case: Case,
    template: str,
    context: dict[str, Any],
    team: list[str],
    *,
    dedupe: str,
    **send_options: Any,
) -> None:
    """One mail to the team together, as a colleague would write it: each sees who else was told.

    Staff and the others on the team (a freelancer) read different words (only staff may
    drive the case with #commands), so each of the two gets its own mail."""
    for readers, to_staff in team_by_role(desk, team):
        mailer.send(
            desk,
            session,
            case,
            template,
            readers,
            staff_view(desk, context, to_staff=to_staff),
            dedupe=f"{dedupe}:{audience(to_staff)}",
            **send_options,
        )


def team_by_role(desk: Desk, team: list[str]) -> list[tuple[list[str], bool]]:
    """The team split into (staff, True) and (the others, False), empty groups left out, order kept."""
    staff = [address for address in team if address in desk.staff]
    others = [address for address in team if address not in desk.staff]
    return [(readers, to_staff) for readers, to_staff in ((staff, True), (others, False)) if readers]


def audience(to_staff: bool) -> str:
    """Which of a team's two mails: its dedupe key's last part."""
    return "staff" if to_staff else "others"


def staff_view(desk: Desk, context: dict[str, Any], *, to_staff: bool) -> dict[str, Any]:
    """A case context as the account's team reads it: times in the desk's zone, and
    `to_staff`, since only staff may drive the case with #commands (a freelancer on the
    team is told, not invited to command)."""
    view = {**context, "to_staff": to_staff, "zone": desk.config.desk.timezone}
    if "received" in context:
        view["received_at"] = staff_time(desk, context["received"])
    return view


def staff_time(desk: Desk, moment: datetime) -> str:
    """A moment as staff read it: in the desk's zone, one zone for all of them."""
    return desk.renderer.staff_sentences.moment(moment)


def staff_day(desk: Desk, day: date | str | None) -> str:
    """A day as staff read it in prose: '31 March 2027'."""
    return desk.renderer.staff_sentences.day(day)


def staff_money(desk: Desk, amount: Any) -> str:
    """An amount as staff read it: '£800.00'."""
    return desk.renderer.staff_sentences.money(amount)


def notify_team_at_risk(desk: Desk, session: Session, mail) -> None:
    """An at-risk signal opens no case: the account's team is told so they can act."""
    account = mail.contact.account
    context = {
        "desk": desk.config.desk,
        "account_name": account.name,
        "sender": mail.sender,
        "subject": mail.parsed.subject,
        "excerpt": (mail.parsed.new_text or mail.parsed.text)[:2000],
        "matched": ", ".join(mail.intent.matched) if mail.intent else "",
    }
    team = account_team_addresses(account)
    if team:
        mailer.post(desk, session, "at_risk_notice", context, team, dedupe_key=f"at-risk:{mail.inbound.id}")


def case_context(desk: Desk, case: Case, event: DomainEvent | None = None) -> dict[str, Any]:
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
        "kept_services": (case.scope or {}).get("kept", []),
        "unmatched_services": (case.scope or {}).get("unmatched", []),
        "requested_final_day": case.requested_final_day.isoformat() if case.requested_final_day else "",
        "account_manager": account.account_manager if account else "",
        "team_lead": account.team_lead if account else "",
        "excerpt": (event.data.get("excerpt", "") if event else "").strip() or "(no text)",
        "contract": contract.template_values(desk, case),
        "pause_reminder_days": desk.config.timers.pause_resume_reminder_days,
        "currency": desk.config.report.currency,
    }


def format_local(moment: datetime, zone: str) -> str:
    """'Sunday, 22 November 2026, 09:15 CET (UTC+01:00)': a moment in English, in `zone`, as the
    English mail's `moment` filter writes it (templates use the filter; this serves the
    values kept for older override templates)."""
    return Style(zone=zone).moment(moment)


def _contact_name(case: Case) -> str:
    if not case.account:
        return ""
    for contact in case.account.contacts:
        if contact.email == bare(case.requester):
            return contact.name
    return ""

"""The save call: proposed with a real calendar invite, moved or cancelled by staff, answered by the customer.

When a case opens (or is verified, or its request arrives in writing) the desk proposes a
call `[calls] business_days_after_notice` business days after the notice, at `[calls] hour`
in the agency's business time zone, and invites the customer and the whole account team
(iCalendar METHOD:REQUEST in a text/calendar part), `[calls] invite_delay_minutes` after
the acknowledgment so the two do not arrive together. `#call` moves it (same UID,
SEQUENCE+1) or cancels it (METHOD:CANCEL); invitations not sent yet are withdrawn instead. The organizer is the case's own reply address, so the
customer's accept or decline comes back to the case and is recorded here. The call is an
offer: a customer who declines keeps their request, and the case goes on without it.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.business_calendar import add_business_days, at_local, customer_send_time
from daemon.cases import effects
from daemon.cases.workflow import DomainEvent, State, StepRefused, Trigger, advance, can_advance
from daemon.db import find_row, note_made
from daemon.directory import account_team_addresses, bare
from daemon.mail import mailer
from daemon.mail.invite_text import invite_words
from daemon.models import CallInvite, Case, InviteStatus, OutboxEntry, OutboxStatus
from daemon.playbook import decisions
from integrations.invites import CalendarError, Invitation, Method, build_invite, parse_reply
from parsers.language import DEFAULT as DEFAULT_LANGUAGE
from parsers.references import make_reply_address

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)


def call_of(session: Session, case: Case) -> CallInvite | None:
    """The case's call: one made in this transaction is found before it is written, and a case
    opened in this transaction has no other (`db.find_row`)."""
    return find_row(session, case, CallInvite, {"case_id": case.id}, _CALL_OF)


# Built once: building a statement costs about as much as running it.
_CALL_OF = select(CallInvite).where(CallInvite.case_id == bindparam("case_id"))


def proposed_start(desk: Desk, notice_at: datetime) -> datetime:
    """`[calls] hour` on the business day `[calls] business_days_after_notice` after the notice, in UTC."""
    calendar = desk.calendar
    day = calendar.local(add_business_days(notice_at, desk.config.calls.business_days_after_notice, calendar)).date()
    return at_local(day, time.fromisoformat(desk.config.calls.hour), calendar.zone)


def propose(desk: Desk, session: Session, case: Case, event: DomainEvent) -> CallInvite | None:
    """Invite everyone to the proposed call, once per case, when the case is open and on an account."""
    if case.state != State.OPEN or case.account is None or call_of(session, case) is not None:
        return None
    call = _new_call(desk, session, case)
    call.start, call.status = proposed_start(desk, desk.clock.now()), InviteStatus.PROPOSED
    _invite_everyone(desk, session, case, call, "REQUEST", not_before=_proposal_sent_at(desk, case, call))
    return call


def _new_call(desk: Desk, session: Session, case: Case) -> CallInvite:
    """The case's one call: its UID stays for every later move or cancellation."""
    call = CallInvite(
        case_id=case.id,
        uid=f"call-{case.token}@{desk.config.desk.domain}",
        sequence=0,
        minutes=desk.config.calls.minutes,
        replies={},
    )
    session.add(call)
    note_made(session, call)
    return call


def _proposal_sent_at(desk: Desk, case: Case, call: CallInvite) -> datetime:
    """After `[calls] invite_delay_minutes`, in the customer's hours, and well before the call itself."""
    now = desk.clock.now()
    wanted = customer_send_time(
        now + timedelta(minutes=desk.config.calls.invite_delay_minutes), case.account.timezone, desk.calendar
    )
    return max(now, min(wanted, call.start - timedelta(hours=2)))


def schedule(desk: Desk, session: Session, case: Case, start: datetime, actor: str) -> CallInvite:
    """Set or move the call (staff's `#call`): same UID, higher SEQUENCE, everyone invited again."""
    if start <= desk.clock.now():
        raise StepRefused(f"{effects.staff_time(desk, start)} is in the past: give a time to come")
    call = call_of(session, case)
    if call is None:
        call = _new_call(desk, session, case)
    else:
        call.sequence += 1
        _withdraw_unsent(desk, session, case)
    call.start, call.status, call.replies = start, InviteStatus.SCHEDULED, {}
    session.flush()
    _invite_everyone(desk, session, case, call, "REQUEST")
    advance(
        session,
        desk.bus,
        case,
        Trigger.CALL_SCHEDULED,
        actor=actor,
        at=desk.clock.now(),
        summary=f"call set for {effects.staff_time(desk, start)}",
        start=start.isoformat(),
        sequence=call.sequence,
    )
    return call


def cancel(desk: Desk, session: Session, case: Case, actor: str) -> CallInvite:
    """Call the call off (`#call cancel`): METHOD:CANCEL to everyone invited."""
    call = call_of(session, case)
    if call is None or call.status == InviteStatus.CANCELLED:
        raise StepRefused("there is no call to cancel")
    _cancel_call(desk, session, case, actor)
    if can_advance(case, Trigger.CALL_CANCELLED):
        advance(
            session, desk.bus, case, Trigger.CALL_CANCELLED, actor=actor, at=desk.clock.now(), summary="call cancelled"
        )
    return call


def call_off(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """Saved or withdrawn: the call is cancelled, there is nothing left to talk about."""
    _cancel_call(desk, session, case, event.actor)


def _cancel_call(desk: Desk, session: Session, case: Case, actor: str) -> None:
    call = call_of(session, case)
    if call is None or call.status in (InviteStatus.CANCELLED, InviteStatus.DECLINED):
        return
    call.sequence += 1
    call.status = InviteStatus.CANCELLED
    session.flush()
    if not _withdraw_unsent(desk, session, case):
        _invite_everyone(desk, session, case, call, "CANCEL")
    cases.record(
        session,
        case,
        "call_cancelled",
        at=desk.clock.now(),
        actor=actor,
        summary=f"call of {effects.staff_time(desk, call.start)} cancelled",
        uid=call.uid,
        sequence=call.sequence,
    )


def _withdraw_unsent(desk: Desk, session: Session, case: Case) -> bool:
    """Drop invitations still waiting in the outbox: True when none had gone out yet.

    A proposal the customer never saw needs no cancellation, and a moved call must not
    reach anyone after its newer time.
    """
    entries = session.scalars(
        select(OutboxEntry).where(OutboxEntry.case_id == case.id, OutboxEntry.dedupe_key.like(f"case:{case.id}:call:%"))
    ).all()
    unsent = [e for e in entries if e.status == OutboxStatus.PENDING and e.attempts == 0]
    for entry in unsent:
        session.delete(entry)
    if unsent:
        cases.record(
            session,
            case,
            "call_invites_withdrawn",
            at=desk.clock.now(),
            summary=f"{len(unsent)} invitation(s) not sent yet were withdrawn",
        )
    session.flush()
    return len(unsent) == len(entries)


def record_calendar_reply(desk: Desk, session: Session, case: Case, parsed) -> bool:
    """Record an iTIP REPLY (accept / decline / tentative) found in a mail on `case`; False if none."""
    call = call_of(session, case)
    if call is None:
        return False
    found = False
    for text in parsed.calendar_parts:
        try:
            reply = parse_reply(text)
        except CalendarError:
            continue
        if reply.uid == call.uid:
            _apply_reply(desk, session, case, call, reply)
            found = True
    return found


def _apply_reply(desk: Desk, session: Session, case: Case, call: CallInvite, reply) -> None:
    now = desk.clock.now()
    call.replies = {**call.replies, reply.attendee_addr: reply.partstat}
    stale = reply.sequence < call.sequence
    cases.record(
        session,
        case,
        "call_reply",
        at=now,
        actor=reply.attendee_addr,
        summary=f"{reply.attendee_addr} {reply.partstat.lower()} the call"
        + (" (an answer to an earlier time)" if stale else ""),
        partstat=reply.partstat,
        sequence=reply.sequence,
    )
    if stale or reply.attendee_addr != bare(case.requester) or call.status == InviteStatus.CANCELLED:
        return
    if reply.partstat == "ACCEPTED":
        call.status = InviteStatus.ACCEPTED
        if case.state != State.CALL_SCHEDULED and can_advance(case, Trigger.CALL_SCHEDULED):
            advance(
                session,
                desk.bus,
                case,
                Trigger.CALL_SCHEDULED,
                actor=reply.attendee_addr,
                at=now,
                summary=f"the customer accepted the call of {effects.staff_time(desk, call.start)}",
            )
    elif reply.partstat == "DECLINED":
        call.status = InviteStatus.DECLINED
        if can_advance(case, Trigger.CALL_DECLINED):
            advance(
                session,
                desk.bus,
                case,
                Trigger.CALL_DECLINED,
                actor=reply.attendee_addr,
                at=now,
                summary="the customer declined the call; the request goes on without it",
            )
        _tell_team_of_decline(desk, session, case)


def _tell_team_of_decline(desk: Desk, session: Session, case: Case) -> None:
    context = effects.case_context(desk, case)
    for address in decisions.leads(case):
        mailer.send(desk, session, case, "call_declined", [address], context, dedupe=f"call-declined:{address}")


def _invite_everyone(
    desk: Desk, session: Session, case: Case, call: CallInvite, method: Method, not_before: datetime | None = None
) -> None:
    """The customer's invitation in their language and zone; one for the team together, as a
    calendar client sends a meeting to its attendees (staff and the others apart, as every team mail)."""
    customer = bare(case.requester)
    team = account_team_addresses(case.account) if case.account else []
    case_values = effects.case_context(desk, case)
    attendees = [(case_values["customer_name"], customer)] + [("", a) for a in team]
    template = "call_invite" if method == "REQUEST" else "call_cancelled"
    # The entry in each calendar speaks its reader's language (the same UID for all); the
    # calendar is otherwise the same for everyone, so it is made once per language.
    invitations: dict[str, Invitation] = {}
    readings = [([customer], case_values, "customer")]
    readings += [
        (readers, effects.staff_view(desk, case_values, to_staff=to_staff), effects.audience(to_staff))
        for readers, to_staff in effects.team_by_role(desk, team)
    ]
    for readers, values, group in readings:
        to_customer = group == "customer"
        language = mailer.language_for(desk, case, readers[0])
        invitation = invitations.get(language)
        if invitation is None:
            invitation = invitations[language] = Invitation(_ics(desk, case, call, method, attendees, language), method)
        context = {
            **values,
            "to_customer": to_customer,
            "call_time": _call_time(desk, case, call, to_customer),
            "call_start": call.start,
            "call_minutes": call.minutes,
            "moved": call.sequence > 0,
        }
        mailer.send(
            desk,
            session,
            case,
            template,
            readers,
            context,
            dedupe=f"call:{call.sequence}:{group}",
            not_before=not_before,
            decorate=invitation.attach,
        )


def _ics(
    desk: Desk,
    case: Case,
    call: CallInvite,
    method: Method,
    attendees: list[tuple[str, str]],
    language: str = DEFAULT_LANGUAGE,
) -> bytes:
    account = case.account.name if case.account else case.requester
    organizer = (
        desk.config.desk.name,
        make_reply_address(desk.config.desk.local_part, desk.config.desk.domain, case.token),
    )
    summary, description = invite_words(
        language, account=account, company=desk.config.desk.company, reference=case.reference
    )
    return build_invite(
        call.uid,
        call.sequence,
        call.start,
        timedelta(minutes=call.minutes),
        summary,
        description,
        organizer,
        attendees,
        method=method,
        stamp=desk.clock.now(),
    )


def _call_time(desk: Desk, case: Case, call: CallInvite, to_customer: bool) -> str:
    """In the customer's own zone for the customer; in the desk's zone, like every staff mail, for the team."""
    if to_customer and case.account:
        return effects.format_local(call.start, case.account.timezone)
    return effects.staff_time(desk, call.start)

"""The written-request and identity rules, and requests that arrive after a case is finished.

The playbook counts only a written request from a verified requester. A request reported by
staff (a phone call, a forward) opens a case that waits for the customer's own words; a
request from an address not on file opens one that waits for identity. This module moves a
case through those two gates, and decides what a new request in the thread of a finished
case becomes (`[desk] after_closure`). Staff mail (`daemon.commands.staffmail`, `#verbal`,
`#verify`) calls `open_verbal_case` and `verify_case`; `daemon.cases.actions` calls the rest.
The mail each step causes is subscribed here too (`register`), beside the steps, with the
notice that a verified request may duplicate a case still waiting for identity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases.effects import case_context, mail_team, notify_team, thread_of
from daemon.cases.workflow import DomainEvent, State, TransitionRefused, Trigger, advance
from daemon.directory import account_team_addresses, bare, contact_for
from daemon.mail import mailer
from daemon.mail.compose import Thread
from daemon.models import Account, Case, InboundMessage
from daemon.playbook import contract
from daemon.reading import account_claims, correlate
from daemon.reading.classify import REQUEST_KINDS, _phrases
from parsers.clauses import own_words
from parsers.dates import asks_for_term_end, extract_dates
from parsers.intent import Intent, classify_intent, service_names
from parsers.language import detect_language
from parsers.message import parse_message
from parsers.received import received_moment as received_from_headers

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestDetails:
    """What a request asks for: services in scope, kept, not on the account; the final day asked for."""

    services: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()  # named, but no billing item of the account is that service
    final_day: date | None = None
    until_term_end: bool = False  # 'when our contract ends': the final day is the term's end

    def scope(self) -> dict:
        return {
            "services": list(self.services),
            "kept": list(self.kept),
            "unmatched": list(self.unmatched),
            "until_term_end": self.until_term_end,
        }


def received_moment(desk: Desk, mail) -> datetime:
    """When the mail reached us: our trusted server's Received header, else the mailbox's own time.

    Never later than the mailbox's time (`inbound.received_at`, the IMAP INTERNALDATE or
    Maildir delivery time when known): a header cannot make a notice later than its arrival.
    """
    stored = mail.inbound.received_at
    trusted = received_from_headers(mail.parsed.get_all("received"), desk.config.auth.authserv_ids)
    return min(trusted, stored) if trusted and stored else (trusted or stored or desk.clock.now())


def request_details(
    desk: Desk,
    text: str,
    received: datetime | None = None,
    intent: Intent | None = None,
    account: Account | None = None,
) -> RequestDetails:
    """Scope and final day of a request; relative dates ('end of March') count from `received`."""
    config = desk.config.intent
    intent = intent or classify_intent(
        "", text, _phrases(desk), services=_service_names(config), max_chars=config.max_chars
    )
    moment = received or desk.clock.now()
    text = own_words(text[: config.max_chars])  # a date in the signature is not the date asked for
    dates = extract_dates(text, _local(moment, desk, account).date())
    on_file = [i.service for i in account.billing_items] if account is not None else []
    services = intent.services
    if intent.everything:  # 'all of it', 'everything except Social'
        services = tuple(dict.fromkeys((*services, *(s for s in (on_file or config.services) if s not in intent.kept))))
    unmatched = tuple(s for s in services if on_file and s.casefold() not in {o.casefold() for o in on_file})
    return RequestDetails(services, intent.kept, unmatched, max(dates) if dates else None, asks_for_term_end(text))


def _local(moment: datetime, desk: Desk, account: Account | None) -> datetime:
    zone = (account.timezone if account is not None and account.timezone else None) or desk.config.desk.timezone
    try:
        return moment.astimezone(ZoneInfo(zone)) if zone and moment.tzinfo else moment
    except (KeyError, ValueError):  # an unknown zone name: the moment as stored
        return moment


def _service_names(intent) -> dict[str, tuple[str, ...]]:
    """Each service with the other names customers use for it (`[intent] service_aliases` and built-in)."""
    return service_names(intent.services, intent.service_aliases)


def open_from_mail(desk: Desk, session: Session, mail, trigger: Trigger, account: Account | None) -> Case:
    """A case opened by a customer's own mail: what they asked for, threaded under their mail."""
    text = mail.parsed.new_text or mail.parsed.text
    found = request_details(desk, text, received_moment(desk, mail), mail.intent, account)
    log.info("%s: opening a %s case for %s", mail.parsed.message_id, mail.intent.kind, mail.sender)
    case = cases.open_case(
        desk,
        session,
        kind=mail.intent.kind,
        requester=mail.sender,
        account=account,
        trigger=trigger,
        inbound=mail.inbound,
        actor=mail.sender,
        summary=mail.parsed.subject,
        services=found.services,
        final_day=found.final_day,
        scope=found.scope(),
        language=detect_language(text),
        intent_matched=list(mail.intent.matched),
        intent_readings=mail.intent.explain(),
        **_mail_data(desk, mail),
    )
    _remember_name(case, mail)
    return case


def _remember_name(case: Case, mail) -> None:
    """The requester's display name: a hint for staff matching an unverified case to a customer."""
    name = mail.parsed.from_.name if mail.parsed.from_ is not None else ""
    if name and bare(mail.sender) == bare(case.requester):
        case.details = {**(case.details or {}), "requester_name": name}


def _mail_data(desk: Desk, mail) -> dict:
    """What effects need to answer `mail`: its thread, when it came, and its words."""
    return {
        "answering": mail.parsed.message_id,
        "answering_references": list(Thread.of(mail.parsed).references),
        "received_at": received_moment(desk, mail).isoformat(),
        "excerpt": (mail.parsed.new_text or mail.parsed.text)[:2000],
    }


def open_question(desk: Desk, session: Session, mail) -> Case:
    """'How do I cancel my account?' from a contact on file: a case that waits for a YES or a request.

    The customer is asked back whether to act; the written request that follows counts
    from the moment the question reached us (`Case.asked_at`, read by `contract.notice_date`).
    """
    account, received = mail.contact.account, received_moment(desk, mail)
    text = mail.parsed.new_text or mail.parsed.text
    found = request_details(desk, text, received, mail.intent, account)
    return cases.open_case(
        desk,
        session,
        kind=mail.intent.asks or "cancel",
        requester=mail.sender,
        account=account,
        trigger=Trigger.QUESTION_ASKED,
        inbound=mail.inbound,
        actor=mail.sender,
        summary=mail.parsed.subject,
        services=found.services,
        final_day=found.final_day,
        scope=found.scope(),
        asked_at=received,
        language=detect_language(text),
        intent_readings=mail.intent.explain(),
        **_mail_data(desk, mail),
    )


# -- the written-request rule -----------------------------------------------------------------


def open_verbal_case(
    desk: Desk, session: Session, *, customer: str, staff_address: str, inbound: InboundMessage | None, note: str
) -> Case:
    """A request staff heard (or forwarded): the case waits for it in writing, and the customer is asked."""
    customer, now = bare(customer), desk.clock.now()
    contact = contact_for(session, customer)
    account = contact.account if contact else None
    existing = cases.open_case_for(session, account.id if account else None, customer)
    if existing is not None:
        _note_on(session, existing, inbound, now, staff_address, f"reported again by {staff_address}: {note}")
        return existing
    text = _verbal_text(note, inbound)
    found = request_details(desk, text, account=account)
    case = cases.open_case(
        desk,
        session,
        kind=_kind(desk, text),
        requester=customer,
        account=account,
        trigger=Trigger.VERBAL_REPORTED,
        inbound=None,
        actor=staff_address,
        summary=f"reported by {staff_address}",
        services=found.services,
        final_day=found.final_day,
        scope=found.scope(),
        excerpt=text[:2000],
        reported_by=staff_address,
    )
    _note_on(session, case, inbound, now, staff_address, f"reported by {staff_address}: {note}")
    return case


def _note_on(session: Session, case: Case, inbound, now, actor: str, summary: str) -> None:
    if inbound is not None and inbound.case_id is None:
        cases.attach_message(session, case, inbound, now, actor=actor, summary=summary)
    else:
        cases.record(session, case, "note", at=now, actor=actor, summary=summary[:300])


def _verbal_text(note: str, inbound: InboundMessage | None) -> str:
    """Staff's note and the customer's own words when staff forwarded them."""
    forwarded = [f.text for f in parse_message(inbound.raw).forwarded] if inbound is not None else []
    return "\n\n".join([note, *forwarded]).strip()


def _kind(desk: Desk, text: str) -> str:
    kind = classify_intent("", text, _phrases(desk), services=_service_names(desk.config.intent)).kind
    return kind if kind in REQUEST_KINDS else "cancel"  # staff report requests; cancelling is the common one


def receive_written_request(desk: Desk, session: Session, mail) -> None:
    """The customer's request in writing (a reply to our request to write, or a new mail): the case opens."""
    _take_written(desk, session, mail)
    contact = correlate.verified_writer(session, mail.case, mail.sender)
    if contact is not None:
        mail.case.account, mail.case.verified = contact.account, True
    advance(
        session,
        desk.bus,
        mail.case,
        Trigger.WRITTEN_REQUEST_RECEIVED,
        actor=mail.sender,
        at=desk.clock.now(),
        message_id=mail.inbound.id,
        **_mail_data(desk, mail),
    )


def receive_unverified_written_request(desk: Desk, session: Session, mail) -> None:
    """The request in writing from an address not on file (staff reported it for an unknown address).

    Staff hearing a request does not make the writer the account holder: the case waits
    for identity, and the writer is asked to confirm, as for any request from an address
    not on file (`effects.ask_to_verify`).
    """
    _take_written(desk, session, mail)
    _remember_name(mail.case, mail)
    advance(
        session,
        desk.bus,
        mail.case,
        Trigger.WRITTEN_UNVERIFIED,
        actor=mail.sender,
        at=desk.clock.now(),
        message_id=mail.inbound.id,
        summary="written request from an address not on file: awaiting identity",
        **_mail_data(desk, mail),
    )


def _take_written(desk: Desk, session: Session, mail) -> None:
    cases.attach_mail(desk, session, mail.case, mail)
    _update_request(desk, mail.case, mail)


def _update_request(desk: Desk, case: Case, mail) -> None:
    """The customer's written words are what counts: they overrule what staff noted."""
    text = mail.parsed.new_text or mail.parsed.text
    intent = mail.intent if mail.intent is not None and mail.intent.kind in REQUEST_KINDS else None
    found = request_details(desk, text, received_moment(desk, mail), intent, case.account)
    case.language = detect_language(text)
    if intent is not None:
        case.kind = intent.kind
    if found.services or found.kept:
        case.requested_services = list(found.services)
        case.scope = found.scope()
    if found.final_day:
        case.requested_final_day = found.final_day


# -- the identity rule ------------------------------------------------------------------------


def verify_case(
    desk: Desk, session: Session, case: Case, *, actor: str, account: Account | str | None = None, mail=None
) -> None:
    """Confirm who asked: attach the account, then acknowledge and tell the team as for a verified case.

    `actor` is staff (`#verify`, optionally naming the account by its key) or a contact on
    file whose mail (`mail`) confirms the request. Raises TransitionRefused, in plain words.
    """
    if case.state != State.AWAITING_IDENTITY:
        raise TransitionRefused(
            f"{case.reference} is {case.state.replace('_', ' ')}: only a case waiting for identity can be verified"
        )
    found = _account_to_attach(desk, session, case, actor, account)
    case.account, case.verified = found, True
    case.details = {**(case.details or {}), "verified_by": actor}
    data = _opening_data(case)
    if mail is not None:
        data.update(answering=mail.parsed.message_id, answering_references=list(Thread.of(mail.parsed).references))
    advance(
        session,
        desk.bus,
        case,
        Trigger.IDENTITY_VERIFIED,
        actor=actor,
        at=desk.clock.now(),
        message_id=mail.inbound.id if mail is not None else None,
        summary=f"verified by {actor}",
        acknowledge=actor if mail is not None else case.requester,
        **data,
    )


def _account_to_attach(desk: Desk, session: Session, case: Case, actor: str, account) -> Account:
    if isinstance(account, str):
        account = account_by_key(session, account)
        if account is None:
            raise TransitionRefused("no account with that key on file")
    contact = None if account is not None else _contact_on_file(session, desk, actor, case.requester)
    found = account or (contact.account if contact else None) or case.account or claimed_of(session, case)
    if found is None:
        raise TransitionRefused(f"{case.requester} is not on file: name the account to attach it to")
    if case.account_id is not None and found.id != case.account_id:
        raise TransitionRefused(f"{case.reference} belongs to another account")
    return found


def account_by_key(session: Session, key: str) -> Account | None:
    return session.scalar(select(Account).where(func.lower(Account.key) == key.strip().lower()))


def claimed_of(session: Session, case: Case) -> Account | None:
    """The account a case waiting for identity claims (`record_claim`), if it claims one."""
    key = case.claimed_account
    return account_by_key(session, key) if key else None


def _contact_on_file(session: Session, desk: Desk, actor: str, requester: str):
    """The contact confirming: the actor when a customer, else the requester if now on file."""
    if actor not in desk.staff:
        return contact_for(session, actor)
    return contact_for(session, requester)


def _opening_data(case: Case) -> dict:
    """The thread, time and words of the request waiting for identity.

    That is the mail that put the case in this state, kept on its last state event: the
    opening mail, or the written request that followed a request staff reported.
    """
    last = next((e for e in reversed(case.events) if e.kind.startswith("state:")), None)
    data = dict(last.data) if last is not None else {}
    keys = ("answering", "answering_references", "received_at", "excerpt")
    return {key: data[key] for key in keys if key in data}


# -- the account a request from an address not on file claims ------------------------------


def record_claim(desk: Desk, session: Session, case: Case, mail) -> None:
    """Keep the account the request most likely claims, with a provisional final day, and tell its team.

    Only the team hears of it, in the waiting case's thread: the writer is not verified,
    so they learn nothing about the account (`effects.ask_to_verify` asks them to confirm).
    """
    name = mail.parsed.from_.name if mail.parsed.from_ is not None else ""
    claim = account_claims.claimed_account(
        session, address=mail.sender, name=name, text=mail.parsed.text, ignore_domains=own_domains(desk)
    )
    if claim is None:
        return
    zone = ZoneInfo(claim.account.timezone or "UTC")
    review = contract.review(claim.account, mail.inbound.received_at.astimezone(zone).date(), case.requested_final_day)
    case.claimed_account = claim.account.key
    case.details = {
        **(case.details or {}),
        "claim_evidence": list(claim.evidence),
        "provisional_contract": review.as_dict(),
    }
    cases.record(
        session,
        case,
        "claim",
        at=desk.clock.now(),
        summary=f"claims {claim.account.key}: "
        + "; ".join(claim.evidence)[:250]
        + f"; provisional final day {review.final_day.isoformat()}",
    )
    _tell_claimed_team(desk, session, case, claim, review)


def _tell_claimed_team(desk: Desk, session: Session, case: Case, claim: account_claims.Claim, review) -> None:
    provisional = {**review.as_dict(), "term_line": contract.term_line(review, desk.renderer.staff_sentences)}
    context = {
        **case_context(desk, case),
        "excerpt": _opening_data(case).get("excerpt") or "(no text)",
        "claimed": claim.account,
        "evidence": list(claim.evidence),
        "provisional": provisional,
    }
    mail_team(
        desk, session, case, "unverified_claim_notice", context, account_team_addresses(claim.account), dedupe="claim"
    )


def own_domains(desk: Desk) -> frozenset[str]:
    """The agency's own mail domains: sharing one with a contact says nothing about a customer."""
    return frozenset({desk.config.desk.domain.lower(), *(d.lower() for d in desk.config.desk.own_domains)})


def deny_identity(desk: Desk, session: Session, mail) -> None:
    """A contact of the claimed account says the request is not theirs: withdrawn, flagged, team told."""
    case, now = mail.case, desk.clock.now()
    cases.attach_mail(desk, session, case, mail)
    case.details = {**(case.details or {}), "possible_impersonation": {"denied_by": mail.sender, "at": now.isoformat()}}
    claimed = claimed_of(session, case) or mail.contact.account
    advance(
        session,
        desk.bus,
        case,
        Trigger.WITHDRAWN,
        actor=mail.sender,
        at=now,
        message_id=mail.inbound.id,
        summary=f"not theirs: {mail.sender} ({claimed.key}) did not send it; kept for staff as a possible "
        "impersonation",
    )
    context = {
        **case_context(desk, case),
        "excerpt": _opening_data(case).get("excerpt") or "(no text)",
        "claimed": claimed,
        "denied_by": mail.sender,
        "answer": (mail.parsed.new_text or mail.parsed.text)[:2000],
    }
    team_of = case.account
    case.account = claimed  # the team to tell is the claimed account's; the case itself stays unverified
    notify_team(desk, session, case, "impersonation_notice", context, dedupe=f"denied:{mail.inbound.id}")
    case.account = team_of


# -- after closure ----------------------------------------------------------------------------


def reopen(desk: Desk, session: Session, mail) -> None:
    """`after_closure = "reopen"`: the finished case takes the new request."""
    case, now = mail.case, desk.clock.now()
    cases.attach_mail(desk, session, case, mail)
    _update_request(desk, case, mail)
    case.closed_at = None
    advance(
        session,
        desk.bus,
        case,
        Trigger.REOPENED,
        actor=mail.sender,
        at=now,
        message_id=mail.inbound.id,
        acknowledge=mail.sender,
        **_mail_data(desk, mail),
    )


def open_follow_up(desk: Desk, session: Session, mail) -> Case:
    """`after_closure = "new_case"`: a new case, linked both ways to the finished one."""
    old = mail.case
    account, trigger = _follow_up_account(old, mail)
    existing = cases.open_case_for(session, account.id if account else None, mail.sender)
    if existing is not None:
        cases.attach_mail(desk, session, existing, mail)
        return existing
    new = open_from_mail(desk, session, mail, trigger, account)
    new.details = {**(new.details or {}), "follows": old.reference}
    old.details = {**(old.details or {}), "followed_by": [*(old.details or {}).get("followed_by", []), new.reference]}
    cases.record(
        session,
        old,
        "follow_up",
        at=desk.clock.now(),
        actor=mail.sender,
        summary=f"a new request in this thread opened {new.reference}",
    )
    return new


def _follow_up_account(old: Case, mail) -> tuple[Account | None, Trigger]:
    if mail.contact is not None:
        return mail.contact.account, Trigger.OPENED
    if old.verified and old.account is not None and mail.sender == bare(old.requester):
        return old.account, Trigger.OPENED  # verified before, by a person or the address on file
    return None, Trigger.OPENED_UNVERIFIED


# -- the mail these steps cause ---------------------------------------------------------------


def ask_in_writing(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    context = {**case_context(desk, case, event), "reported_by": event.data.get("reported_by", event.actor)}
    # Counted against the customer's daily cap like every automatic mail, though it answers staff.
    mailer.send(
        desk,
        session,
        case,
        "written_request_needed",
        [case.requester],
        context,
        dedupe="written-needed",
        reply=True,
        auto="auto-generated",
    )
    notify_team(desk, session, case, "verbal_notice", context, dedupe="verbal")


_ASKED_VERBS = {"cancel": "cancel your agreement", "pause": "pause your services", "change": "change your plan"}


def ask_to_confirm(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """Asked back, in the question's thread (capped like every automatic answer); the team told it is at risk."""
    context = {**case_context(desk, case, event), "kind_verb": _ASKED_VERBS.get(case.kind, case.kind)}
    mailer.send(
        desk,
        session,
        case,
        "confirm_request",
        [case.requester],
        context,
        dedupe="confirm",
        answering=thread_of(event),
        reply=True,
    )
    notify_team(desk, session, case, "question_notice", context, dedupe="question")


def acknowledge(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """Written, verified or reopened: acknowledged as a request from a contact is."""
    mailer.send(
        desk,
        session,
        case,
        "acknowledgment",
        [event.data.get("acknowledge") or case.requester],
        case_context(desk, case, event),
        dedupe=f"ack:{_occasion(event)}",
        answering=thread_of(event),
        reply=True,
    )


def tell_team(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """Written, verified or reopened: the team is told, as of a request from a contact."""
    notify_team(desk, session, case, "team_notice", case_context(desk, case, event), dedupe=_occasion(event))


def _occasion(event: DomainEvent) -> str:
    # Its own line on the timeline: a case may be reopened more than once.
    return f"{event.name}:{event.record_id}"


# -- a verified request beside cases still waiting for identity -------------------------------
#
# A stranger's address opened a case that waits for identity; then the customer writes
# from an address on file without its reference, and a second, verified case opens. The
# desk cannot know that both are one request: the stranger is, by definition, not
# verified, and a webmail domain or a first name is a hint, not proof. Withdrawing the
# waiting case on a timer would silently drop what may be a genuine notice (a customer
# who lost access to the address on file, waiting for the account manager), and merging
# it would let a resemblance stand in for the identity rule. So the desk changes nothing
# and tells the account's team in the waiting case's own thread, so that a reply with
# #withdrawn or #verify acts on that case and not on the new one.


def tell_of_lookalikes(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    if not case.verified or case.account is None:
        return
    for lookalike in correlate.unverified_lookalikes(session, case.account):
        _tell_of_lookalike(desk, session, case, lookalike)


def _tell_of_lookalike(desk: Desk, session: Session, active: Case, lookalike: correlate.Lookalike) -> None:
    """A notice to the account's team, sent as mail of the waiting case; a line on both timelines."""
    waiting = lookalike.case
    context = {
        **case_context(desk, waiting),
        "excerpt": _opening_data(waiting).get("excerpt") or "(no text)",
        "active": active,
        "active_account": active.account,
        "resemblance": lookalike.why,
    }
    mail_team(
        desk,
        session,
        waiting,
        "unverified_lookalike_notice",
        context,
        account_team_addresses(active.account),
        dedupe=f"lookalike:{active.reference}",
    )
    for case, other in ((waiting, active), (active, waiting)):
        cases.record(
            session,
            case,
            "note",
            at=desk.clock.now(),
            summary=f"the team was told it may be the same customer as {other.reference} ({lookalike.why})",
        )

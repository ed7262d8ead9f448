"""Classify: decide what one parsed mail is, by an ordered table of small named rules.

Each rule looks at the mail and either passes or returns a Decision naming the action and
the reason in plain words. The first rule that decides wins; the order is the `RULES`
list at the bottom, and nowhere else. Robots come before people so that nothing a
machine sent is ever answered; staff come before customers so a forwarded request is
not taken for the customer's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases.workflow import FINISHED, State, Trigger, can_advance
from daemon.directory import bare, customer_on_file
from daemon.mail.compose import CASE_HEADER
from daemon.models import Case, Contact, InboundMessage
from daemon.reading import correlate
from parsers.commands import own_commands
from parsers.confirmations import confirmation
from parsers.headers import is_forward_subject
from parsers.intent import DEFAULT_PHRASES, Intent, classify_intent, merge_phrases, service_names
from parsers.message import ParsedMessage
from parsers.references import token_from_address
from parsers.robots import RobotVerdict, detect_robot

if TYPE_CHECKING:
    from daemon.desk import Desk

REQUEST_KINDS = {"cancel": "cancel", "pause": "pause", "change": "change"}


# A Mail's case in progress before anyone asked (None means asked: there is none).
_NOT_LOOKED_UP: Any = object()


@dataclass
class Mail:
    """One stored mail being classified, with what the rules found out about it."""

    inbound: InboundMessage
    parsed: ParsedMessage
    sender: str
    robot: RobotVerdict | None = None
    case: Case | None = None
    contact: Contact | None = None
    intent: Intent | None = None
    notes: list[str] = field(default_factory=list)
    # The case in progress for the sender's account (or the sender, when not on file), once
    # looked up: the rules ask, and the action that opens or joins a case asks again.
    in_progress: Case | None = field(default=_NOT_LOOKED_UP, repr=False)


@dataclass(frozen=True)
class Decision:
    action: str  # a key of daemon.cases.actions.ACTIONS
    label: str  # what the stored message is labelled with
    reason: str  # plain words, kept on the message and in the log


Rule = Callable[["Desk", Session, Mail], Decision | None]


def case_in_progress(session: Session, mail: Mail) -> Case | None:
    """The case still in progress for the sender's account (or the sender, when not on file)."""
    if mail.in_progress is _NOT_LOOKED_UP:
        account_id = mail.contact.account_id if mail.contact is not None else None
        mail.in_progress = cases.open_case_for(session, account_id, mail.sender)
    return mail.in_progress


def classify(desk: Desk, session: Session, mail: Mail) -> Decision:
    for rule in RULES:
        decision = rule(desk, session, mail)
        if decision is not None:
            return decision
    raise AssertionError("the last rule always decides")


def own_mail(desk: Desk, session: Session, mail: Mail) -> Decision | None:
    """Our own mail coming back (a loop, a copy, a forward by rule): kept on its case, never answered."""
    if not _is_ours(desk, session, mail):
        return None
    mail.case = correlate.case_of_our_message(session, mail.parsed.message_id) or correlate.find_case(
        session, desk, mail.parsed, mail.sender
    )
    return Decision("record", "own-mail", "our own mail came back")


def robot(desk: Desk, session: Session, mail: Mail) -> Decision | None:
    mail.robot = detect_robot(mail.parsed, mail.inbound.raw)
    if mail.robot is None:
        return None
    if mail.robot.kind == "auto-reply" and mail.sender in desk.staff and _is_forward(mail):
        # Exchange marks mail forwarded by an inbox rule Auto-Submitted: a member of
        # staff forwarding a customer's request is a person, not a robot.
        mail.notes.append(f"robot marker ignored on a staff forward: {mail.robot.reason}")
        return None
    mail.case = correlate.find_case(session, desk, mail.parsed, mail.sender)
    action = "bounce" if mail.robot.kind == "bounce" else "record"
    return Decision(action, f"robot:{mail.robot.kind}", mail.robot.reason)


def no_sender(desk: Desk, session: Session, mail: Mail) -> Decision | None:
    """No usable From address: nobody to answer, nobody to open a case for."""
    if mail.sender:
        return None
    return Decision("label", "for-a-person", "no usable sender address: left for a person")


def staff(desk: Desk, session: Session, mail: Mail) -> Decision | None:
    if mail.sender not in desk.staff:
        return None
    mail.case = correlate.find_case(session, desk, mail.parsed, mail.sender)
    return Decision("staff", "staff", "mail from staff")


def outsider_commands(desk: Desk, session: Session, mail: Mail) -> Decision | None:
    """#command lines from someone not on staff (the staff rule came first): refused, never run."""
    known = desk.command_names
    if not any(line.name in known for line in own_commands(mail.parsed.text).commands):
        return None
    mail.case = correlate.find_case(session, desk, mail.parsed, mail.sender)
    return Decision("refuse_commands", "commands-refused", "#commands from someone who is not staff: refused")


def reply_to_case(desk: Desk, session: Session, mail: Mail) -> Decision | None:
    found = correlate.explain(session, desk, mail.parsed, mail.sender)
    if found is None:
        return None
    mail.case, mail.contact = found.case, customer_on_file(session, mail.sender)
    reference, state = found.case.reference, found.case.state
    if state == State.AWAITING_WRITTEN and _is_customer(session, desk, mail):
        mail.intent = _intent(desk, mail)
        if mail.intent.kind != "withdraw" and _answers_the_wait(found.case, mail):
            return _written(session, mail, f"found by {found.how}")
    if (
        state == State.AWAITING_IDENTITY
        and correlate.may_confirm(session, found.case, mail.sender)
        and mail.sender != bare(found.case.requester)
    ):
        return _identity_answer(desk, mail, reference)
    if State(state) not in FINISHED and _is_customer(session, desk, mail):
        mail.intent = mail.intent or _intent(desk, mail)
        if mail.intent.kind == "withdraw":
            return Decision(
                "customer_withdraws",
                "case-reply:withdraw",
                f"the customer seems to withdraw {reference}: the team is asked to confirm",
            )
    if State(state) in FINISHED:
        mail.intent = _intent(desk, mail)
        if mail.intent.kind in REQUEST_KINDS:
            decision = _after_closure(desk, session, mail, found)
            mail.case = found.case if decision else None
            return decision
    return Decision("add_to_case", "case-reply", f"belongs to {reference} (found by {found.how})")


def _identity_answer(desk: Desk, mail: Mail, reference: str) -> Decision:
    """A contact of the claimed account answers for a request waiting for identity: only a confirmation verifies."""
    said = confirmation(mail.parsed.new_text or mail.parsed.text)
    if not said and _is_forward(mail):
        said = "confirm"  # our request to confirm says forwarding it from an address on file is enough
    if not said:
        mail.intent = _intent(desk, mail)
        said = "confirm" if mail.intent.kind == mail.case.kind else "question"
    if said == "deny":
        return Decision(
            "deny_identity",
            "case-reply:denied",
            f"{mail.sender} says {reference} is not theirs: withdrawn, kept for staff as a possible impersonation",
        )
    if said == "confirm":
        return Decision("verify", "case-reply:verified", f"{mail.sender} is on file: confirms {reference}")
    return Decision(
        "add_to_case",
        "for-a-person",
        f"{mail.sender} answers about {reference} without confirming it: left for a person",
    )


def _after_closure(desk: Desk, session: Session, mail: Mail, found: correlate.Found) -> Decision | None:
    """A new request in the thread of a finished case: `[desk] after_closure` says what it becomes."""
    if not correlate.sender_belongs(session, desk, found.case, mail.sender):
        return None  # not theirs to reopen: judged as a new request of its own
    label, old = f"request:{mail.intent.kind}", f"{found.case.reference} ({found.case.state})"
    if desk.config.desk.after_closure == "reopen" and can_advance(found.case, Trigger.REOPENED):
        return Decision("reopen", label, f"a new {mail.intent.kind} request in the thread of {old}: reopened")
    return Decision(
        "follow_up_case", label, f"a new {mail.intent.kind} request in the thread of {old}: a new case linked to it"
    )


def request(desk: Desk, session: Session, mail: Mail) -> Decision | None:
    mail.intent = _intent(desk, mail)
    mail.contact = customer_on_file(session, mail.sender)
    if mail.intent.kind in REQUEST_KINDS:
        waiting = _waiting_for_writing(session, mail)
        if waiting is not None:
            mail.case = waiting
            return _written(session, mail, "a new mail, not a reply, from its customer")
        if mail.contact is None:
            return Decision("open_unverified", f"request:{mail.intent.kind}", "request from an address not on file")
        return Decision(
            "open_case", f"request:{mail.intent.kind}", f"{mail.intent.kind} request from a contact on file"
        )
    if mail.contact is not None:
        mail.case = case_in_progress(session, mail)
        if mail.case is not None:
            return Decision(
                "add_to_case",
                "case-reply",
                f"{mail.intent.kind} mail from a contact whose account's case {mail.case.reference} is in progress",
            )
    if mail.intent.kind == "question" and mail.contact is not None:
        return Decision(
            "ask_to_confirm",
            "question",
            f"a question about leaving ({mail.intent.asks}): the customer "
            "is asked to confirm it in writing, the team is told",
        )
    if mail.intent.kind == "at_risk" and mail.contact is not None:
        return Decision("at_risk", "at-risk", "a customer doubting the service: the team is told")
    return None


def _answers_the_wait(case: Case, mail: Mail) -> bool:
    """Any reply is the written request staff waited for; after a question, only a YES or a clear request."""
    if case.asked_at is None:
        return True
    return mail.intent.kind in REQUEST_KINDS or confirmation(mail.parsed.new_text or mail.parsed.text) == "confirm"


def _waiting_for_writing(session: Session, mail: Mail) -> Case | None:
    """The case waiting for this customer's request in writing, which a fresh request answers.

    The customer need not reply to our mail: a new request from the requester (or a
    contact of the account) is the written request all the same, not a second case.
    """
    case = case_in_progress(session, mail)
    return case if case is not None and case.state == State.AWAITING_WRITTEN else None


def _written(session: Session, mail: Mail, how: str) -> Decision:
    """The written request for `mail.case`: it counts only from an address on file (the identity rule)."""
    reference = mail.case.reference
    if correlate.verified_writer(session, mail.case, mail.sender) is None:
        return Decision(
            "written_unverified",
            "case-reply:written-unverified",
            f"the written request for {reference} ({how}), from an address not on file: it waits for identity",
        )
    return Decision("written_request", "case-reply:written", f"the written request for {reference} ({how})")


def unrelated(desk: Desk, session: Session, mail: Mail) -> Decision:
    kind = mail.intent.kind if mail.intent else "other"
    who = "a contact on file" if mail.contact else "an unknown sender"
    return Decision("label", "for-a-person", f"not a request ({kind}) from {who}: left for a person")


RULES: list[Rule] = [own_mail, robot, no_sender, staff, outsider_commands, reply_to_case, request, unrelated]


def _is_ours(desk: Desk, session: Session, mail: Mail) -> bool:
    """From the desk's address (or one of its case addresses), or a Message-ID we minted."""
    own = desk.config.desk
    if mail.sender == own.address.lower() or token_from_address(mail.sender, own.local_part, own.domain):
        return True
    if correlate.is_our_message(session, mail.parsed.message_id):
        return True
    # A copy of our mail from before this database (a restored backup): our domain and our header.
    return mail.parsed.message_id.endswith(f"@{own.domain}>") and bool(mail.parsed.get(CASE_HEADER))


def _is_customer(session: Session, desk: Desk, mail: Mail) -> bool:
    """The case's requester or a contact of its account; staff and strangers are not."""
    return mail.sender not in desk.staff and correlate.sender_belongs(session, desk, mail.case, mail.sender)


def _intent(desk: Desk, mail: Mail) -> Intent:
    intent = desk.config.intent
    return classify_intent(
        mail.parsed.subject,
        mail.parsed.new_text or mail.parsed.text,
        _phrases(desk),
        services=service_names(intent.services, intent.service_aliases),
        max_chars=intent.max_chars,
    )


def _is_forward(mail: Mail) -> bool:
    return bool(mail.parsed.forwarded) or is_forward_subject(mail.parsed.subject)


def _phrases(desk: Desk):
    """The built-in phrases extended (or, per intent and language, replaced) by `[intent.phrases]`."""
    intent = desk.config.intent
    if not intent.phrases:
        return DEFAULT_PHRASES
    return merge_phrases(DEFAULT_PHRASES, intent.phrases, replace=not intent.extend_default_phrases)


def sender_of(parsed: ParsedMessage) -> str:
    return bare(parsed.from_.addr) if parsed.from_ and parsed.from_.addr else ""

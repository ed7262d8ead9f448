"""Classify: decide what one parsed mail is, by an ordered table of small named rules.

Each rule looks at the mail and either passes or returns a Decision naming the action and
the reason in plain words. The first rule that decides wins; the order is the `RULES`
list at the bottom, and nowhere else. Robots come before people so that nothing a
machine sent is ever answered; staff come before customers so a forwarded request is
not taken for the customer's own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.orm import Session

from daemon import correlate
from daemon.directory import bare, contact_for
from daemon.models import Case, Contact, InboundMessage
from parsers.commands import scan_commands
from parsers.intent import Intent, classify_intent
from parsers.message import ParsedMessage
from parsers.robots import RobotVerdict, detect_robot

REQUEST_KINDS = {"cancel": "cancel", "pause": "pause", "change": "change"}


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


@dataclass(frozen=True)
class Decision:
    action: str      # a key of daemon.actions.ACTIONS
    label: str       # what the stored message is labelled with
    reason: str      # plain words, kept on the message and in the log


Rule = Callable[["object", Session, Mail], Decision | None]


def classify(desk, session: Session, mail: Mail) -> Decision:
    for rule in RULES:
        decision = rule(desk, session, mail)
        if decision is not None:
            return decision
    raise AssertionError("the last rule always decides")


def own_mail(desk, session: Session, mail: Mail) -> Decision | None:
    desk_address = desk.config.desk.address.lower()
    if mail.sender == desk_address or mail.parsed.message_id.endswith(f"@{desk.config.desk.domain}>") \
            and mail.parsed.headers.get("x-canceldesk-case"):
        return Decision("record", "own-mail", "our own mail came back")
    return None


def robot(desk, session: Session, mail: Mail) -> Decision | None:
    mail.robot = detect_robot(mail.parsed, mail.inbound.raw)
    if mail.robot is None:
        return None
    if mail.robot.kind == "auto-reply" and mail.sender in desk.staff and _is_forward(mail):
        # Microsoft marks some forwarded mail Auto-Submitted (zammad 6025): a member of
        # staff forwarding a customer's request is a person, not a robot.
        mail.notes.append(f"robot marker ignored on a staff forward: {mail.robot.reason}")
        return None
    mail.case = correlate.find_case(session, desk, mail.parsed, mail.sender)
    action = "bounce" if mail.robot.kind == "bounce" else "record"
    return Decision(action, f"robot:{mail.robot.kind}", mail.robot.reason)


def staff(desk, session: Session, mail: Mail) -> Decision | None:
    if mail.sender not in desk.staff:
        return None
    mail.case = correlate.find_case(session, desk, mail.parsed, mail.sender)
    return Decision("staff", "staff", "mail from staff")


def outsider_commands(desk, session: Session, mail: Mail) -> Decision | None:
    """#command lines from someone not on staff (the staff rule came first): refused, never run."""
    known = desk.extras.get("command_names", frozenset())
    if not any(line.name in known for line in scan_commands(mail.parsed.new_text).commands):
        return None
    mail.case = correlate.find_case(session, desk, mail.parsed, mail.sender)
    return Decision("refuse_commands", "commands-refused", "#commands from someone who is not staff: refused")


def reply_to_case(desk, session: Session, mail: Mail) -> Decision | None:
    mail.case = correlate.find_case(session, desk, mail.parsed, mail.sender)
    if mail.case is None:
        return None
    return Decision("add_to_case", "case-reply", f"belongs to {mail.case.reference}")


def request(desk, session: Session, mail: Mail) -> Decision | None:
    mail.intent = classify_intent(mail.parsed.subject, mail.parsed.new_text or mail.parsed.text, _phrases(desk))
    mail.contact = contact_for(session, mail.sender)
    if mail.intent.kind in REQUEST_KINDS:
        if mail.contact is None:
            return Decision("open_unverified", f"request:{mail.intent.kind}", "request from an address not on file")
        return Decision("open_case", f"request:{mail.intent.kind}", f"{mail.intent.kind} request from a contact on file")
    if mail.intent.kind == "at_risk" and mail.contact is not None:
        return Decision("at_risk", "at-risk", "a customer doubting the service: the team is told")
    return None


def unrelated(desk, session: Session, mail: Mail) -> Decision:
    kind = mail.intent.kind if mail.intent else "other"
    who = "a contact on file" if mail.contact else "an unknown sender"
    return Decision("label", "for-a-person", f"not a request ({kind}) from {who}: left for a person")


RULES: list[Rule] = [own_mail, robot, staff, outsider_commands, reply_to_case, request, unrelated]


def _is_forward(mail: Mail) -> bool:
    return bool(mail.parsed.forwarded) or mail.parsed.subject.lower().startswith(("fw:", "fwd:"))


def _phrases(desk):
    from parsers.intent import DEFAULT_PHRASES

    configured = desk.config.intent.phrases
    if not configured:
        return DEFAULT_PHRASES
    if not desk.config.intent.extend_default_phrases:
        return configured
    merged = {kind: dict(langs) for kind, langs in DEFAULT_PHRASES.items()}
    for kind, langs in configured.items():
        for lang, phrases in langs.items():
            merged.setdefault(kind, {})[lang] = tuple(merged.get(kind, {}).get(lang, ())) + tuple(phrases)
    return merged


def sender_of(parsed: ParsedMessage) -> str:
    return bare(parsed.from_.addr) if parsed.from_ and parsed.from_.addr else ""

"""Staff mail: authenticate once, run the #command lines, and answer with one results mail.

Reached through `desk.staff_mail` (daemon.cases.actions.staff) for mail whose bare
From address is staff. Only the sender's own text above the first reply or forward
boundary (any language) is read, line by line, until `#end`; known commands found below
that boundary are never run, and the results mail says so. Each line is checked (known command, role, case state) and run inside a
SAVEPOINT, so a refused or failing line leaves nothing half done while the lines before
it stand. Staff mail without commands is a forwarded customer request (a verbal case
that asks the customer to write) or a note on its case.

Customers never run commands: `refuse_outsider` answers a non-staff mail that holds
command lines with a plain refusal and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases.workflow import TransitionRefused
from daemon.commands import authz
from daemon.commands.base import CommandContext, Refused
from daemon.commands.registry import lookup
from daemon.intake import store
from daemon.mail import mailer
from daemon.mail.compose import Thread
from daemon.models import Case, OutboxEntry
from daemon.reading.agency_forwards import open_forwarded
from daemon.reading.classify import Mail
from parsers.commands import CommandLine, OwnCommands, meant_as_command, own_commands, parse_command, shown
from parsers.headers import bare_subject
from parsers.language import DEFAULT as DEFAULT_LANGUAGE
from parsers.language import detect_language

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)

# Results mails of ours a thread may hold before the desk stops answering, in it, a mail
# that ran nothing: a person replies to a results mail now and then with commands; an
# auto-responder answers every one, and never with a command of its own.
MAX_ROUNDS = 2


@dataclass(frozen=True)
class Section:
    """What one command answered at length (#status, #help): a titled block of its own."""

    title: str
    lines: list[str]


@dataclass
class Results:
    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    # Lines that look meant as a command but are not written as one ('/status', '# note');
    # greetings, sign-offs and signatures are the sender's prose and are not listed.
    near_misses: list[str] = field(default_factory=list)
    not_read: int = 0
    not_verified: str = ""
    quoted: str = ""


def handle(desk: Desk, session: Session, mail: Mail) -> None:
    own = own_commands(mail.parsed.text)
    commands, quoted = own.commands, _quoted_commands(desk, own)
    # The exact bytes: a signature covers the attachments that the stored copy has thinned.
    verdict = authz.authenticated(desk, store.original_bytes(session, mail.inbound), mail.sender)
    if not commands and not quoted:
        _without_commands(desk, session, mail, verdict)
        return
    ctx = CommandContext(desk, session, mail.case, desk.staff.get(mail.sender), mail, desk.clock.now())
    if verdict.ok:
        # Line by line, not the scan: #end stops the reading, and what lies below it is counted apart.
        results = _run_lines(ctx, list(own.lines))
    else:
        results = Results(
            refused=[f"{shown(c.line)}  ->  not run: sender not verified" for c in commands],
            not_verified=verdict.reason,
        )
    if quoted:
        results.quoted = (
            f'{len(quoted)} command line(s) below "{own.boundary}" were not run: that line '
            "looks like the start of quoted or forwarded text. Write commands at the top "
            "of your mail, above any quote."
        )
    tell_operator_of_colleague(desk, session, mail)
    log.info(
        "%s from %s: %d done, %d refused%s",
        mail.parsed.message_id,
        mail.sender,
        len(results.done),
        len(results.refused),
        "" if verdict.ok else f" (not verified: {verdict.reason})",
    )
    _keep_on_case(ctx, results)
    _send_results(ctx, results)


def _run_lines(ctx: CommandContext, lines: list[str]) -> Results:
    results = Results()
    for index, line in enumerate(lines):
        if ctx.stop:
            results.not_read = sum(1 for rest in lines[index:] if rest.strip())
            break
        command = parse_command(line)
        if command is None:
            if meant_as_command(line, ctx.desk.command_names):
                results.near_misses.append(line.strip())
            continue
        before = len(ctx.results)
        outcome, text = run_line(ctx, command)
        (results.done if outcome == "done" else results.refused).append(f"{shown(command.line)}  ->  {text}")
        if len(ctx.results) > before:
            results.sections.append(Section(_section_title(command), ctx.results[before:]))
            del ctx.results[before:]
    return results


def _section_title(line: CommandLine) -> str:
    command = lookup(line.name)
    return command.section if command and command.section else shown(line.line)


def _quoted_commands(desk: Desk, own: OwnCommands) -> list[CommandLine]:
    """Known commands below the sender's own text: never run, but worth saying so."""
    known = desk.command_names
    return [line for line in own.below if line.name in known]


def run_line(ctx: CommandContext, line: CommandLine) -> tuple[str, str]:
    """('done', message) or ('refused', reason) for one command line."""
    command = lookup(line.name)
    if command is None:
        return "refused", f"unknown command #{line.name} (#help lists them)"
    reason = authz.role_refusal(ctx.desk, command, ctx.staff) or authz.state_refusal(command, ctx.case)
    if reason:
        return "refused", reason
    return _process(ctx, command, line.args)


def _process(ctx: CommandContext, command, args: str) -> tuple[str, str]:
    case, extra_count = ctx.case, len(ctx.results)
    try:
        with ctx.session.begin_nested():
            return "done", command.process(ctx, args)
    except (Refused, TransitionRefused) as exc:
        reason = str(exc)
    except Exception:  # a fault in one command must not lose the lines before it
        log.exception("#%s failed on %s", command.name, case.reference if case else "no case")
        reason = "failed with an internal error (logged for the operator)"
    # The savepoint is gone; what the command added in memory goes with it.
    ctx.case, ctx.stop = case, False
    del ctx.results[extra_count:]
    return "refused", reason


def _keep_on_case(ctx: CommandContext, results: Results) -> None:
    """The command mail goes on the timeline of its case, with what came of it."""
    if ctx.case is None:
        return
    summary = f"{len(results.done)} done, {len(results.refused)} refused: {ctx.mail.parsed.subject}"
    if ctx.mail.inbound.case_id is None:
        cases.attach_message(
            ctx.session, ctx.case, ctx.mail.inbound, ctx.now, actor=ctx.mail.sender, summary=summary, kind="commands"
        )
    else:
        cases.record(ctx.session, ctx.case, "commands", at=ctx.now, actor=ctx.mail.sender, summary=summary)


def _send_results(ctx: CommandContext, results: Results) -> None:
    case, parsed = ctx.case, ctx.mail.parsed
    context = {
        "desk": ctx.desk.config.desk,
        "subject": _bare_subject(parsed.subject),
        "done": results.done,
        "staff_name": ctx.staff.name or ctx.staff.email,
        "refused": results.refused,
        "near_misses": results.near_misses,
        "sections": results.sections,
        "helped": any(section.title == lookup("help").section for section in results.sections),
        "not_verified": results.not_verified,
        "not_read": f"{results.not_read} line(s) below #end were not read." if results.not_read else "",
        "quoted": results.quoted,
        "case_line": f"{case.reference} (now {case.state})" if case else "",
        "unlisted": ctx.desk.staff.is_unlisted_colleague(ctx.mail.sender),
        "operator": ctx.desk.config.desk.operator,
    }
    if not (results.done or results.refused) and _rounds(ctx.session, ctx.mail) >= MAX_ROUNDS:
        log.warning(
            "%s: no results mail to %s: %d results mails of ours in this thread already",
            parsed.message_id,
            ctx.mail.sender,
            MAX_ROUNDS,
        )
        return
    # reply=True: a results mail answers the sender's own mail, so it counts against their cap.
    send_answer(ctx.desk, ctx.session, case, ctx.mail, "command_results", context, reply=True)


def _rounds(session: Session, mail: Mail) -> int:
    """How many results mails of ours this mail's thread holds: an echoing auto-responder's rounds."""
    thread = set(mail.parsed.references) | set(mail.parsed.in_reply_to)
    if not thread:
        return 0
    return (
        session.scalar(
            select(func.count(OutboxEntry.id)).where(
                OutboxEntry.message_id.in_(thread), OutboxEntry.dedupe_key.contains(":command_results:")
            )
        )
        or 0
    )


def send_answer(
    desk: Desk,
    session: Session,
    case: Case | None,
    mail: Mail,
    template: str,
    context: dict,
    *,
    reply: bool,
    language: str = DEFAULT_LANGUAGE,
) -> None:
    """One answer to `mail`, threaded under it; on the case's timeline when there is a case."""
    answering = Thread.of(mail.parsed)
    dedupe = f"{template}:{mail.inbound.id}"
    if case is not None:
        mailer.send(
            desk,
            session,
            case,
            template,
            [mail.sender],
            context,
            dedupe=dedupe,
            answering=answering,
            reply=reply,
            auto="auto-replied",
        )
        return
    mailer.send_without_case(
        desk,
        session,
        template,
        mail.sender,
        context,
        dedupe=dedupe,
        answering=answering,
        reply=reply,
        language=language,
    )


def _bare_subject(subject: str) -> str:
    return bare_subject(subject) or "(no subject)"


# -- staff mail without commands ------------------------------------------------------------


def _without_commands(desk: Desk, session: Session, mail: Mail, verdict) -> None:
    """A forward of a customer's request, or a note on the case; either only when authenticated."""
    if _is_forwarded_request(desk, mail):
        _forwarded_request(desk, session, mail, verdict)
    elif mail.case is not None and verdict.ok:
        cases.attach_message(
            session,
            mail.case,
            mail.inbound,
            desk.clock.now(),
            actor=mail.sender,
            summary=(mail.parsed.new_text or mail.parsed.subject).strip(),
            kind="note",
        )
    elif mail.case is not None:
        # Kept for the record, but as nobody's note: anyone can write a From line.
        log.warning(
            "%s: mail from %s not verified (%s): not a note", mail.parsed.message_id, mail.sender, verdict.reason
        )
        cases.attach_message(
            session,
            mail.case,
            mail.inbound,
            desk.clock.now(),
            actor="",
            summary=f"not verified as from {mail.sender}: {mail.parsed.subject}",
            kind="unverified",
        )
    elif desk.staff.is_unlisted_colleague(mail.sender):
        # A colleague the configuration does not know: a customer's answer would mislead them.
        context = {
            "desk": desk.config.desk,
            "subject": _bare_subject(mail.parsed.subject),
            "operator": desk.config.desk.operator,
        }
        send_answer(desk, session, None, mail, "staff_not_configured", context, reply=True)
        tell_operator_of_colleague(desk, session, mail)


def tell_operator_of_colleague(desk: Desk, session: Session, mail: Mail) -> None:
    """The operator hears, once per address, of a colleague writing who is not configured as staff."""
    operator = desk.config.desk.operator
    if not operator or not desk.staff.is_unlisted_colleague(mail.sender):
        return
    context = {"desk": desk.config.desk, "sender": mail.sender, "subject": mail.parsed.subject or "(no subject)"}
    mailer.send_without_case(
        desk, session, "unlisted_colleague_notice", operator, context, dedupe=f"unlisted-colleague:{mail.sender}"
    )


def _is_forwarded_request(desk: Desk, mail: Mail) -> bool:
    """A forwarded original from a customer, or, outside any case, any forward (a call note, a voicemail)."""
    originals = [f for f in mail.parsed.forwarded if f.text.strip() or (f.from_ and f.from_.addr)]
    if any(f.from_ and f.from_.addr and f.from_.addr.lower() not in desk.staff for f in originals):
        return True
    return bool(originals) and mail.case is None


def _forwarded_request(desk: Desk, session: Session, mail: Mail, verdict) -> None:
    """A customer's request passed on by staff or one of our desks: the playbook wants it in writing from them."""

    if not verdict.ok:
        ctx = CommandContext(desk, session, mail.case, desk.staff.get(mail.sender), mail, desk.clock.now())
        who = next((f.from_.addr.lower() for f in mail.parsed.forwarded if f.from_ and f.from_.addr), "a customer")
        _send_results(
            ctx, Results(refused=[f"forward of {who}'s request  ->  no case opened"], not_verified=verdict.reason)
        )
        return
    mail.case = open_forwarded(desk, session, mail)


# -- customers ------------------------------------------------------------------------------


def refuse_outsider(desk: Desk, session: Session, mail: Mail) -> None:
    """Command lines from someone who is not staff: a plain refusal, nothing else."""
    names = sorted({c.name for c in own_commands(mail.parsed.text).commands})
    context = {
        "desk": desk.config.desk,
        "subject": _bare_subject(mail.parsed.subject),
        "commands": ", ".join(f"#{name}" for name in names),
    }
    log.warning("%s: #commands from %s, who is not staff: refused", mail.parsed.message_id, mail.sender)
    # Outside a case there is no language kept: the mail's own words tell it.
    send_answer(
        desk,
        session,
        mail.case,
        mail,
        "commands_not_for_customers",
        context,
        reply=True,
        language=detect_language(mail.parsed.new_text or mail.parsed.text),
    )

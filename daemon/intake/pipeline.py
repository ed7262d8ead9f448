"""Process stored mail: parse, classify and act, one transaction per mail.

A mail that raises is marked failed with its traceback (Mailman's shunt queue) and tried
again on the next pass; after `intake.max_attempts` failures it is set aside, so one
poisonous mail never becomes a crash loop. `canceldesk reprocess ID` puts it back.

When a few mails arrive, each customer is answered first: the mail's transaction stops at
the handlers' AFTER_THE_ANSWER (daemon.events) with the acknowledgment queued, the caller
sends it, and a second transaction does the rest of what the case's opening causes (team
notice, invitations, sheet rows, timers). Between the two the mail is ANSWERED with the
state changes still to follow up listed on it, so a stop or a crash there resumes with the
rest, and never answers twice. A backlog keeps one transaction per mail.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from daemon.cases.actions import ACTIONS
from daemon.cases.workflow import ANSWER_FIRST, FOLLOW_UPS, recorded_event
from daemon.db import transaction
from daemon.intake import claims
from daemon.intake.preview import Preview, Recorder
from daemon.models import CaseEvent, InboundMessage, MessageStatus
from daemon.reading.classify import Decision, Mail, classify, sender_of
from daemon.tables import progress
from parsers.message import parse_message

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    message_id: int
    status: MessageStatus
    decision: Decision | None
    case_reference: str = ""


# Up to this many mails in one pass, each is answered first; a backlog is answered by the
# sweep's one delivery pass at the end (one connection to the relay, not one per mail).
ANSWER_AT_ONCE_UP_TO = 5

# What a staff member's mail does is answered in full, not first: a command's result may
# tell of what its handlers did.
_ANSWERED_IN_FULL = frozenset({"staff", "refuse_commands"})


def process_pending(desk: Desk, limit: int = 1000, deliver_answers: Callable[[], None] | None = None) -> list[Outcome]:
    """Process every stored mail that is waiting, oldest first, until the desk is stopping.

    With `deliver_answers` (sends the answers committed so far) and a pass of a few mails,
    each mail is answered first (`process_one`).
    """
    outcomes = []
    waiting = _waiting(desk, limit)
    answer = deliver_answers if len(waiting) <= ANSWER_AT_ONCE_UP_TO else None
    for message_id in progress(waiting, total=len(waiting), label="processing mail"):
        if desk.stopping.is_set():
            break  # the rest stays stored and waiting: the next start goes on from there
        outcome = process_one(desk, message_id, answer=answer)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def process_one(desk: Desk, message_id: int, answer: Callable[[], None] | None = None) -> Outcome | None:
    """Process one stored mail if it still waits; None when it is done or another process has it.

    With `answer`, the mail is answered first: `answer()` runs between the transaction that
    queues the answer and the one that follows it up.
    """
    try:
        outcome = _take_up(desk, message_id, answer)
        if outcome is not None and answer is not None:
            answer()
        if outcome is None or outcome.status is not MessageStatus.ANSWERED:
            return outcome
        followed = _take_up(desk, message_id, answer)  # finds the follow-ups listed on the mail
        return replace(outcome, status=followed.status) if followed is not None else outcome
    except Unreadable as exc:
        return _record_failure(desk, message_id, f"set aside: {exc}", give_up=True)
    except Exception:  # anything: the mail is shunted, the daemon goes on
        return _record_failure(desk, message_id, traceback.format_exc())


def _take_up(desk: Desk, message_id: int, answer: Callable[[], None] | None) -> Outcome | None:
    """One transaction of case work on the stored mail, if it still waits: what is left of it."""
    with desk.case_work, transaction(desk.factory) as session:
        claims.lock_case_work(session)
        inbound = claims.claim_waiting(session, message_id)
        if inbound is None:
            return None
        if inbound.follow_ups:  # answered already (just now, or before a stop or a failure)
            return _follow_up(desk, session, inbound)
        return _process(desk, session, inbound, answer)


def _follow_up(desk: Desk, session: Session, inbound: InboundMessage) -> Outcome:
    """The handlers left for after the answer, for each state change of the mail, in order."""
    for record_id in inbound.follow_ups or ():
        record = session.get(CaseEvent, record_id)
        if record is not None:  # None only if the change itself was rolled back with a savepoint
            desk.bus.follow_up(session, record.case, recorded_event(record))
    inbound.follow_ups = None
    inbound.status = MessageStatus.PROCESSED
    return Outcome(inbound.id, inbound.status, None)


def dry_run(desk: Desk, raw: bytes) -> Preview:
    """Classify and act on `raw` in a transaction that is rolled back: shows, changes nothing."""
    with desk.factory() as session:
        recorder = Recorder(session)
        inbound = InboundMessage(
            mailbox="replay",
            message_key="dry-run",
            raw=raw,
            received_at=desk.clock.now(),
            status=MessageStatus.RECEIVED,
            attempts=0,
            error="",
            marked_on_server=True,
            label="",
            label_reason="",
        )
        session.add(inbound)
        session.flush()
        try:
            mail, decision = _classify_and_act(desk, session, inbound)
            session.flush()
            # Read everything while the rows exist: the rollback expires every object.
            return Preview(
                decision.label,
                decision.reason,
                decision.action,
                _case_line(mail.case),
                tuple(mail.notes),
                recorder.happenings(desk.config.desk.timezone),
                tuple(mail.intent.explain()) if mail.intent is not None else (),
            )
        finally:
            session.rollback()


def _case_line(case) -> str:
    return f"{case.reference} ({case.state})" if case is not None else ""


def _process(desk: Desk, session: Session, inbound: InboundMessage, answer: Callable[[], None] | None) -> Outcome:
    mail, decision = _classify_and_act(desk, session, inbound, answer_first=answer is not None)
    inbound.follow_ups = session.info.pop(FOLLOW_UPS, None)
    inbound.status = MessageStatus.ANSWERED if inbound.follow_ups else MessageStatus.PROCESSED
    inbound.label = decision.label
    inbound.label_reason = "; ".join([decision.reason, *mail.notes])[:2000]
    inbound.case_id = inbound.case_id or (mail.case.id if mail.case else None)
    reference = mail.case.reference if mail.case else ""
    log.info(
        "%s from %s: %s (%s)%s",
        mail.parsed.message_id or f"message #{inbound.id}",
        mail.sender or "?",
        decision.label,
        decision.reason,
        f" -> {reference}" if reference else "",
    )
    return Outcome(inbound.id, inbound.status, decision, reference)


class Unreadable(Exception):
    """The mail cannot be read safely: set aside at once, with the reason, for a person."""


def _classify_and_act(
    desk: Desk, session: Session, inbound: InboundMessage, *, answer_first: bool = False
) -> tuple[Mail, Decision]:
    parsed = parse_message(inbound.raw)
    if parsed.unreadable:
        raise Unreadable(parsed.unreadable)
    mail = Mail(inbound=inbound, parsed=parsed, sender=sender_of(parsed))
    decision = classify(desk, session, mail)
    session.info[ANSWER_FIRST] = answer_first and decision.action not in _ANSWERED_IN_FULL
    ACTIONS[decision.action](desk, session, mail, decision)
    return mail, decision


def _record_failure(desk: Desk, message_id: int, trace: str, *, give_up: bool = False) -> Outcome | None:
    with transaction(desk.factory) as session:
        # Re-read under a lock: another process may have processed it meanwhile.
        inbound = session.get(InboundMessage, message_id, with_for_update=True)
        if inbound is None or inbound.status not in claims.WAITING:
            return None
        inbound.attempts += 1
        inbound.error = trace[-8000:]
        give_up = give_up or inbound.attempts >= desk.config.intake.max_attempts
        inbound.status = MessageStatus.SET_ASIDE if give_up else MessageStatus.FAILED
    last_line = trace.strip().splitlines()[-1]
    if give_up:
        log.error("message #%s set aside after %s failures: %s", message_id, inbound.attempts, last_line)
    else:
        log.warning("message #%s failed (attempt %s), will retry: %s", message_id, inbound.attempts, last_line)
    return Outcome(message_id, inbound.status, None)


def _waiting(desk: Desk, limit: int) -> list[int]:
    with transaction(desk.factory) as session:
        return list(session.scalars(_WAITING, {"limit": limit}))


# Built once: every sweep asks, and building a statement costs about as much as running it.
_WAITING = (
    select(InboundMessage.id)
    .where(InboundMessage.status.in_(claims.WAITING))
    .order_by(InboundMessage.id)
    .limit(bindparam("limit"))
)


def reprocess(desk: Desk, message_id: int) -> Outcome:
    """Put a failed, set-aside or processed mail back and process it now."""
    with transaction(desk.factory) as session:
        inbound = session.get(InboundMessage, message_id)
        if inbound is None:
            raise LookupError(f"no stored message #{message_id}")
        inbound.status = MessageStatus.RECEIVED
        inbound.attempts = 0
    return process_now(desk, message_id)


def process_now(desk: Desk, message_id: int) -> Outcome:
    """Process one mail now; if another process got to it first, what became of it there."""
    outcome = process_one(desk, message_id)
    if outcome is not None:
        return outcome
    with transaction(desk.factory) as session:
        inbound = session.get(InboundMessage, message_id)
        return Outcome(message_id, inbound.status, None)

"""Process stored mail: parse, classify and act, one transaction per mail.

A mail that raises is marked failed with its traceback (Mailman's shunt queue) and tried
again on the next pass; after `intake.max_attempts` failures it is set aside, so one
poisonous mail never becomes a crash loop. `canceldesk reprocess ID` puts it back.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.cases.actions import ACTIONS
from daemon.db import transaction
from daemon.intake import claims
from daemon.intake.preview import Preview, Recorder
from daemon.models import InboundMessage, MessageStatus
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


def process_pending(desk: Desk, limit: int = 1000, after_each: Callable[[int], None] | None = None) -> list[Outcome]:
    """Process every stored mail that is waiting, oldest first, until the desk is stopping.

    `after_each(waiting)` runs after each mail's transaction has committed; `waiting` is
    how many mails this pass took up.
    """
    outcomes = []
    waiting = _waiting(desk, limit)
    for message_id in progress(waiting, total=len(waiting), label="processing mail"):
        if desk.stopping.is_set():
            break  # the rest stays stored and waiting: the next start goes on from there
        outcome = process_one(desk, message_id)
        if outcome is not None:
            outcomes.append(outcome)
        if after_each is not None:
            after_each(len(waiting))
    return outcomes


def process_one(desk: Desk, message_id: int) -> Outcome | None:
    """Process one stored mail if it still waits; None when it is done or another process has it."""
    try:
        with desk.case_work, transaction(desk.factory) as session:
            claims.lock_case_work(session)
            inbound = claims.claim_waiting(session, message_id)
            return _process(desk, session, inbound) if inbound is not None else None
    except Unreadable as exc:
        return _record_failure(desk, message_id, f"set aside: {exc}", give_up=True)
    except Exception:  # anything: the mail is shunted, the daemon goes on
        return _record_failure(desk, message_id, traceback.format_exc())


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


def _process(desk: Desk, session: Session, inbound: InboundMessage) -> Outcome:
    mail, decision = _classify_and_act(desk, session, inbound)
    inbound.status = MessageStatus.PROCESSED
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


def _classify_and_act(desk: Desk, session: Session, inbound: InboundMessage) -> tuple[Mail, Decision]:
    parsed = parse_message(inbound.raw)
    if parsed.unreadable:
        raise Unreadable(parsed.unreadable)
    mail = Mail(inbound=inbound, parsed=parsed, sender=sender_of(parsed))
    decision = classify(desk, session, mail)
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
        return list(
            session.scalars(
                select(InboundMessage.id)
                .where(InboundMessage.status.in_([MessageStatus.RECEIVED, MessageStatus.FAILED]))
                .order_by(InboundMessage.id)
                .limit(limit)
            )
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

"""The case workflow as a table: states, triggers, the transitions between them, and `advance()`.

Nothing else assigns `Case.state`. `advance()` checks the table, sets the state, appends a
timeline event and hands the resulting domain event to the bus, where effects (mail,
sheets, timers) subscribe. Mail, staff commands and timers all move a case through here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.collections import collection_adapter

from daemon.db import unwritten
from daemon.models import Case, CaseEvent, State


class Trigger(str, enum.Enum):
    OPENED = "opened"
    OPENED_UNVERIFIED = "opened_unverified"
    VERBAL_REPORTED = "verbal_reported"
    QUESTION_ASKED = "question_asked"  # "how do I cancel?": the customer is asked to confirm in writing
    WRITTEN_REQUEST_RECEIVED = "written_request_received"
    WRITTEN_UNVERIFIED = "written_request_unverified"  # in writing, but from an address not on file
    IDENTITY_VERIFIED = "identity_verified"
    CALL_SCHEDULED = "call_scheduled"
    CALL_CANCELLED = "call_cancelled"
    CALL_DECLINED = "call_declined"  # the customer declined: the request stands all the same
    SAVE_ATTEMPTED = "save_attempted"
    SAVED = "saved"
    DECIDED = "decided"  # keep / cancel / pause decisions complete
    APPROVAL_STEP_DONE = "approval_step_done"  # one approver said yes; the chain goes on
    APPROVAL_REJECTED = "approval_rejected"
    APPROVED = "approved"
    OFFBOARDING_STARTED = "offboarding_started"
    PAUSE_STARTED = "pause_started"
    CHANGE_APPLIED = "change_applied"
    CLOSED = "closed"
    RESUMED = "resumed"
    WON_BACK = "won_back"
    WITHDRAWN = "withdrawn"
    REOPENED = "reopened"


S, T = State, Trigger
ACTIVE = (S.OPEN, S.CALL_SCHEDULED, S.SAVE_ATTEMPTED)  # the save attempt runs: staff may call and decide
# A customer may withdraw at any point before the case is closed, a running pause included.
_BEFORE_CLOSURE = (
    S.AWAITING_WRITTEN,
    S.AWAITING_IDENTITY,
    *ACTIVE,
    S.PENDING_APPROVAL,
    S.APPROVED,
    S.OFFBOARDING,
    S.PAUSED,
)

# (from state, trigger) -> to state. The one place that says what may follow what.
TRANSITIONS: dict[tuple[State | None, Trigger], State] = {
    (None, T.OPENED): S.OPEN,
    (None, T.OPENED_UNVERIFIED): S.AWAITING_IDENTITY,
    (None, T.VERBAL_REPORTED): S.AWAITING_WRITTEN,
    (None, T.QUESTION_ASKED): S.AWAITING_WRITTEN,
    (S.AWAITING_WRITTEN, T.WRITTEN_REQUEST_RECEIVED): S.OPEN,
    (S.AWAITING_WRITTEN, T.WRITTEN_UNVERIFIED): S.AWAITING_IDENTITY,
    (S.AWAITING_IDENTITY, T.IDENTITY_VERIFIED): S.OPEN,
    **{(state, T.CALL_SCHEDULED): S.CALL_SCHEDULED for state in ACTIVE},
    (S.CALL_SCHEDULED, T.CALL_CANCELLED): S.OPEN,
    (S.CALL_SCHEDULED, T.CALL_DECLINED): S.OPEN,
    **{(state, T.SAVE_ATTEMPTED): S.SAVE_ATTEMPTED for state in ACTIVE},
    **{(state, T.SAVED): S.SAVED for state in (*ACTIVE, S.PENDING_APPROVAL)},
    # Deciding again while approvals run (a decision amended) starts a new approval round.
    **{(state, T.DECIDED): S.PENDING_APPROVAL for state in (*ACTIVE, S.PENDING_APPROVAL)},
    (S.PENDING_APPROVAL, T.APPROVAL_STEP_DONE): S.PENDING_APPROVAL,
    (S.PENDING_APPROVAL, T.APPROVAL_REJECTED): S.SAVE_ATTEMPTED,
    (S.PENDING_APPROVAL, T.APPROVED): S.APPROVED,
    (S.APPROVED, T.OFFBOARDING_STARTED): S.OFFBOARDING,
    (S.APPROVED, T.PAUSE_STARTED): S.PAUSED,
    (S.APPROVED, T.CHANGE_APPLIED): S.CHANGED,
    (S.OFFBOARDING, T.CLOSED): S.CLOSED,
    (S.PAUSED, T.RESUMED): S.CLOSED,
    (S.CLOSED, T.WON_BACK): S.WON_BACK,
    **{(state, T.WITHDRAWN): S.WITHDRAWN for state in _BEFORE_CLOSURE},
    **{(state, T.REOPENED): S.OPEN for state in (S.CLOSED, S.SAVED, S.WITHDRAWN, S.CHANGED)},
}

# The triggers after which a case is live and verified: the moments to review the
# contract, acknowledge and propose the save call.
BECOMES_ACTIVE = (Trigger.OPENED, Trigger.IDENTITY_VERIFIED, Trigger.WRITTEN_REQUEST_RECEIVED, Trigger.REOPENED)

# The states in which a case no longer waits for anything from anyone.
FINISHED = frozenset({S.SAVED, S.CLOSED, S.WON_BACK, S.WITHDRAWN, S.CHANGED})


# A state change's line on the timeline is "state:<trigger>".
STATE_PREFIX = "state:"


class TransitionRefused(Exception):
    """The trigger does not apply in the case's state; the message says so in plain words."""


class StepRefused(Exception):
    """A playbook step cannot be taken as asked (bad date, unknown service, not the approver); says why."""


@dataclass(frozen=True)
class DomainEvent:
    name: str
    case_id: int
    from_state: State | None
    to_state: State
    actor: str
    data: dict[str, Any] = field(default_factory=dict)
    record: CaseEvent | None = field(default=None, compare=False, repr=False)  # its line on the case's timeline

    @property
    def record_id(self) -> int | None:
        """The id of its line on the timeline, written when first asked for: most handlers
        never ask, and a flush of its own costs about as much as the statements it writes."""
        if self.record is None:
            return None
        if self.record.id is None:
            session = object_session(self.record)
            assert session is not None, "the line is asked for inside the transaction that added it"
            session.flush()
        return self.record.id


Subscriber = Callable[[Session, Case, DomainEvent], object]


class AfterTheAnswer:
    """Where a trigger's handlers may pause while the customer's answer goes out (daemon.events)."""

    def __repr__(self) -> str:
        return "AFTER_THE_ANSWER"


AFTER_THE_ANSWER = AfterTheAnswer()

# session.info keys: the transaction answers first (set by the intake pipeline), and the
# events whose remaining handlers wait for the next transaction (timeline ids, in order).
ANSWER_FIRST = "answer_first"
FOLLOW_UPS = "follow_ups"


class EventBus:
    """Effects subscribe by trigger name; they run inside the caller's transaction.

    A trigger's list may hold AFTER_THE_ANSWER. In a transaction that answers first, the
    handlers after it are left for `follow_up()` in the next transaction, once the
    customer's answer has been committed and sent; anywhere else it is passed over.
    """

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber | AfterTheAnswer]] = {}

    def subscribe(self, trigger: Trigger, subscriber: Subscriber | AfterTheAnswer) -> None:
        self._subscribers.setdefault(trigger.value, []).append(subscriber)

    def publish(self, session: Session, case: Case, event: DomainEvent) -> None:
        for subscriber in self._subscribers.get(event.name, []):
            if subscriber is AFTER_THE_ANSWER:
                if session.info.get(ANSWER_FIRST):
                    session.info.setdefault(FOLLOW_UPS, []).append(event.record_id)
                    return
                continue
            subscriber(session, case, event)  # type: ignore[operator]

    def follow_up(self, session: Session, case: Case, event: DomainEvent) -> None:
        """Run the handlers `publish` left for after the answer."""
        handlers = self._subscribers.get(event.name, [])
        for subscriber in handlers[handlers.index(AFTER_THE_ANSWER) + 1 :]:
            subscriber(session, case, event)  # type: ignore[operator]


def can_advance(case: Case, trigger: Trigger) -> bool:
    return (_state_of(case), trigger) in TRANSITIONS


def advance(
    session: Session,
    bus: EventBus,
    case: Case,
    trigger: Trigger,
    *,
    actor: str,
    at,
    summary: str = "",
    message_id: int | None = None,
    **data: Any,
) -> DomainEvent:
    """Move `case` by `trigger`: check the table, set the state, record it, publish it."""
    before = _state_of(case)
    after = TRANSITIONS.get((before, trigger))
    if after is None:
        where = before.value.replace("_", " ") if before else "a new case"
        raise TransitionRefused(f"cannot {trigger.value.replace('_', ' ')} in state '{where}'")
    case.state = after
    record = CaseEvent(
        at=at,
        kind=f"{STATE_PREFIX}{trigger.value}",
        actor=actor,
        message_id=message_id,
        summary=summary or f"{before.value if before else 'new'} -> {after.value}",
        data={"from": before.value if before else None, "to": after.value, **_jsonable(data)},
    )
    add_event(session, case, record)
    event = DomainEvent(trigger.value, case.id, before, after, actor, dict(data), record)
    bus.publish(session, case, event)
    return event


def add_event(session: Session, case: Case, event: CaseEvent) -> None:
    """A line on the case's timeline, without reading the timeline for it.

    Appending to `case.events` loads every line the case has (a long case's whole history,
    and a flush before it) to add one; a timeline not loaded yet is not needed here, and
    one that is gets the line in its place."""
    if case.id is None:
        case.events.append(event)  # its id, and so the line's, come with the first flush
        return
    event.case_id = case.id
    session.add(event)
    if "events" not in inspect(case).unloaded:
        if session.in_nested_transaction():
            case.events.append(event)  # a savepoint rolled back must take the line out again
        else:
            # Into the timeline in hand as the table will have it, without the relationship's
            # events: the line's case_id already says whose it is, and nothing is left for the
            # flush to reconcile. A rollback reloads the timeline, line and all.
            collection_adapter(case.events).append_without_event(event)


def unwritten_lines(session: Session, case: Case) -> list[CaseEvent]:
    """The case's timeline lines not written yet (`db.unwritten`): added by its id, or to
    its `events` (then only the line's `case` says whose it is)."""
    return [
        line
        for line in unwritten(session, CaseEvent)
        if (line.case_id is not None and line.case_id == case.id) or inspect(line).dict.get("case") is case
    ]


def recorded_event(record: CaseEvent) -> DomainEvent:
    """The domain event a state change's timeline line records, as `advance()` published it
    (its data as stored: the values handlers read are strings and lists already)."""
    data = dict(record.data or {})
    before, after = data.pop("from", None), data.pop("to")
    return DomainEvent(
        record.kind.removeprefix(STATE_PREFIX),
        record.case_id,
        State(before) if before else None,
        State(after),
        record.actor,
        data,
        record,
    )


def _state_of(case: Case) -> State | None:
    return State(case.state) if case.state else None


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)
        for key, value in data.items()
    }

"""What each workflow event causes, and in what order: the one subscription table.

`daemon.cases.workflow.advance()` publishes a domain event when a case moves; every handler it
runs is listed here, per trigger, in the order it runs. No domain module subscribes
itself. The order is part of the behaviour:

- the customer's mail (acknowledgment, summary) comes before the work it announces; where a
  request opens a case, AFTER_THE_ANSWER lets the mail pipeline commit and send the
  acknowledgment before the team notice, invitations, sheet rows and timers (a second
  transaction, resumed from the timeline after a crash: daemon.intake.pipeline);
- a note about a look-alike unverified case follows the acknowledgment and team notice;
- the sheet rows are queued after the steps that make them (decisions, approval steps,
  offboarding items);
- the timers come last: approval reminders are planned for the steps asked above.

Every handler takes (desk, session, case, event) and runs inside the caller's transaction;
what it sends goes through the outbox (daemon.mail.mailer) and leaves after commit.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session

from daemon.cases import effects, opening
from daemon.cases.workflow import AFTER_THE_ANSWER, AfterTheAnswer, DomainEvent, Trigger
from daemon.desk import Desk
from daemon.models import Case
from daemon.playbook import approvals, calls, contract, decisions, offboarding
from daemon.timers import plan

Handler = Callable[[Desk, Session, Case, DomainEvent], object]


def sheet_rows(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """Queue the case's changed sheet rows; the projection decides which rows a case has."""
    if desk.sheets is not None:
        desk.sheets.enqueue_case(session, case)


T = Trigger
SUBSCRIPTIONS: dict[Trigger, tuple[Handler | AfterTheAnswer, ...]] = {
    # A request opens or becomes actionable: acknowledge, then review, propose the call, start the SLA.
    T.OPENED: (
        effects.acknowledge,
        AFTER_THE_ANSWER,
        effects.tell_team,
        opening.tell_of_lookalikes,
        contract.keep_review,
        calls.propose,
        sheet_rows,
        plan.start_sla,
    ),
    T.OPENED_UNVERIFIED: (effects.ask_to_verify, sheet_rows),
    T.VERBAL_REPORTED: (opening.ask_in_writing, sheet_rows),
    T.QUESTION_ASKED: (opening.ask_to_confirm, sheet_rows),
    T.WRITTEN_REQUEST_RECEIVED: (
        opening.acknowledge,
        AFTER_THE_ANSWER,
        opening.tell_team,
        opening.tell_of_lookalikes,
        contract.keep_review,
        calls.propose,
        sheet_rows,
        plan.start_sla,
    ),
    T.WRITTEN_UNVERIFIED: (effects.ask_to_verify, sheet_rows),
    T.IDENTITY_VERIFIED: (
        opening.acknowledge,
        AFTER_THE_ANSWER,
        opening.tell_team,
        opening.tell_of_lookalikes,
        contract.keep_review,
        calls.propose,
        sheet_rows,
        plan.start_sla,
    ),
    T.REOPENED: (
        opening.acknowledge,
        AFTER_THE_ANSWER,
        opening.tell_team,
        opening.tell_of_lookalikes,
        contract.keep_review,
        calls.propose,
        sheet_rows,
        plan.end_timers,
    ),
    # The save attempt.
    T.CALL_SCHEDULED: (sheet_rows,),
    T.CALL_CANCELLED: (sheet_rows,),
    T.CALL_DECLINED: (sheet_rows,),
    T.SAVE_ATTEMPTED: (sheet_rows, plan.settle_timers),
    T.SAVED: (calls.call_off, decisions.send_summary, approvals.end_round, sheet_rows, plan.end_timers),
    # Decisions and their approval.
    T.DECIDED: (approvals.start_round, sheet_rows, plan.approval_timers, plan.settle_timers),
    T.APPROVAL_STEP_DONE: (sheet_rows, plan.approval_timers),
    T.APPROVAL_REJECTED: (sheet_rows, plan.settle_timers),
    T.APPROVED: (decisions.send_summary, offboarding.process_approved, sheet_rows, plan.settle_timers),
    # What the approval starts, and the end of the case.
    T.OFFBOARDING_STARTED: (offboarding.begin, sheet_rows, plan.offboarding_timers),
    T.PAUSE_STARTED: (offboarding.announce_pause, sheet_rows, plan.pause_timers),
    T.CHANGE_APPLIED: (offboarding.begin, sheet_rows),
    T.CLOSED: (sheet_rows, plan.after_closure_timers),
    T.RESUMED: (sheet_rows,),
    T.WON_BACK: (sheet_rows, plan.end_timers),
    T.WITHDRAWN: (calls.call_off, approvals.end_round, sheet_rows, plan.end_timers),
}


def subscribe(desk: Desk) -> None:
    """Hand the table to the desk's bus, each handler bound to the desk."""
    for trigger, handlers in SUBSCRIPTIONS.items():
        for handler in handlers:
            desk.bus.subscribe(trigger, handler if isinstance(handler, AfterTheAnswer) else partial(handler, desk))

"""When each timer is set: the workflow events that start (and end) a case's timers.

Subscribed to the event bus by `register`, so this module reads as the timetable of the
playbook: the SLA clock starts with the notice, approval reminders with each step asked,
effective-date reminders and the closure with offboarding, thank-you and win-back letters
with the closure, resume reminders with a pause; a saved, withdrawn, reopened or won-back
case ends whatever was still pending. Due times are computed here, in local time
(daemon.business_calendar), and stored in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import timers
from daemon.business_calendar import add_business_days, at_local, customer_day_at, next_business_slot
from daemon.cases.workflow import DomainEvent, Trigger
from daemon.models import ApprovalStep, Case, StepStatus
from daemon.playbook import decisions

if TYPE_CHECKING:
    from daemon.desk import Desk

# A case leaving the playbook this way needs none of its pending timers any more.
ENDING = {
    Trigger.SAVED: "the customer stays",
    Trigger.WITHDRAWN: "the request was withdrawn",
    Trigger.REOPENED: "the case was reopened",
    Trigger.WON_BACK: "the customer came back",
}
SLA_KINDS = ("sla_call_scheduled", "sla_call_held")
APPROVAL_KINDS = ("approval_reminder", "approval_escalation")
# Steps that settle what some timers were waiting for: those are ended, the rest go on.
SETTLING = {
    Trigger.SAVE_ATTEMPTED: (SLA_KINDS, "the save call was held"),
    Trigger.DECIDED: (SLA_KINDS, "the decisions are made"),
    Trigger.APPROVED: (APPROVAL_KINDS, "the approval chain is complete"),
    Trigger.APPROVAL_REJECTED: (APPROVAL_KINDS, "an approver rejected the decisions"),
}


def end_timers(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """The case no longer waits for anything: every pending timer ends (why: `ENDING`)."""
    timers.cancel_pending(desk, session, case, ENDING[Trigger(event.name)])


def settle_timers(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """A step settled what some timers waited for: those end (`SETTLING`), the rest go on."""
    kinds, why = SETTLING[Trigger(event.name)]
    timers.cancel_pending(desk, session, case, why, kinds)


def start_sla(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    cal, settings = desk.calendar, desk.config.timers
    notice = desk.clock.now()
    timers.schedule(
        desk,
        session,
        case,
        "sla_call_scheduled",
        add_business_days(notice, settings.sla_call_scheduled_business_days, cal),
    )
    timers.schedule(
        desk, session, case, "sla_call_held", add_business_days(notice, settings.sla_call_held_business_days, cal)
    )


def approval_timers(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """One reminder and one escalation per approval step now asked (seq: the step's id)."""
    cal, settings = desk.calendar, desk.config.timers
    for step in asked_steps(session, case):
        asked = step.asked_at or desk.clock.now()
        timers.schedule(
            desk,
            session,
            case,
            "approval_reminder",
            next_business_slot(asked + timedelta(hours=settings.approval_reminder_hours), cal),
            seq=step.id,
            step_id=step.id,
        )
        timers.schedule(
            desk,
            session,
            case,
            "approval_escalation",
            next_business_slot(asked + timedelta(hours=settings.approval_escalation_hours), cal),
            seq=step.id,
            step_id=step.id,
        )


def offboarding_timers(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    cal, settings = desk.calendar, desk.config.timers
    days = decisions.final_days(session, case)
    for position, (service, day) in enumerate(sorted(days.items())):
        for index, before in enumerate(settings.effective_date_reminder_days):
            due = next_business_slot(at_local(day - timedelta(days=before), cal.opens, cal.zone), cal)
            if due > desk.clock.now():
                timers.schedule(
                    desk,
                    session,
                    case,
                    "effective_date_reminder",
                    due,
                    seq=index * 1000 + position,
                    service=service,
                    day=day.isoformat(),
                    days_before=before,
                )
    if days:
        last = max(days.values())
        timers.schedule(desk, session, case, "closure", customer_moment(desk, case, last), day=last.isoformat())


def pause_timers(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    resume = decisions.resume_day(session, case)
    if resume is None:
        return
    before = resume - timedelta(days=desk.config.timers.pause_resume_reminder_days)
    timers.schedule(
        desk, session, case, "pause_resume_reminder", customer_moment(desk, case, before), day=resume.isoformat()
    )
    timers.schedule(desk, session, case, "pause_resume", customer_moment(desk, case, resume), day=resume.isoformat())


def after_closure_timers(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    settings = desk.config.timers
    closed = local_day(desk, case, desk.clock.now())
    timers.schedule(
        desk,
        session,
        case,
        "thank_you",
        customer_moment(desk, case, closed + timedelta(days=settings.thank_you_days_after_closure)),
    )
    timers.schedule(
        desk,
        session,
        case,
        "feedback_request",
        customer_moment(desk, case, closed + timedelta(days=settings.feedback_days_after_closure)),
    )
    for seq, days in enumerate(settings.winback_days):
        timers.schedule(
            desk,
            session,
            case,
            "winback",
            customer_moment(desk, case, closed + timedelta(days=days)),
            seq=seq,
            days_after_closure=days,
        )


def customer_moment(desk: Desk, case: Case, day: date) -> datetime:
    """The configured send hour on `day` in the customer's zone, moved to a sendable moment."""
    send_hour = time.fromisoformat(desk.config.timers.customer_send_hour)
    return customer_day_at(day, send_hour, customer_zone(desk, case), desk.calendar)


def customer_zone(desk: Desk, case: Case) -> str:
    return case.account.timezone if case.account and case.account.timezone else desk.config.business.timezone


def local_day(desk: Desk, case: Case, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(customer_zone(desk, case))).date()


def asked_steps(session: Session, case: Case) -> list[ApprovalStep]:
    return list(
        session.scalars(
            select(ApprovalStep).where(ApprovalStep.case_id == case.id, ApprovalStep.status == StepStatus.ASKED)
        )
    )

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
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import timers
from daemon.business_calendar import add_business_days, at_local, customer_day_at, next_business_slot
from daemon.models import ApprovalStep, Case, ServiceDecision
from daemon.workflow import DomainEvent, Trigger

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


def register(desk) -> None:
    """Subscribe the timetable; call after the subscribers that ask approval steps."""
    from daemon import timers_jobs, timers_letters  # noqa: F401 (timers_jobs fills timers.HANDLERS)

    assert set(timers.LABELS) == set(timers.HANDLERS), "every timer kind needs a handler"
    desk.extras["business_calendar"] = desk.config.business.calendar()
    desk.extras["pending_timers"] = timers.pending_timers
    desk.extras["stop_winback"] = timers_letters.stop_winback
    subscriptions = {
        Trigger.OPENED: _start_sla, Trigger.IDENTITY_VERIFIED: _start_sla,
        Trigger.WRITTEN_REQUEST_RECEIVED: _start_sla,
        Trigger.DECIDED: _approval_timers, Trigger.APPROVAL_STEP_DONE: _approval_timers,
        Trigger.OFFBOARDING_STARTED: _offboarding_timers, Trigger.PAUSE_STARTED: _pause_timers,
        Trigger.CLOSED: _after_closure_timers,
    }
    for trigger, plan in subscriptions.items():
        desk.bus.subscribe(trigger, lambda s, c, e, plan=plan: plan(desk, s, c, e))
    for trigger, why in ENDING.items():
        desk.bus.subscribe(trigger, lambda s, c, e, why=why: timers.cancel_pending(desk, s, c, why))
    for trigger, (kinds, why) in SETTLING.items():
        desk.bus.subscribe(trigger, lambda s, c, e, kinds=kinds, why=why: timers.cancel_pending(desk, s, c, why, kinds))


def _start_sla(desk, session: Session, case: Case, event: DomainEvent) -> None:
    cal, settings = desk.extras["business_calendar"], desk.config.timers
    notice = desk.clock.now()
    timers.schedule(desk, session, case, "sla_call_scheduled",
                    add_business_days(notice, settings.sla_call_scheduled_business_days, cal))
    timers.schedule(desk, session, case, "sla_call_held",
                    add_business_days(notice, settings.sla_call_held_business_days, cal))


def _approval_timers(desk, session: Session, case: Case, event: DomainEvent) -> None:
    """One reminder and one escalation per approval step now asked (seq: the step's id)."""
    cal, settings = desk.extras["business_calendar"], desk.config.timers
    for step in asked_steps(session, case):
        asked = step.asked_at or desk.clock.now()
        timers.schedule(desk, session, case, "approval_reminder", next_business_slot(
            asked + timedelta(hours=settings.approval_reminder_hours), cal), seq=step.id, step_id=step.id)
        timers.schedule(desk, session, case, "approval_escalation", next_business_slot(
            asked + timedelta(hours=settings.approval_escalation_hours), cal), seq=step.id, step_id=step.id)


def _offboarding_timers(desk, session: Session, case: Case, event: DomainEvent) -> None:
    cal, settings = desk.extras["business_calendar"], desk.config.timers
    days = final_days(session, case)
    for position, (service, day) in enumerate(sorted(days.items())):
        for index, before in enumerate(settings.effective_date_reminder_days):
            due = next_business_slot(at_local(day - timedelta(days=before), cal.opens, cal.zone), cal)
            if due > desk.clock.now():
                timers.schedule(desk, session, case, "effective_date_reminder", due, seq=index * 1000 + position,
                                service=service, day=day.isoformat(), days_before=before)
    if days:
        last = max(days.values())
        timers.schedule(desk, session, case, "closure", customer_moment(desk, case, last), day=last.isoformat())


def _pause_timers(desk, session: Session, case: Case, event: DomainEvent) -> None:
    resume = resume_day(session, case)
    if resume is None:
        return
    before = resume - timedelta(days=desk.config.timers.pause_resume_reminder_days)
    timers.schedule(desk, session, case, "pause_resume_reminder", customer_moment(desk, case, before),
                    day=resume.isoformat())
    timers.schedule(desk, session, case, "pause_resume", customer_moment(desk, case, resume), day=resume.isoformat())


def _after_closure_timers(desk, session: Session, case: Case, event: DomainEvent) -> None:
    settings = desk.config.timers
    closed = local_day(desk, case, desk.clock.now())
    timers.schedule(desk, session, case, "thank_you",
                    customer_moment(desk, case, closed + timedelta(days=settings.thank_you_days_after_closure)))
    timers.schedule(desk, session, case, "feedback_request",
                    customer_moment(desk, case, closed + timedelta(days=settings.feedback_days_after_closure)))
    for seq, days in enumerate(settings.winback_days):
        timers.schedule(desk, session, case, "winback", customer_moment(desk, case, closed + timedelta(days=days)),
                        seq=seq, days_after_closure=days)


def customer_moment(desk, case: Case, day: date) -> datetime:
    """The configured send hour on `day` in the customer's zone, moved to a sendable moment."""
    send_hour = time.fromisoformat(desk.config.timers.customer_send_hour)
    return customer_day_at(day, send_hour, customer_zone(desk, case), desk.extras["business_calendar"])


def customer_zone(desk, case: Case) -> str:
    return case.account.timezone if case.account and case.account.timezone else desk.config.business.timezone


def local_day(desk, case: Case, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(customer_zone(desk, case))).date()


def asked_steps(session: Session, case: Case) -> list[ApprovalStep]:
    return list(session.scalars(select(ApprovalStep).where(ApprovalStep.case_id == case.id,
                                                           ApprovalStep.status == "asked")))


def final_days(session: Session, case: Case) -> dict[str, date]:
    """Each cancelled service's final day: the decisions recorded, else what was requested."""
    decisions = session.scalars(select(ServiceDecision).where(
        ServiceDecision.case_id == case.id, ServiceDecision.decision == "cancel"))
    days = {d.service: d.day for d in decisions if d.day is not None}
    if not days and case.requested_final_day:
        days = {service: case.requested_final_day for service in case.requested_services or ["all services"]}
    return days


def resume_day(session: Session, case: Case) -> date | None:
    """The day a pause ends: the latest 'pause until' decision, else the requested day."""
    days = session.scalars(select(ServiceDecision.day).where(
        ServiceDecision.case_id == case.id, ServiceDecision.decision == "pause"))
    return max((d for d in days if d is not None), default=None) or case.requested_final_day

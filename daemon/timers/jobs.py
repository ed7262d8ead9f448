"""What each timer does when it fires: re-read the case, then act or say why not.

Every handler takes (desk, session, case, timer), runs inside the timer's transaction and
returns its outcome in words (kept on the timer and the case's timeline). A handler whose
condition no longer holds (the call got scheduled, the step got approved, the case was
saved) does nothing and says so; mail goes through the outbox with a per-timer dedupe key.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon import timers
from daemon.business_calendar import add_business_days, customer_send_time
from daemon.cases.effects import case_context, staff_day, staff_time
from daemon.cases.workflow import State, Trigger, advance
from daemon.directory import bare
from daemon.mail.mailer import letter
from daemon.models import ApprovalStep, CallInvite, Case, InviteStatus, OffboardingItem, StepStatus, Timer
from daemon.playbook import decisions, offboarding
from daemon.timers import plan
from daemon.timers.letters import winback_letter

if TYPE_CHECKING:
    from daemon.desk import Desk


def sla_call_scheduled(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    if case.state != State.OPEN:
        return f"nothing to do: the case is {_words(case.state)}"
    if _call_agreed(session, case):
        return "nothing to do: the customer accepted the proposed call"
    to = _account_manager(desk, case)
    letter(desk, session, case, timer, "sla_reminder", to, _staff_context(desk, case, timer))
    return f"no call scheduled yet: reminded {', '.join(to)}"


def sla_call_held(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    if case.state not in (State.OPEN, State.CALL_SCHEDULED):
        return f"nothing to do: the case is {_words(case.state)}"
    to = _team_lead(desk, case)
    letter(
        desk,
        session,
        case,
        timer,
        "sla_escalation",
        to,
        _staff_context(desk, case, timer),
        cc=_account_manager(desk, case),
    )
    return f"no call held yet: escalated to {', '.join(to)}"


def approval_reminder(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    step = _waiting_step(session, case, timer)
    if step is None:
        return "nothing to do: that approval step is no longer waiting"
    to = [s.email for s in desk.staff.with_role(step.role)] or _account_manager(desk, case)
    letter(desk, session, case, timer, "approval_reminder", to, _approval_context(desk, case, timer, step))
    return f"{step.role} approval still waiting: reminded {', '.join(to)}"


def approval_escalation(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    step = _waiting_step(session, case, timer)
    if step is None:
        return "nothing to do: that approval step is no longer waiting"
    roles = desk.config.timers.approval_escalation_roles
    to = _unique(_team_lead(desk, case) + [s.email for role in roles for s in desk.staff.with_role(role)])
    letter(desk, session, case, timer, "approval_escalation", to, _approval_context(desk, case, timer, step))
    return f"{step.role} approval still waiting: escalated to {', '.join(to)}"


def effective_date_reminder(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    service, day = timer.data["service"], timer.data["day"]
    still = decisions.final_days(session, case).get(service)
    if case.state not in (State.APPROVED, State.OFFBOARDING) or str(still) != day:
        return f"nothing to do: {service} no longer ends on {staff_day(desk, day)}"
    to = _service_team(desk, case, service)
    context = {
        **_staff_context(desk, case, timer),
        "service": service,
        "final_day": day,
        "days_before": timer.data["days_before"],
    }
    letter(desk, session, case, timer, "effective_date_reminder", to, context)
    return f"{service} ends on {staff_day(desk, day)}: reminded {', '.join(to)}"


def closure(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    if case.state == State.OFFBOARDING:
        waiting = offboarding.open_items(session, case)
        if waiting:
            return _closure_postponed(desk, session, case, timer, waiting)
        advance(
            session,
            desk.bus,
            case,
            Trigger.CLOSED,
            actor=desk.config.desk.address,
            at=desk.clock.now(),
            summary="final day of service reached, offboarding checklist complete",
        )
    elif case.state != State.CLOSED:
        return f"nothing to do: the case is {_words(case.state)}"
    case.closed_at = case.closed_at or desk.clock.now()
    letter(desk, session, case, timer, "closure_confirmation", [case.requester], _closed_context(desk, session, case))
    return f"closed; confirmation sent to {case.requester}"


def thank_you(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    return _after_closure_mail(desk, session, case, timer, "thank_you")


def feedback_request(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    return _after_closure_mail(desk, session, case, timer, "feedback_request")


def winback(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    if case.state != State.CLOSED:
        return f"nothing to do: the case is {_words(case.state)}"
    if case.winback_stopped_at is not None:
        return "nothing to do: the customer asked us to stop"
    offer = winback_letter(desk, session, case, timer, _closed_context(desk, session, case))
    return f"letter {timer.seq + 1} sent to {case.requester} offering {offer}"


def pause_resume_reminder(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    if case.state != State.PAUSED:
        return f"nothing to do: the case is {_words(case.state)}"
    context = {**_customer_context(desk, case), "resume_day": timer.data["day"]}
    letter(
        desk, session, case, timer, "pause_resume_reminder", [case.requester], context, cc=_account_manager(desk, case)
    )
    return f"services resume on {staff_day(desk, timer.data['day'])}: told {case.requester} and the account manager"


def pause_resume(desk: Desk, session: Session, case: Case, timer: Timer) -> str:
    if case.state != State.PAUSED:
        return f"nothing to do: the case is {_words(case.state)}"
    advance(
        session,
        desk.bus,
        case,
        Trigger.RESUMED,
        actor=desk.config.desk.address,
        at=desk.clock.now(),
        summary=f"the pause ended on {staff_day(desk, timer.data['day'])}: services resume",
    )
    return f"pause over: services resume on {staff_day(desk, timer.data['day'])}"


def _after_closure_mail(desk: Desk, session: Session, case: Case, timer: Timer, template: str) -> str:
    if case.state != State.CLOSED:
        return f"nothing to do: the case is {_words(case.state)}"
    letter(desk, session, case, timer, template, [case.requester], _closed_context(desk, session, case))
    return f"sent to {case.requester}"


def _closure_postponed(desk: Desk, session: Session, case: Case, timer: Timer, items: list[OffboardingItem]) -> str:
    cal = desk.calendar
    retry = add_business_days(desk.clock.now(), desk.config.timers.checklist_retry_business_days, cal)
    retry = customer_send_time(retry, plan.customer_zone(desk, case), cal)
    timers.schedule(desk, session, case, "closure", retry, seq=timers.next_seq(session, case, "closure"), **timer.data)
    for item in items:
        owners = [bare(a) for a in item.owners] or _account_manager(desk, case)
        context = {
            **_staff_context(desk, case, timer),
            "item": item.name,
            "retry": retry,
            "retry_at": staff_time(desk, retry),
        }
        letter(desk, session, case, timer, "offboarding_overdue", owners, context, key=f"item{item.id}")
    names = ", ".join(item.name for item in items)
    return f"closure postponed to {staff_time(desk, retry)}: still open: {names}"


def _waiting_step(session: Session, case: Case, timer: Timer) -> ApprovalStep | None:
    step = session.get(ApprovalStep, timer.data.get("step_id"))
    if case.state != State.PENDING_APPROVAL or step is None or step.status != StepStatus.ASKED:
        return None
    return step


def _call_agreed(session: Session, case: Case) -> bool:
    # The desk proposes a call by itself; it counts as scheduled once someone says yes to it.
    return (
        session.scalar(
            select(CallInvite.id).where(
                CallInvite.case_id == case.id, CallInvite.status.in_((InviteStatus.SCHEDULED, InviteStatus.ACCEPTED))
            )
        )
        is not None
    )


def _staff_context(desk: Desk, case: Case, timer: Timer) -> dict:
    return {
        **case_context(desk, case),
        "opened": case.opened_at,
        "opened_at": staff_time(desk, case.opened_at),
        "due": timer.due_at,
        "due_at": staff_time(desk, timer.due_at),
        "waited": _since(desk.clock.now() - case.opened_at),
    }


def _approval_context(desk: Desk, case: Case, timer: Timer, step: ApprovalStep) -> dict:
    asked = step.asked_at or timer.created_at
    return {
        **_staff_context(desk, case, timer),
        "role": step.role.replace("_", " "),
        "asked": asked,
        "asked_at": staff_time(desk, asked),
        "waited": _since(desk.clock.now() - asked),
    }


def _customer_context(desk: Desk, case: Case) -> dict:
    return {**case_context(desk, case), "company": desk.config.desk.company}


def _closed_context(desk: Desk, session: Session, case: Case) -> dict:
    """What the mails after the final day say ended, and what goes on: a customer who kept
    some services is still a customer, and is neither told that everything ended nor
    asked to come back."""
    ended = decisions.final_days(session, case)
    return {
        **_customer_context(desk, case),
        "ended": [{"service": s, "day": d.isoformat()} for s, d in sorted(ended.items())],
        "continuing": decisions.continuing_services(session, case),
    }


def _account_manager(desk: Desk, case: Case) -> list[str]:
    account = case.account
    found = [bare(account.account_manager or account.team_lead)] if account else []
    return [a for a in found if a] or [s.email for s in desk.staff.with_role("account_manager")]


def _team_lead(desk: Desk, case: Case) -> list[str]:
    account = case.account
    found = [bare(account.team_lead)] if account and account.team_lead else []
    return found or [s.email for s in desk.staff.with_role("team_lead")] or _account_manager(desk, case)


def _service_team(desk: Desk, case: Case, service: str) -> list[str]:
    members = [
        bare(m.email) for m in (case.account.team if case.account else []) if m.service.lower() == service.lower()
    ]
    return _unique(members + _account_manager(desk, case))


def _unique(addresses: list[str]) -> list[str]:
    return list(dict.fromkeys(a for a in addresses if a))


def _since(delta: timedelta) -> str:
    """'1 day 2 hours', '5 hours'."""
    hours = int(delta.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    return " ".join([*parts, f"{hours} hour{'s' if hours != 1 else ''}"]) if hours or not days else parts[0]


def _words(state: str) -> str:
    return state.replace("_", " ")


# What each kind of timer does when it fires; the desk hands it to daemon.timers (`Desk.timer_jobs`).
JOBS: dict[str, timers.Job] = {
    "sla_call_scheduled": sla_call_scheduled,
    "sla_call_held": sla_call_held,
    "approval_reminder": approval_reminder,
    "approval_escalation": approval_escalation,
    "effective_date_reminder": effective_date_reminder,
    "closure": closure,
    "thank_you": thank_you,
    "feedback_request": feedback_request,
    "winback": winback,
    "pause_resume_reminder": pause_resume_reminder,
    "pause_resume": pause_resume,
}

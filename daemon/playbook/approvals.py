"""The approval chain: ordered configured steps, each mailed to its approvers, answered by them only.

A decided case (`Trigger.DECIDED`) starts a round: the steps of `[approvals] chain` whose
condition holds (always; a credit is issued; a final day before the term ends) become
rows, and the first is mailed to the staff with its role. `#approve` from one of them
moves to the next step; after the last, `Trigger.APPROVED` and processing starts.
`#reject REASON` sends the case back to the save attempt and tells the account's leads.
Nothing is processed before the chain is done; an amended decision starts a new round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daemon import cases
from daemon.cases import effects
from daemon.cases.workflow import DomainEvent, StepRefused, Trigger, advance
from daemon.directory import Staff
from daemon.mail import mailer
from daemon.models import ApprovalStep, Case, StepStatus
from daemon.playbook import decisions

if TYPE_CHECKING:
    from daemon.desk import Desk

OPEN = (StepStatus.WAITING, StepStatus.ASKED)


def end_round(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """Saved or withdrawn: the steps still open are asked of nobody any more."""
    _void_open_steps(session, case)


def applicable_steps(desk: Desk, session: Session, case: Case) -> list[tuple[str, str]]:
    """(role, condition) of each configured step that applies to this case, in order."""
    holds = {
        "always": True,
        "credit": decisions.credit_of(case) > 0,
        "early_termination": decisions.is_early_termination(session, case),
    }
    return [step for step in desk.config.approvals.steps() if holds[step[1]]]


def start_round(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    actor = event.actor
    _void_open_steps(session, case)
    round_ = (session.scalar(select(func.max(ApprovalStep.round)).where(ApprovalStep.case_id == case.id)) or 0) + 1
    case.approval_round = round_
    steps = [
        ApprovalStep(case_id=case.id, round=round_, position=i, role=role, condition=condition, status="waiting")
        for i, (role, condition) in enumerate(applicable_steps(desk, session, case))
    ]
    if not steps:
        advance(
            session,
            desk.bus,
            case,
            Trigger.APPROVED,
            actor=actor,
            at=desk.clock.now(),
            summary="no approval step applies",
        )
        return
    session.add_all(steps)
    session.flush()
    ask(desk, session, case, steps[0])


def ask(desk: Desk, session: Session, case: Case, step: ApprovalStep) -> None:
    """Mail the step to every member of staff with its role."""
    now = desk.clock.now()
    step.status, step.asked_at = StepStatus.ASKED, now
    approvers = desk.staff.with_role(step.role)
    if not approvers:
        cases.record(
            session,
            case,
            "warning",
            at=now,
            summary=f"approval step '{step.role}' has nobody with that "
            "role in [staff]: add one, or change [approvals] chain",
        )
        return
    context = {
        **effects.case_context(desk, case),
        **decisions.summary_values(session, case),
        "step": step,
        "early_termination": decisions.is_early_termination(session, case),
        "reasons": case.reasons or [],
    }
    for approver in approvers:
        mailer.send(
            desk,
            session,
            case,
            "approval_request",
            [approver.email],
            {**context, "approver": approver},
            dedupe=f"approval:{step.round}:{step.position}:{approver.email}",
        )


def current_step(session: Session, case: Case) -> ApprovalStep | None:
    return session.scalar(
        select(ApprovalStep)
        .where(ApprovalStep.case_id == case.id, ApprovalStep.status == StepStatus.ASKED)
        .order_by(ApprovalStep.round.desc(), ApprovalStep.position)
    )


def approve(desk: Desk, session: Session, case: Case, staff: Staff) -> str:
    step = _answerable(desk, session, case, staff)
    now = desk.clock.now()
    step.status, step.decided_by, step.decided_at = StepStatus.APPROVED, staff.email, now
    advance(
        session,
        desk.bus,
        case,
        Trigger.APPROVAL_STEP_DONE,
        actor=staff.email,
        at=now,
        summary=f"{step.role} step approved by {staff.email}",
        role=step.role,
        round=step.round,
    )
    following = _next_waiting(session, case, step)
    if following is not None:
        ask(desk, session, case, following)
        return f"approved as {step.role}; now waiting for {following.role}"
    advance(session, desk.bus, case, Trigger.APPROVED, actor=staff.email, at=now, summary="approval chain complete")
    return f"approved as {step.role}; the chain is complete and processing starts"


def reject(desk: Desk, session: Session, case: Case, staff: Staff, reason: str) -> str:
    if not reason.strip():
        raise StepRefused("say why: #reject REASON")
    step = _answerable(desk, session, case, staff)
    now = desk.clock.now()
    step.status, step.decided_by, step.decided_at, step.reason = StepStatus.REJECTED, staff.email, now, reason.strip()
    _void_open_steps(session, case)
    advance(
        session,
        desk.bus,
        case,
        Trigger.APPROVAL_REJECTED,
        actor=staff.email,
        at=now,
        summary=f"{step.role} step rejected by {staff.email}: {reason.strip()}",
        reason=reason.strip(),
    )
    context = {**effects.case_context(desk, case), "step": step, "rejected_by": staff.email}
    for address in decisions.leads(case):
        mailer.send(
            desk, session, case, "approval_rejected", [address], context, dedupe=f"rejected:{step.round}:{address}"
        )
    return f"rejected as {step.role}; the case is back to the save attempt and its leads are told"


def status_lines(session: Session, case: Case) -> list[str]:
    """The latest round, one line a step, for #status and the team."""
    round_ = case.approval_round
    steps = (
        session.scalars(
            select(ApprovalStep)
            .where(ApprovalStep.case_id == case.id, ApprovalStep.round == round_)
            .order_by(ApprovalStep.position)
        ).all()
        if round_
        else []
    )
    return [f"{s.role}: {s.status}" + (f" by {s.decided_by}" if s.decided_by else "") for s in steps]


def _answerable(desk: Desk, session: Session, case: Case, staff: Staff) -> ApprovalStep:
    step = current_step(session, case)
    if step is None:
        raise StepRefused("no approval is waiting on this case")
    if step.role not in staff.roles:
        names = ", ".join(s.email for s in desk.staff.with_role(step.role)) or "nobody on staff"
        raise StepRefused(
            f"the chain waits for the {step.role} step: only staff with that role ({names}) may answer it"
        )
    return step


def _next_waiting(session: Session, case: Case, step: ApprovalStep) -> ApprovalStep | None:
    return session.scalar(
        select(ApprovalStep)
        .where(
            ApprovalStep.case_id == case.id,
            ApprovalStep.round == step.round,
            ApprovalStep.status == StepStatus.WAITING,
            ApprovalStep.position > step.position,
        )
        .order_by(ApprovalStep.position)
    )


def _void_open_steps(session: Session, case: Case) -> None:
    for step in session.scalars(
        select(ApprovalStep).where(ApprovalStep.case_id == case.id, ApprovalStep.status.in_(OPEN))
    ):
        step.status = StepStatus.VOID

"""#status: where a case stands, in the results mail: state, people, decisions, reasons, offers, approvals, timers."""

from __future__ import annotations

from daemon.cases.effects import staff_day
from daemon.commands.base import ANY_STAFF, Command, CommandContext
from daemon.playbook import approvals, decisions


def process(ctx: CommandContext, args: str) -> str:
    case = ctx.case
    lines = [
        f"State:      {case.state}",
        f"Kind:       {case.kind}",
        f"Requester:  {case.requester}{'' if case.verified else ' (not verified)'}",
        f"Account:    {case.account.name if case.account else 'none on file'}",
        f"Services:   {', '.join(case.requested_services or []) or 'none named'}",
        f"Final day:  {staff_day(ctx.desk, case.requested_final_day) or 'not given'}",
    ]
    lines += _listed("Decisions", _decisions(ctx))
    lines += _listed("Reasons", _reasons(case)) + _listed("Offers", _offers(case))
    lines += _listed("Approvals", approvals.status_lines(ctx.session, case)) + _listed("Timers", _timers(ctx))
    ctx.results.extend(lines)
    return f"status of {case.reference} below"


def _listed(title: str, items: list[str]) -> list[str]:
    return [f"{title}:", *(f"  - {item}" for item in items)] if items else [f"{title}: none"]


def _reasons(case) -> list[str]:
    return [f"{r['category']}: {r['text']}".rstrip(": ") for r in case.reasons or []]


def _offers(case) -> list[str]:
    return [f"{o['name']} ({o['outcome']}) {o.get('details', '')}".rstrip() for o in case.offers or []]


def _decisions(ctx: CommandContext) -> list[str]:
    return [
        f"{d.service}: {d.decision}" + (f" ({staff_day(ctx.desk, d.day)})" if d.day else "") + f" by {d.decided_by}"
        for d in decisions.decisions_of(ctx.session, ctx.case)
    ]


def _timers(ctx: CommandContext) -> list[str]:
    pending = ctx.desk.pending_timers
    return list(pending(ctx.desk, ctx.session, ctx.case)) if pending else []


COMMAND = Command(
    name="status",
    usage="#status",
    summary="Show the state of the case, its reasons, offers, approvals and timers.",
    roles=ANY_STAFF,
    states=None,
    needs_case=True,
    process=process,
)

"""#saved — the customer stays: every service the case is about is kept, and the case is saved."""

from __future__ import annotations

from daemon.cases.workflow import StepRefused
from daemon.commands.base import Command, CommandContext
from daemon.commands.steps import DECIDERS, DECIDING, after_decision, refusing
from daemon.playbook import decisions


@refusing
def process(ctx: CommandContext, args: str) -> str:
    services = decisions.in_scope(ctx.case)
    if not services:
        raise StepRefused("the account has no services on file to keep")
    outcome = decisions.decide(ctx.desk, ctx.session, ctx.case, services, decisions.KEEP, None, ctx.staff.email)
    return f"kept {', '.join(services)}; {after_decision(ctx, outcome)}"


COMMAND = Command(
    name="saved",
    usage="#saved",
    summary="The customer stays: every service the case is about is kept.",
    roles=DECIDERS,
    states=DECIDING,
    needs_case=True,
    process=process,
)

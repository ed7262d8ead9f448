"""#keep SERVICE[, SERVICE] — these services stay: the customer keeps them."""

from __future__ import annotations

from daemon.commands.base import Command, CommandContext
from daemon.commands.steps import DECIDERS, DECIDING, after_decision, refusing
from daemon.playbook import decisions


@refusing
def process(ctx: CommandContext, args: str) -> str:
    services = decisions.resolve_services(ctx.case, args)
    outcome = decisions.decide(ctx.desk, ctx.session, ctx.case, services, decisions.KEEP, None, ctx.staff.email)
    return f"kept {', '.join(services)}; {after_decision(ctx, outcome)}"


COMMAND = Command(
    name="keep",
    usage="#keep SERVICE[, SERVICE]",
    summary="The customer keeps these services.",
    roles=DECIDERS,
    states=DECIDING,
    needs_case=True,
    process=process,
)

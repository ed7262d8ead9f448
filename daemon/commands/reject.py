"""#reject REASON — reject the waiting approval step: the case goes back to the save attempt."""

from __future__ import annotations

from daemon.cases.workflow import State
from daemon.commands.base import ANY_STAFF, Command, CommandContext
from daemon.commands.steps import refusing
from daemon.playbook import approvals


@refusing
def process(ctx: CommandContext, args: str) -> str:
    return approvals.reject(ctx.desk, ctx.session, ctx.case, ctx.staff, args)


# As #approve: the waiting step's role is checked by approvals.reject.
COMMAND = Command(
    name="reject",
    usage="#reject REASON",
    summary="Reject the waiting approval step, saying why (only staff with that step's role).",
    roles=ANY_STAFF,
    states=frozenset({State.PENDING_APPROVAL}),
    needs_case=True,
    process=process,
)

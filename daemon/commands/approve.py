"""#approve — approve the step of the approval chain the case waits for (its approvers only)."""

from __future__ import annotations

from daemon.cases.workflow import State
from daemon.commands.base import ANY_STAFF, Command, CommandContext
from daemon.commands.steps import refusing
from daemon.playbook import approvals


@refusing
def process(ctx: CommandContext, args: str) -> str:
    return approvals.approve(ctx.desk, ctx.session, ctx.case, ctx.staff)


# Any member of staff may send it; approvals.approve accepts only the waiting step's role.
COMMAND = Command(
    name="approve",
    usage="#approve",
    summary="Approve the waiting step of the approval chain (only staff with that step's role).",
    roles=ANY_STAFF,
    states=frozenset({State.PENDING_APPROVAL}),
    needs_case=True,
    process=process,
)

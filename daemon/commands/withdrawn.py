"""#withdrawn [note]: the customer takes the request back; the case ends as withdrawn."""

from __future__ import annotations

from daemon.cases.workflow import TRANSITIONS, Trigger, advance
from daemon.commands.base import Command, CommandContext

ROLES = frozenset({"account_manager", "retention", "team_lead"})


def process(ctx: CommandContext, args: str) -> str:
    advance(
        ctx.session,
        ctx.desk.bus,
        ctx.case,
        Trigger.WITHDRAWN,
        actor=ctx.staff.email,
        at=ctx.now,
        summary=args or "withdrawn by the customer",
        message_id=ctx.mail.inbound.id,
        note=args,
    )
    return f"{ctx.case.reference} is now withdrawn"


COMMAND = Command(
    name="withdrawn",
    usage="#withdrawn [note]",
    summary="The customer withdrew the request: the case ends, nothing is processed.",
    roles=ROLES,
    # The workflow table says from where a case may be withdrawn; this only reads it.
    states=frozenset(state.value for (state, trigger) in TRANSITIONS if trigger is Trigger.WITHDRAWN),
    needs_case=True,
    process=process,
)

"""#done ITEM — tick an offboarding checklist item, by its number or (the start of) its name."""

from __future__ import annotations

from daemon.cases.workflow import State
from daemon.commands.base import ANY_STAFF, Command, CommandContext
from daemon.commands.steps import refusing
from daemon.playbook import offboarding


@refusing
def process(ctx: CommandContext, args: str) -> str:
    return offboarding.tick(ctx.desk, ctx.session, ctx.case, ctx.staff, args)


# The item's owners (or the account's leads) are checked by offboarding.tick. A changed case
# offboards the services it drops while it stays changed, so its items are ticked there too.
COMMAND = Command(
    name="done",
    usage="#done ITEM",
    summary="Tick an offboarding checklist item (its owners or the account's leads).",
    roles=ANY_STAFF,
    states=frozenset({State.OFFBOARDING, State.CHANGED}),
    needs_case=True,
    process=process,
)

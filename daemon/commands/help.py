"""#help: the commands this member of staff may use, generated from the registry."""
from __future__ import annotations

from daemon.commands.base import ANY_STAFF, Command, CommandContext


def process(ctx: CommandContext, args: str) -> str:
    # Imported here: the registry imports this module to list it.
    from daemon.commands.registry import COMMANDS, allowed_roles

    for command in COMMANDS:
        roles = allowed_roles(ctx.desk, command)
        if roles & ANY_STAFF or roles & ctx.staff.roles:
            ctx.results.append(f"{command.usage}  —  {command.summary}")
    return "the commands you may use are listed below"


COMMAND = Command(
    name="help", usage="#help", summary="List the commands you may use.",
    roles=ANY_STAFF, states=None, needs_case=False, process=process,
)

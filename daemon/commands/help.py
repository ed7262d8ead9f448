"""#help: the commands this member of staff may use, generated from the registry."""

from __future__ import annotations

from daemon.commands.authz import role_refusal
from daemon.commands.base import ANY_STAFF, Command, CommandContext
from parsers.commands import shown


def process(ctx: CommandContext, args: str) -> str:
    for command in ctx.desk.commands:
        if role_refusal(ctx.desk, command, ctx.staff) is None:
            ctx.results.append(f"{shown(command.usage)}  —  {command.summary}")
    return "the commands you may use are listed below"


COMMAND = Command(
    name="help",
    usage="#help",
    summary="List the commands you may use.",
    roles=ANY_STAFF,
    states=None,
    needs_case=False,
    process=process,
    section="Commands you may use",
)

"""#end: stop reading command lines, so a signature or a pasted text below is never run."""

from __future__ import annotations

from daemon.commands.base import ANY_STAFF, Command, CommandContext


def process(ctx: CommandContext, args: str) -> str:
    ctx.stop = True
    return "stopped reading here; the lines below are ignored"


COMMAND = Command(
    name="end",
    usage="#end",
    summary="Stop reading commands: everything below (a signature) is ignored.",
    roles=ANY_STAFF,
    states=None,
    needs_case=False,
    process=process,
)

"""#note TEXT: put a note from a member of staff on the case timeline."""

from __future__ import annotations

from daemon.cases import record
from daemon.commands.base import ANY_STAFF, Command, CommandContext, Refused


def process(ctx: CommandContext, args: str) -> str:
    if not args:
        raise Refused("a note needs some text: #note TEXT")
    record(ctx.session, ctx.case, "note", at=ctx.now, actor=ctx.staff.email, summary=args[:300], text=args)
    return f"note added to {ctx.case.reference}"


COMMAND = Command(
    name="note",
    usage="#note TEXT",
    summary="Add a note to the case timeline.",
    roles=ANY_STAFF,
    states=None,
    needs_case=True,
    process=process,
)

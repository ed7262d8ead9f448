"""#call YYYY-MM-DD HH:MM — set or move the save call (the desk's time zone); #call cancel — call it off.

Everyone invited (the customer and the whole team) gets the change as a calendar update:
the same UID with a higher SEQUENCE, or METHOD:CANCEL.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from daemon.business_calendar import at_local
from daemon.cases.effects import staff_time
from daemon.cases.workflow import StepRefused
from daemon.commands.base import Command, CommandContext
from daemon.commands.steps import ACTIVE, parse_day, refusing
from daemon.playbook import calls


@refusing
def process(ctx: CommandContext, args: str) -> str:
    if args.strip().lower() == "cancel":
        calls.cancel(ctx.desk, ctx.session, ctx.case, ctx.staff.email)
        return "call cancelled; everyone invited was told"
    start = parse_start(ctx, args)
    call = calls.schedule(ctx.desk, ctx.session, ctx.case, start, ctx.staff.email)
    when = staff_time(ctx.desk, start)
    return f"call {'moved to' if call.sequence else 'set for'} {when}; invitations sent"


def parse_start(ctx: CommandContext, args: str) -> datetime:
    day_text, _, hour_text = args.strip().partition(" ")
    day = parse_day(day_text)
    try:
        hour = time.fromisoformat(hour_text.strip())
    except ValueError:
        raise StepRefused(f"{hour_text.strip() or '(no time)'} is not a time: write #call YYYY-MM-DD HH:MM") from None
    # Staff type the time as they read every time the desk shows them: in the desk's zone.
    return at_local(day, hour, ZoneInfo(ctx.desk.config.desk.timezone))


COMMAND = Command(
    name="call",
    usage="#call YYYY-MM-DD HH:MM  |  #call cancel",
    summary="Set or move the save call (the desk's time zone), or cancel it; everyone invited is told.",
    roles=frozenset({"account_manager", "retention", "team_lead"}),
    states=ACTIVE,
    needs_case=True,
    process=process,
)

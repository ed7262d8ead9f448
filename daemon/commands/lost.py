"""#lost [on YYYY-MM-DD] — the customer leaves: every service the case is about ends.

Services already cancelled keep their own final day; the others end on the date given,
or on the contract review's final day.
"""

from __future__ import annotations

from daemon.cases.effects import staff_day
from daemon.cases.workflow import StepRefused
from daemon.commands.base import Command, CommandContext
from daemon.commands.cancel import default_final_day
from daemon.commands.steps import DECIDERS, DECIDING, after_decision, parse_day, refusing
from daemon.playbook import decisions


@refusing
def process(ctx: CommandContext, args: str) -> str:
    word, _, rest = args.strip().partition(" ")
    if word and word.lower() != "on":
        raise StepRefused("write #lost, or #lost on YYYY-MM-DD")
    day = parse_day(rest) if word else default_final_day(ctx)
    decisions.check_final_day(ctx.desk, ctx.case, day, ctx.now.date())
    cancelled = {d.service for d in decisions.decisions_of(ctx.session, ctx.case) if d.decision == decisions.CANCEL}
    services = [s for s in decisions.in_scope(ctx.case) if s not in cancelled]
    if not services:
        raise StepRefused("every service the case is about is already cancelled")
    outcome = decisions.decide(ctx.desk, ctx.session, ctx.case, services, decisions.CANCEL, day, ctx.staff.email)
    return f"cancel {', '.join(services)}, final day {staff_day(ctx.desk, day)}; {after_decision(ctx, outcome)}"


COMMAND = Command(
    name="lost",
    usage="#lost [on YYYY-MM-DD]",
    summary="The customer leaves: every service the case is about ends (default: the contract's final day).",
    roles=DECIDERS,
    states=DECIDING,
    needs_case=True,
    process=process,
)

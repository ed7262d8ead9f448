"""#pause [SERVICE, ...] until YYYY-MM-DD — pause the services (all those the case is about by default).

A pause keeps the client in every tool: nothing is offboarded, and the services resume on
the day given.
"""

from __future__ import annotations

from daemon.cases.effects import staff_day
from daemon.cases.workflow import StepRefused
from daemon.commands.base import Command, CommandContext
from daemon.commands.steps import DECIDERS, DECIDING, after_decision, refusing, split_day
from daemon.playbook import decisions


@refusing
def process(ctx: CommandContext, args: str) -> str:
    names, day = split_day(args, "until")
    if day is None:
        raise StepRefused("say until when: #pause [SERVICES] until YYYY-MM-DD")
    decisions.check_to_come(ctx.desk, day, ctx.now.date())
    services = decisions.resolve_services(ctx.case, names) if names else decisions.in_scope(ctx.case)
    outcome = decisions.decide(ctx.desk, ctx.session, ctx.case, services, decisions.PAUSE, day, ctx.staff.email)
    return f"paused {', '.join(services)} until {staff_day(ctx.desk, day)}; {after_decision(ctx, outcome)}"


COMMAND = Command(
    name="pause",
    usage="#pause [SERVICE, ...] until YYYY-MM-DD",
    summary="Pause the services (default: all the case is about) until a day; the client stays in every tool.",
    roles=DECIDERS,
    states=DECIDING,
    needs_case=True,
    process=process,
)

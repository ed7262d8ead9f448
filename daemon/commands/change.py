"""#change SERVICE to AMOUNT [from YYYY-MM-DD] — the service stays, billed AMOUNT a month from that day.

A downgrade or a budget cut: one service a line, since each has its own amount. Without
a day, the new amount starts on the first of the month after the final day the contract
review proposes (the notice period runs at the old amount). A day within the notice
period, or not to come, is refused; so is a service without exactly one billing item,
an amount of 0 (that is #cancel) or the amount already billed (that is #keep).
"""

from __future__ import annotations

import re

from daemon.cases.effects import staff_day, staff_money
from daemon.cases.workflow import StepRefused
from daemon.commands.base import Command, CommandContext
from daemon.commands.steps import DECIDERS, DECIDING, after_decision, parse_day, refusing
from daemon.playbook import decisions

USAGE = "#change SERVICE to AMOUNT [from YYYY-MM-DD]"
_SHAPE = re.compile(r"^(?P<service>.+?)\s+to\s+(?P<amount>\S+)(?:\s+from\s+(?P<day>\S+))?\s*$", re.IGNORECASE)


@refusing
def process(ctx: CommandContext, args: str) -> str:
    match = _SHAPE.match(args.strip())
    if match is None:
        raise StepRefused(f"write {USAGE}, e.g. #change PPC to 400.00 from 2027-01-01")
    services = decisions.resolve_services(ctx.case, match["service"])
    if len(services) != 1:
        raise StepRefused("one service a line: each has its own amount")
    service = services[0]
    # A currency sign written out of habit ("£400") says nothing the billing item does not.
    amount = decisions.parse_amount(match["amount"].lstrip("£$€"), example="400.00")
    was = decisions.monthly_amount(ctx.case, service)
    day = parse_day(match["day"]) if match["day"] else decisions.default_change_day(ctx.case)
    outcome = decisions.change_service(ctx.desk, ctx.session, ctx.case, service, amount, day, ctx.staff.email)
    return (
        f"{service} changes from {staff_money(ctx.desk, was)} to {staff_money(ctx.desk, amount)} a month from "
        f"{staff_day(ctx.desk, day)}; {after_decision(ctx, outcome)}"
    )


COMMAND = Command(
    name="change",
    usage=USAGE,
    summary="The service stays at a new monthly amount from a day (default: the first month after the notice).",
    roles=DECIDERS,
    states=DECIDING,
    needs_case=True,
    process=process,
)

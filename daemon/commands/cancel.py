"""#cancel SERVICE[, SERVICE] on YYYY-MM-DD — these services end; the date is their final day of service.

Without a date, the final day is the contract review's: the later of the end of the
notice period and the day the customer asked for. A day before the notice period ends,
or not to come, is refused; so is a service the account does not have.
"""

from __future__ import annotations

from daemon.cases.effects import staff_day
from daemon.cases.workflow import StepRefused
from daemon.commands.base import Command, CommandContext
from daemon.commands.steps import DECIDERS, DECIDING, after_decision, refusing, split_day
from daemon.playbook import contract, decisions


@refusing
def process(ctx: CommandContext, args: str) -> str:
    names, day = split_day(args, "on")
    services = decisions.resolve_services(ctx.case, names)
    day = day or default_final_day(ctx)
    decisions.check_final_day(ctx.desk, ctx.case, day, ctx.now.date())
    early = " (early termination: before the term ends)" if contract.is_early(ctx.case.account, day) else ""
    outcome = decisions.decide(ctx.desk, ctx.session, ctx.case, services, decisions.CANCEL, day, ctx.staff.email)
    return f"cancel {', '.join(services)}, final day {staff_day(ctx.desk, day)}{early}; {after_decision(ctx, outcome)}"


def default_final_day(ctx: CommandContext):
    review = contract.review_case(ctx.case)
    if review is None:
        raise StepRefused("no contract on file to take the final day from: write #cancel SERVICES on YYYY-MM-DD")
    return review.final_day


COMMAND = Command(
    name="cancel",
    usage="#cancel SERVICE[, SERVICE] on YYYY-MM-DD",
    summary="These services end; the date is their final day of service (default: the contract's earliest).",
    roles=DECIDERS,
    states=DECIDING,
    needs_case=True,
    process=process,
)

"""#credit AMOUNT — a credit or refund for the customer; the approval chain then asks finance.

Given while approvals run, it amends the case: a new approval round starts, with the
credit in it.
"""

from __future__ import annotations

from daemon import cases
from daemon.cases.effects import staff_money
from daemon.cases.workflow import State
from daemon.commands.base import Command, CommandContext
from daemon.commands.steps import DECIDING, refusing
from daemon.playbook import decisions


@refusing
def process(ctx: CommandContext, args: str) -> str:
    amount = decisions.set_credit(ctx.case, args)
    cases.record(
        ctx.session,
        ctx.case,
        "credit",
        at=ctx.now,
        actor=ctx.staff.email,
        summary=f"credit {staff_money(ctx.desk, amount)}",
        amount=str(amount),
    )
    if ctx.case.state == State.PENDING_APPROVAL:
        decisions.conclude(ctx.desk, ctx.session, ctx.case, ctx.staff.email)
        return f"credit {staff_money(ctx.desk, amount)} recorded; approvals start again with it"
    return f"credit {staff_money(ctx.desk, amount)} recorded"


COMMAND = Command(
    name="credit",
    usage="#credit AMOUNT",
    summary="Record a credit or refund for the customer (the approval chain then includes finance).",
    roles=frozenset({"account_manager", "retention", "finance"}),
    states=DECIDING,
    needs_case=True,
    process=process,
)

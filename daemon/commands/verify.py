"""#verify [ACCOUNT]: staff vouch for the sender of an unverified request; the case opens as usual.

Without an account key, the account is the one the requester's address is now on file
for; with one (e.g. ACME), the case is attached to that account.

The verification itself (state, account, acknowledgment, team notice) is
daemon.cases.opening.verify_case: one place for it, whether a later mail or staff verify.
"""

from __future__ import annotations

from daemon.cases.opening import verify_case
from daemon.cases.workflow import State
from daemon.commands.base import Command, CommandContext

ROLES = frozenset({"account_manager", "retention", "team_lead"})


def process(ctx: CommandContext, args: str) -> str:

    verify_case(ctx.desk, ctx.session, ctx.case, actor=ctx.staff.email, account=args.strip() or None)
    return f"{ctx.case.requester} verified; {ctx.case.reference} is now {ctx.case.state}"


COMMAND = Command(
    name="verify",
    usage="#verify [ACCOUNT]",
    summary="Confirm that an unverified request really comes from the customer (of ACCOUNT).",
    roles=ROLES,
    states=frozenset({State.AWAITING_IDENTITY}),
    needs_case=True,
    process=process,
)

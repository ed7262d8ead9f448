"""#account ACC-ID: which account a forwarded request is about, when the desk could not tell.

The answer to our question about a forward (from staff, reception or the voicemail
system) whose customer we found nowhere on file: the case opens on that account and its
contact is asked for the request in writing (daemon.reading.agency_forwards.settle).
"""

from __future__ import annotations

from daemon.cases.opening import account_by_key
from daemon.commands.base import ANY_STAFF, Command, CommandContext, Refused
from daemon.reading.agency_forwards import pending_forward, settle


def process(ctx: CommandContext, args: str) -> str:

    key = args.strip().split(" ", 1)[0] if args.strip() else ""
    account = account_by_key(ctx.session, key) if key else None
    if account is None:
        raise Refused(f"no account with the key {key!r} on file" if key else "#account needs the account's key")
    forward = pending_forward(ctx.session, ctx.mail.parsed)
    if forward is None:
        raise Refused("#account answers our question about a forwarded request: reply to that mail")
    ctx.case = settle(ctx.desk, ctx.session, forward, account, ctx.staff.email)
    return f"{ctx.case.reference} opened on {account.key}; {ctx.case.requester} is asked to confirm in writing"


COMMAND = Command(
    name="account",
    usage="#account ACC-ID",
    summary="Name the account of a forwarded request the desk could not match (in a reply to its question).",
    roles=ANY_STAFF,
    states=None,
    needs_case=False,
    process=process,
)

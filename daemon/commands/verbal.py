"""#verbal customer@example.com [note]: a customer asked by phone or in person.

The playbook only acts on written requests: this opens a case that waits for the
customer's mail and asks them to write (daemon.requests.open_verbal_case). The new case
becomes the case of the lines that follow in the same mail.
"""
from __future__ import annotations

from email.utils import parseaddr

from daemon.commands.base import Command, CommandContext, Refused

ROLES = frozenset({"account_manager", "retention", "team_lead"})


def process(ctx: CommandContext, args: str) -> str:
    from daemon.requests import open_verbal_case  # issue 3's module; read at run time

    first, _, note = args.strip().partition(" ")
    customer = parseaddr(first)[1].lower()
    if not _looks_like_address(customer):
        raise Refused(f"#verbal needs the customer's e-mail address first, got {first or 'nothing'!r}")
    if customer in ctx.desk.staff or customer.endswith("@" + ctx.desk.config.desk.domain):
        raise Refused(f"{customer} is one of us, not a customer")
    ctx.case = open_verbal_case(ctx.desk, ctx.session, customer=customer, staff_address=ctx.staff.email,
                                inbound=ctx.mail.inbound, note=note.strip())
    return f"{ctx.case.reference} opened for {customer}; they are asked to confirm in writing"


def _looks_like_address(value: str) -> bool:
    local, at, domain = value.partition("@")
    return bool(local and at and "." in domain and " " not in value)


COMMAND = Command(
    name="verbal", usage="#verbal customer@example.com [note]",
    summary="Log a request made by phone or in person; the customer is asked to write.",
    roles=ROLES, states=None, needs_case=False, process=process,
)

"""#verbal customer@example.com [note]: a customer asked by phone or in person.

The playbook only acts on written requests: this opens a case that waits for the
customer's mail and asks them to write (daemon.cases.opening.open_verbal_case). The lines
under it, up to the next command line (#end), are what the customer said (services,
dates, reason) and are read like a customer's own text. The new case becomes the case of
the command lines that follow in the same mail.
"""

from __future__ import annotations

from email.utils import parseaddr

from daemon.cases.opening import open_verbal_case
from daemon.commands.base import Command, CommandContext, Refused
from parsers.commands import own_commands, parse_command

ROLES = frozenset({"account_manager", "retention", "team_lead"})


def process(ctx: CommandContext, args: str) -> str:

    first, _, note = args.strip().partition(" ")
    customer = parseaddr(first)[1].lower()
    if not _looks_like_address(customer):
        raise Refused(f"#verbal needs the customer's e-mail address first, got {first or 'nothing'!r}")
    if customer in ctx.desk.staff or customer.endswith("@" + ctx.desk.config.desk.domain):
        raise Refused(f"{customer} is one of us, not a customer")
    said = _lines_below(ctx.mail.parsed.text)
    ctx.case = open_verbal_case(
        ctx.desk,
        ctx.session,
        customer=customer,
        staff_address=ctx.staff.email,
        inbound=ctx.mail.inbound,
        note="\n".join(filter(None, [note.strip(), said])),
    )
    return f"{ctx.case.reference} opened for {customer}; they are asked to confirm in writing"


def _lines_below(text: str) -> str:
    """The sender's own lines under the #verbal line, up to the next command line (#end)."""
    lines = own_commands(text).lines
    start = next((i for i, line in enumerate(lines) if (c := parse_command(line)) and c.name == "verbal"), None)
    if start is None:
        return ""
    below = []
    for line in lines[start + 1 :]:
        if parse_command(line) is not None:
            break
        below.append(line)
    return "\n".join(below).strip()


def _looks_like_address(value: str) -> bool:
    local, at, domain = value.partition("@")
    return bool(local and at and "." in domain and " " not in value)


COMMAND = Command(
    name="verbal",
    usage="#verbal customer@example.com [note]",
    summary="Log a request made by phone or in person; the customer is asked to write.",
    roles=ROLES,
    states=None,
    needs_case=False,
    process=process,
)

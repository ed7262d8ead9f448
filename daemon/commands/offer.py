"""#offer NAME details — an offer made to keep the customer; #offer NAME accepted|declined — its outcome.

Offers come from the `[offers] catalogue`; each is kept on the case as
`Case.offers` ({name, details, outcome, by, at, decided_at}), outcome "made" until
the customer answers.
"""

from __future__ import annotations

from daemon.cases import record
from daemon.cases.workflow import FINISHED, State
from daemon.commands.base import Command, CommandContext, Refused, add_detail

OUTCOMES = ("accepted", "declined")
ROLES = frozenset({"account_manager", "retention", "team_lead", "director"})


def process(ctx: CommandContext, args: str) -> str:
    name, _, rest = args.strip().partition(" ")
    offer = ctx.desk.config.offers.get(name)
    if offer is None:
        names = ", ".join(o.name for o in ctx.desk.config.offers.catalogue)
        raise Refused(f"no offer named {name or '(none)'!r} in the catalogue; offers: {names}")
    word, _, details = rest.strip().partition(" ")
    if word.lower() in OUTCOMES:
        return _decide(ctx, offer.name, word.lower(), details.strip())
    add_detail(
        ctx.case,
        "offers",
        {
            "name": offer.name,
            "details": rest.strip(),
            "outcome": "made",
            "by": ctx.staff.email,
            "at": ctx.now.isoformat(),
        },
    )
    record(
        ctx.session,
        ctx.case,
        "offer",
        at=ctx.now,
        actor=ctx.staff.email,
        summary=f"offered {offer.name}: {rest.strip()}".rstrip(": "),
        offer=offer.name,
    )
    return f"offer recorded: {offer.name} (#offer {offer.name} accepted|declined when the customer answers)"


def _decide(ctx: CommandContext, name: str, outcome: str, note: str) -> str:
    offers = [dict(o) for o in ctx.case.offers or []]
    pending = [o for o in offers if o["name"] == name and o["outcome"] == "made"]
    if not pending:
        raise Refused(f"no open offer of {name} on {ctx.case.reference}: record it first with #offer {name} details")
    pending[-1].update(outcome=outcome, decided_at=ctx.now.isoformat(), outcome_note=note)
    ctx.case.offers = offers
    record(
        ctx.session,
        ctx.case,
        "offer_outcome",
        at=ctx.now,
        actor=ctx.staff.email,
        summary=f"{name} {outcome}{': ' + note if note else ''}",
        offer=name,
        outcome=outcome,
    )
    return f"offer {name} {outcome}"


COMMAND = Command(
    name="offer",
    usage="#offer NAME details  |  #offer NAME accepted|declined",
    summary="Record an offer from the catalogue made to the customer, then its outcome.",
    roles=ROLES,
    states=frozenset(s.value for s in State) - {s.value for s in FINISHED},
    needs_case=True,
    process=process,
)

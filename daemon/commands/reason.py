"""#reason CATEGORY: free text — why the customer wants to leave; suggests matching offers.

Reasons are kept on the case as `Case.reasons` ({category, text, by, at}); the
category is one of `[reasons] categories`. The results mail lists the catalogue's
offers that answer the category, so the save call starts from the agency's own playbook.
"""

from __future__ import annotations

from daemon.cases import record
from daemon.commands.base import ANY_STAFF, Command, CommandContext, Refused, add_detail


def process(ctx: CommandContext, args: str) -> str:
    category, _, text = args.partition(":")
    category = category.strip().lower().replace(" ", "_")
    allowed = ctx.desk.config.reasons.categories
    if category not in allowed:
        raise Refused(f"unknown reason category {category or '(none)'!r}; use one of: {', '.join(allowed)}")
    add_detail(
        ctx.case,
        "reasons",
        {"category": category, "text": text.strip(), "by": ctx.staff.email, "at": ctx.now.isoformat()},
    )
    record(
        ctx.session,
        ctx.case,
        "reason",
        at=ctx.now,
        actor=ctx.staff.email,
        summary=f"{category}: {text.strip()}".rstrip(": "),
        category=category,
    )
    _suggest(ctx, category)
    return f"reason recorded: {category}"


def _suggest(ctx: CommandContext, category: str) -> None:
    offers = ctx.desk.config.offers.answering(category)
    if not offers:
        ctx.results.append(f"No offer in the catalogue answers '{category}'.")
        return
    ctx.results.append(f"Offers that answer '{category}' (record one with #offer NAME details):")
    ctx.results.extend(f"  {offer.name}: {offer.description}" for offer in offers)


COMMAND = Command(
    name="reason",
    usage="#reason CATEGORY: free text",
    summary="Record why the customer is leaving; the results list the offers that answer it.",
    roles=ANY_STAFF,
    states=None,
    needs_case=True,
    process=process,
)

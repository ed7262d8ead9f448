"""Shared by the playbook's commands (#call #keep #cancel #pause #saved #lost #credit #approve #reject #done).

The playbook modules say no with `workflow.StepRefused`; `refusing` turns that into the
command framework's `Refused`, so the sentence reaches the member of staff unchanged.
Dates are written YYYY-MM-DD, and nothing else, so a date is never read two ways.
"""

from __future__ import annotations

import functools
import re
from datetime import date

from daemon.cases import workflow
from daemon.cases.workflow import State, StepRefused
from daemon.commands.base import CommandContext, Refused
from daemon.playbook import decisions

ACTIVE = frozenset(state.value for state in workflow.ACTIVE)
DECIDING = ACTIVE | {State.PENDING_APPROVAL}
DECIDERS = frozenset({"account_manager", "retention", "team_lead"})
_ON_DATE = re.compile(r"^(?P<what>.*?)\s*\b(?P<word>on|until)\s+(?P<day>\S+)\s*$", re.IGNORECASE)


def refusing(process):
    @functools.wraps(process)
    def run(ctx: CommandContext, args: str) -> str:
        try:
            return process(ctx, args)
        except StepRefused as exc:
            raise Refused(str(exc)) from None

    return run


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise StepRefused(f"{text.strip() or '(no date)'} is not a date: write it YYYY-MM-DD") from None


def split_day(args: str, word: str) -> tuple[str, date | None]:
    """'Social, Content on 2026-12-31' -> ('Social, Content', date(2026, 12, 31)); no date -> (args, None)."""
    match = _ON_DATE.match(args.strip())
    if not match or match["word"].lower() != word:
        return args.strip(), None
    return match["what"].strip(), parse_day(match["day"])


def after_decision(ctx: CommandContext, outcome: str | None) -> str:
    """What the decision led to, for the results mail."""
    if outcome is None:
        decided = {d.service for d in decisions.decisions_of(ctx.session, ctx.case)}
        undecided = [s for s in decisions.in_scope(ctx.case) if s not in decided]
        return f"still to decide: {', '.join(undecided)}"
    label = decisions.OUTCOME_LABELS[outcome]
    return f"outcome: {label}; the case is now {ctx.case.state.replace('_', ' ')}"

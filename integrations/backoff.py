"""How long to wait before the next attempt: one rule for every retry in the desk.

Exponential (base, 2 x base, 4 x base ... from the first attempt), capped, and with full
jitter where many clients may have failed together (uniform between 0 and the cap), so
they do not all come back at once. The outbox, the sheets queue, the intake's refused
mails, the watcher's reconnects and the Sheets client all wait by this rule.
"""

from __future__ import annotations

import random


def exponential(attempt: int, base: float, cap: float) -> float:
    """The wait after failed attempt number `attempt` (1, 2, ...): base x 2^(attempt-1), at most `cap`."""
    return min(cap, base * 2 ** (attempt - 1))


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """A wait drawn uniformly between 0 and `exponential(attempt, base, cap)`."""
    return rng.uniform(0, exponential(attempt, base, cap))

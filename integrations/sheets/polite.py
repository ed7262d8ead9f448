"""Being polite to a quota'd API: a sliding-window rate limiter and bounded retries.

gspread's own ``BackOffHTTPClient`` retries forever and ignores Retry-After, so the
Google backend uses these instead. Both take the clock and the sleep function as
arguments: tests pass a fake clock whose sleep only advances time, so no test ever
waits for real and nothing asserts on wall-clock time.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from typing import TypeVar

import requests
from gspread.exceptions import APIError

from integrations.backoff import full_jitter

from .backend import SheetsError, SheetsUnavailable

T = TypeVar("T")

# Statuses Google documents as transient; everything else (400, 403, 404) will not
# get better by asking again.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
TRANSIENT_ERRORS = (requests.Timeout, requests.ConnectionError)


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds; ``acquire`` waits its turn.

    A rolling window (not a fixed minute bucket) because Google counts per rolling
    minute: 60 writes at 00:59 and 60 more at 01:01 would break a fixed bucket's promise.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if limit < 1:
            raise ValueError("rate limit must be at least 1 per window")
        self.limit, self.window = limit, window
        self._clock, self._sleep = clock, sleep
        self._times: deque[float] = deque()

    def acquire(self) -> None:
        """Block (through the injected sleep) until one more event fits, then record it."""
        while True:
            now = self._clock()
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            if len(self._times) < self.limit:
                self._times.append(now)
                return
            self._sleep(self._times[0] + self.window - now)


class Retrier:
    """Bounded retries with exponential backoff and full jitter, honouring Retry-After."""

    def __init__(
        self,
        max_attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 32.0,
        *,
        sleep: Callable[[float], None],
        rng: random.Random | None = None,
    ) -> None:
        self.max_attempts = max(1, max_attempts)
        self.base_delay, self.max_delay = base_delay, max_delay
        self._sleep = sleep
        self._rng = rng or random.Random()

    def run(self, attempt: Callable[[], T], what: str) -> T:
        """Call ``attempt`` until it succeeds, fails for good, or attempts run out."""
        for number in range(1, self.max_attempts + 1):
            try:
                return attempt()
            except APIError as error:
                if error.response.status_code not in RETRYABLE_STATUS:
                    raise SheetsError(f"{what}: {error}") from error
                last: Exception = error
            except TRANSIENT_ERRORS as error:
                last = error
            told = retry_after(last)
            if told is not None and told > self.max_delay:
                # Blocking the worker for longer than our own cap helps nobody: hand the
                # wait to the caller's queue instead.
                raise SheetsUnavailable(f"{what}: server asks to wait {told:g} s", told) from last
            if number < self.max_attempts:
                self._sleep(self.delay(number, last))
        raise SheetsUnavailable(
            f"{what}: gave up after {self.max_attempts} attempts: {last}", retry_after(last)
        ) from last

    def delay(self, number: int, error: Exception) -> float:
        """Retry-After when the server sent one (at most max_delay, see ``run``), else
        full jitter up to the backoff cap."""
        told = retry_after(error)
        if told is not None:
            return told
        return full_jitter(number, self.base_delay, self.max_delay, self._rng)


def retry_after(error: Exception) -> float | None:
    """Seconds from a Retry-After header (the delta form; Google does not send dates)."""
    response = getattr(error, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None

"""Parse stage helper: when did a mail reach us? The received moment from the trace headers.

The moment that counts for a notice is when our own receiving server accepted the mail:
the topmost `Received` header written by a host we trust (the `[auth] authserv_ids`
hosts, the same names that stamp Authentication-Results). Headers below it were written by
servers we do not control, and the sender's `Date` is whatever their clock said; neither
is evidence. mail-parser's `receiveds_parsing` reads the hops (it copes with the many
shapes servers write); only the first `MAX_HOPS` headers are read, to bound the work.
When no trusted header is there the caller falls back to what the mailbox says
(IMAP INTERNALDATE, the Maildir delivery time).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from mailparser.utils import receiveds_parsing

MAX_HOPS = 30
logging.getLogger("mailparser").setLevel(logging.WARNING)  # it logs every hop at DEBUG/INFO


def received_moment(received: Sequence[str], trusted_hosts: Sequence[str]) -> datetime | None:
    """The time in the topmost Received header `by` a trusted host (aware, UTC), or None."""
    trusted = [h.strip().lower().rstrip(".") for h in trusted_hosts if h and h.strip()]
    if not trusted or not received:
        return None
    try:
        hops = receiveds_parsing([str(v) for v in received[:MAX_HOPS]])
    except Exception:  # a third-party parser on hostile headers: no evidence, not a crash
        return None
    for hop in sorted(hops, key=lambda h: h.get("hop", 0), reverse=True):  # the topmost header first
        if _by_trusted(hop.get("by", ""), trusted):
            return _moment(hop.get("date_utc"))
    return None


def _by_trusted(by: str, trusted: list[str]) -> bool:
    host = (by.split() or [""])[0].lower().rstrip(".")
    return any(host == name or host.endswith("." + name) for name in trusted)


def _moment(value) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

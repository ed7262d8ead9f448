"""Parse stage, case references and reply addresses: 'CX-2026-0042' and 'cancel+<token>@host'.

A reference is found anywhere in subject or text (customers retype it with spaces or odd
dashes); it is returned in canonical upper-case form. Plus-addressing carries a per-case
token so replies find their case even when the subject was rewritten.
"""

from __future__ import annotations

import re

from parsers.headers import parse_address

_TOKEN = re.compile(r"^[A-Za-z0-9._=-]+$")


def find_case_references(text: str, prefix: str = "CX") -> tuple[str, ...]:
    """'CX-2026-0042' style references, upper-cased, unique, in order of appearance."""
    pattern = re.compile(
        rf"(?<![A-Za-z0-9]){re.escape(prefix)}\s?[-\u2010-\u2015]?\s?(\d{{4}})\s?[-\u2010-\u2015]\s?(\d{{3,6}})(?!\d)",
        re.IGNORECASE,
    )
    found = (f"{prefix.upper()}-{year}-{number}" for year, number in pattern.findall(text or ""))
    return tuple(dict.fromkeys(found))


def make_reply_address(local: str, domain: str, token: str) -> str:
    """'cancel+<token>@agency.example'. Raises ValueError on a token that cannot be a local part."""
    if not _TOKEN.match(token or "") or "+" in token:
        raise ValueError(f'reply token {token!r} must be letters, digits, ".", "_", "=", "-"')
    return f"{local}+{token}@{domain}"


def token_from_address(addr: str, local: str, domain: str | None = None) -> str | None:
    """The token of 'local+token@domain' (any case, display name allowed); None when not ours."""
    parsed = parse_address(addr or "")
    bare = parsed.addr if parsed else ""
    if "@" not in bare:
        return None
    mailbox, host = bare.rsplit("@", 1)
    base, plus, token = mailbox.partition("+")
    if not plus or not token or base != local.lower():
        return None
    if domain is not None and host != domain.lower():
        return None
    return token

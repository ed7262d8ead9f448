"""Parse stage, headers: addresses, message ids, dates and the decoded header map.

Address rules matter for security: only the bare address counts, never a display name that
looks like one ('"alice@staff.example" <mallory@evil.example>' is Mallory).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from types import MappingProxyType

from parsers.charsets import decode_words, one_line, unescape_8bit
from parsers.model import Address

_MSG_ID = re.compile(r"<([^<>\s]+)>")
# What mail programs put before a subject they forward or answer, in the languages the desk
# reads: Fwd/FW, WG (German), TR (French), RV/ENC (Spanish, Portuguese), Doorst (Dutch); and
# Re, AW (German), Antw (Dutch), SV (Nordic), R (Italian). Some number them: 'AW[2]:'.
_FORWARD_WORDS = "fwd?|wg|tr|rv|enc|doorst"
_FORWARD_PREFIX = re.compile(rf"^\s*\[?(?:{_FORWARD_WORDS})\s*:", re.IGNORECASE)
_ANSWER_PREFIX = re.compile(rf"^\s*\[?(?:re|aw|antw|sv|r|{_FORWARD_WORDS})\s*(?:\[\d+\])?\s*:\s*", re.IGNORECASE)
_BARE_ADDR = re.compile(r'[^\s<>()"\[\],;:]+@[^\s<>()"\[\],;:]+')


def raw_header_items(msg: Message) -> list[tuple[str, str]]:
    """(lower-cased name, raw value with 8-bit bytes restored) for every header, in order."""
    items = []
    for name, value in msg.raw_items():
        items.append((str(name).strip().lower(), unescape_8bit(str(value))))
    return items


def header_map(items: list[tuple[str, str]]) -> Mapping[str, tuple[str, ...]]:
    """Immutable name -> decoded single-line values."""
    collected: dict[str, list[str]] = {}
    for name, value in items:
        collected.setdefault(name, []).append(one_line(decode_words(value)))
    return MappingProxyType({name: tuple(values) for name, values in collected.items()})


def first_raw(items: list[tuple[str, str]], name: str) -> str | None:
    """The first raw value of header `name`, or None."""
    return next((value for key, value in items if key == name), None)


def parse_addresses(raw: str | None) -> tuple[Address, ...]:
    """Every mailbox in an address header; names decoded, addresses bare and lower-cased."""
    if not raw:
        return ()
    flat = one_line(raw)
    try:
        pairs = getaddresses([flat])
    except Exception:  # getaddresses has raised on pathological input in some releases
        pairs = []
    found = tuple(_address(name, addr) for name, addr in pairs if addr or name)
    found = tuple(a for a in found if a.addr or a.name)
    return found or _salvage_addresses(flat)


def _address(name: str, addr: str) -> Address:
    addr = addr.strip().lower()
    if "@" not in addr and addr:
        # "undisclosed-recipients" and bare words are not mailboxes
        return Address(one_line(decode_words(name or addr)), "")
    return Address(one_line(decode_words(name)).strip("\"' "), addr)


def _salvage_addresses(flat: str) -> tuple[Address, ...]:
    """When the parser gives up, the last bare address in angle brackets (or anywhere) wins."""
    angle = re.findall(r"<([^<>\s]+@[^<>\s]+)>", flat)
    candidates = angle or _BARE_ADDR.findall(flat)
    return tuple(Address("", c.lower()) for c in candidates[-1:])


def parse_address(raw: str | None) -> Address | None:
    """The one mailbox of a single-address header (From, Sender), or None.

    Decoded before it is parsed, and strict: a header that decodes to control characters,
    names more than one mailbox, or none that is a plain local@domain is no usable
    sender. 'amy@agency.example <evil@x.example>' unquoted names two; guessing either
    would let a display name decide who wrote.
    """
    if not raw:
        return None
    try:
        flat = _encoded_words_as_quoted(one_line(raw))
        pairs = getaddresses([flat])
    except (ValueError, TypeError, IndexError):
        return None
    mailboxes = [(name, addr) for name, addr in pairs if addr or name]
    if len(mailboxes) != 1:
        return None
    name, addr = mailboxes[0]
    if not _PLAIN_ADDR.match(addr.strip()):
        # 'MAILER-DAEMON <>': a name without a usable address (robots are known by it).
        return Address(one_line(decode_words(name or addr)).strip("\"' "), "")
    return _address(name, addr)


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN_ADDR = re.compile(r'^[^\s@<>()\[\],;:"\\]+@[^\s@<>()\[\],;:"\\.]+(?:\.[^\s@<>()\[\],;:"\\.]+)+$')


def _encoded_words_as_quoted(value: str) -> str:
    """Each RFC 2047 word decoded into a quoted string: its text is a name, never address syntax."""

    def quoted(match: re.Match) -> str:
        text = decode_words(match.group(0))
        if _CONTROL.search(text):
            raise ValueError("an encoded word decodes to control characters")
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return _ENCODED_WORD.sub(quoted, value)


def parse_ids(raw: str | None) -> tuple[str, ...]:
    """Message ids in '<...>' form, unique, in order; a bare id is wrapped."""
    if not raw:
        return ()
    found = _MSG_ID.findall(raw)
    if not found:
        found = [token.strip("<>") for token in raw.split() if "@" in token]
    seen: dict[str, None] = {}
    for ident in found:
        seen.setdefault(f"<{ident}>", None)
    return tuple(seen)


def parse_message_id(raw: str | None) -> str:
    """The Message-ID in '<id@host>' form, '' when absent."""
    ids = parse_ids(raw)
    if ids:
        return ids[0]
    token = (raw or "").strip()
    return f"<{token}>" if token and " " not in token else ""


def parse_return_path(raw: str | None) -> str | None:
    """'' for the null sender '<>', None when the header is absent, else the bare address."""
    if raw is None:
        return None
    inner = raw.strip()
    match = re.search(r"<([^<>]*)>", inner)
    if match:
        inner = match.group(1)
    return inner.strip().lower()


def parse_date(raw: str | None) -> datetime | None:
    """An aware UTC datetime, or None; dates without a zone are taken as UTC."""
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(one_line(raw))
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = loose_date(raw)
    return to_utc(parsed)


def loose_date(text: str) -> datetime | None:
    """Best-effort date from free text such as Outlook's 'Sent: Monday, April 2, 2012 5:44 PM'."""
    from dateutil import parser as dateparser  # imported late: only odd dates need it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dateutil warns on unknown zone names; we assume UTC
        try:
            return dateparser.parse(text, fuzzy=True)
        except (ValueError, OverflowError, TypeError, LookupError):
            return None


def to_utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a naive value is assumed to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def is_forward_subject(subject: str) -> bool:
    """'Fwd: ...', 'WG: ...', '[Fwd: ...]': the sender says they forward someone else's mail."""
    return bool(_FORWARD_PREFIX.match(subject or ""))


def is_answer_subject(subject: str) -> bool:
    """A reply's or a forward's subject: it repeats another mail's subject, not the sender's own words."""
    return bool(_ANSWER_PREFIX.match(subject or ""))


def bare_subject(subject: str) -> str:
    """The subject without its reply and forward prefixes ('Re: AW: Notice' -> 'Notice')."""
    while (found := _ANSWER_PREFIX.match(subject)) and found.end():
        subject = subject[found.end() :]
    return subject.strip()

"""Parse stage, entry point: `parse_message(raw)` turns the bytes of one mail into a ParsedMessage.

The stdlib `email` package (compat32, the most forgiving policy) builds the tree; helper
modules decode headers (`headers`), pick the readable body (`body`), cut the quote
(`quotes`) and find forwarded originals (`forwards`). mail-parser wraps this same stdlib
parser; it is not on this path on purpose: it drops an unparsable address and leaves
`from_` empty, while the security rules need the address parsing in our
hands, and going direct avoids a second parse of every mail.
Nothing raises: the worst case is an almost empty ParsedMessage whose `defects` say why.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message
from email.parser import BytesHeaderParser

from parsers import blobs
from parsers import body as body_mod
from parsers.charsets import decode_words, one_line
from parsers.forwards import inline_forwards
from parsers.headers import (
    first_raw,
    header_map,
    parse_address,
    parse_addresses,
    parse_date,
    parse_ids,
    parse_message_id,
    parse_return_path,
    raw_header_items,
)
from parsers.model import Address, Attachment, ForwardedMessage, ParsedMessage
from parsers.quotes import new_text as reply_text

__all__ = ["Address", "Attachment", "ForwardedMessage", "ParsedMessage", "parse_message"]


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one RFC 5322 message. Never raises.

    `unreadable` says why a mail must be left to a person: the stdlib parser recurses once
    per MIME level, so thousands of nested parts end in RecursionError; its headers are
    still read, so the log and the set-aside row say whose mail it was.
    """
    try:
        data = bytes(raw or b"")
        # A byte-order mark before the first header (some feedback loops) would hide every header.
        data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        # A copy the store thinned already is parsed as the mail itself would be.
        data, marked_out = blobs.unmark(data)
        thinned, left_out = blobs.thin(data)
        left_out += marked_out
        parsed = _parsed(message_from_bytes(thinned, policy=policy.compat32))
        if left_out:
            parsed = replace(parsed, defects=(*parsed.defects, f"{left_out} bytes of encoded attachments not read"))
    except RecursionError:
        return _headers_only(data, body_mod.TOO_DEEP)
    except Exception as exc:  # the promise to the daemon: one bad mail never stops the loop
        return ParsedMessage(defects=(f"unparseable message: {type(exc).__name__}: {exc}",))
    if body_mod.TOO_DEEP in parsed.defects:
        return replace(parsed, unreadable=body_mod.TOO_DEEP)
    return parsed


def _headers_only(raw: bytes, reason: str) -> ParsedMessage:
    try:
        items = raw_header_items(BytesHeaderParser(policy=policy.compat32).parsebytes(blobs.header_block(raw)))
        return ParsedMessage(
            subject=one_line(decode_words(first_raw(items, "subject") or "")),
            headers=header_map(items),
            defects=(reason,),
            unreadable=reason,
            **_header_fields(items),
        )
    except Exception as exc:  # headers as broken as the body: nothing more to read
        return ParsedMessage(defects=(reason, f"unparseable headers: {type(exc).__name__}"), unreadable=reason)


def _parsed(msg: Message) -> ParsedMessage:
    items = raw_header_items(msg)
    parts = body_mod.walk(msg)
    text = "\n\n".join(t.strip() for t in parts.texts if t.strip())
    if len(text) > body_mod.MAX_TEXT_CHARS:
        parts.defects.append(f"text cut to its first {body_mod.MAX_TEXT_CHARS} characters")
        text = text[: body_mod.MAX_TEXT_CHARS]
    subject = one_line(decode_words(first_raw(items, "subject") or ""))
    forwarded = inline_forwards(text, subject) + tuple(_enclosed(m) for m in parts.enclosed)
    fields = _header_fields(items)
    return ParsedMessage(
        subject=subject,
        headers=header_map(items),
        text=text,
        new_text=reply_text(text),
        forwarded=forwarded,
        attachments=tuple(parts.attachments),
        calendar_parts=tuple(parts.calendars),
        defects=_defects(msg, items, fields["from_"], fields["date"], parts.defects),
        content_type=body_mod._content_type(msg),
        **fields,
    )


def _header_fields(items: list[tuple[str, str]]) -> dict:
    def raw(name: str) -> str | None:
        return first_raw(items, name)

    return dict(
        message_id=parse_message_id(raw("message-id")),
        from_=parse_address(raw("from")),
        sender=parse_address(raw("sender")),
        reply_to=parse_addresses(raw("reply-to")),
        to=_all_addresses(items, "to"),
        cc=_all_addresses(items, "cc"),
        date=parse_date(raw("date")),
        in_reply_to=parse_ids(raw("in-reply-to")),
        references=parse_ids(raw("references")),
        return_path=parse_return_path(raw("return-path")),
    )


def _all_addresses(items: list[tuple[str, str]], name: str) -> tuple[Address, ...]:
    """Repeated To/Cc headers happen (badly written software); merge them."""
    found: tuple[Address, ...] = ()
    for key, value in items:
        if key == name:
            found += parse_addresses(value)
    return found


def _enclosed(inner: Message) -> ForwardedMessage:
    """A message/rfc822 attachment as a ForwardedMessage (its own quote left in place)."""
    items = raw_header_items(inner)
    parts = body_mod.walk(inner)
    return ForwardedMessage(
        from_=parse_address(first_raw(items, "from")),
        subject=one_line(decode_words(first_raw(items, "subject") or "")),
        date=parse_date(first_raw(items, "date")),
        text="\n\n".join(t.strip() for t in parts.texts if t.strip()),
        source="attachment",
    )


def _defects(
    msg: Message, items: list, from_: Address | None, date: datetime | None, found: list[str]
) -> tuple[str, ...]:
    defects = list(found)
    for part in msg.walk():
        defects.extend(_describe(defect) for defect in getattr(part, "defects", ()))
    if first_raw(items, "from") is None:
        defects.append("missing From header")
    elif from_ is None or not from_.addr:
        defects.append("From header has no usable address")
    if first_raw(items, "date") is not None and date is None:
        defects.append("unparseable Date header")
    return tuple(dict.fromkeys(defects))


def _describe(defect: object) -> str:
    """'MultipartInvariantViolationDefect' -> 'multipart invariant violation' (plus detail)."""
    name = type(defect).__name__.removesuffix("Defect")
    words = "".join(" " + ch.lower() if ch.isupper() else ch for ch in name).strip()
    detail = str(defect)
    return f"{words}: {detail}" if detail and detail != "None" else words

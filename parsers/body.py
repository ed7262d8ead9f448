"""Parse stage, body: walk the MIME tree into readable text, attachments, calendar parts.

One text is chosen per multipart/alternative (plain when it says something, else HTML made
readable by html2text); attached messages (message/rfc822) are kept whole for `forwards`.
Nothing here raises on a broken tree: problems become defect strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

import html2text

from parsers.charsets import decode_bytes, decode_words
from parsers.model import Attachment

# Parts that machines write for machines: kept out of the readable text.
_MACHINE_TYPES = {
    "message/delivery-status",
    "text/rfc822-headers",
    "message/disposition-notification",
    "message/feedback-report",
    "message/global-delivery-status",
    "message/global-headers",
}
_MAX_DEPTH = 30  # a hostile tree must not exhaust the stack
TOO_DEEP = f"MIME parts nested deeper than {_MAX_DEPTH} levels"
# The most text read from one mail. A request fits in a few kilobytes; what lies beyond
# this is quoted history or an attack, and every later stage (quote cutting, the intent
# recogniser) costs time in proportion to it.
MAX_TEXT_CHARS = 20_000


@dataclass
class BodyParts:
    """What the walk collects; message.py turns it into the frozen ParsedMessage."""

    texts: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    calendars: list[str] = field(default_factory=list)
    enclosed: list[Message] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def walk(msg: Message) -> BodyParts:
    """Collect the body of `msg`."""
    parts = BodyParts()
    _visit(msg, parts, 0)
    return parts


def _visit(part: Message, acc: BodyParts, depth: int) -> None:
    if depth > _MAX_DEPTH:
        acc.defects.append(TOO_DEEP)
        return
    ctype = _content_type(part)
    if ctype == "message/rfc822" or (ctype.startswith("message/") and part.is_multipart()):
        _enclosed(part, acc)
    elif part.is_multipart():
        _multipart(part, ctype, acc, depth)
    else:
        _leaf(part, ctype, acc)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # a mangled Content-Type header: treat as plain text like the RFC says
        return "text/plain"


def _enclosed(part: Message, acc: BodyParts) -> None:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if isinstance(inner, Message):
        acc.enclosed.append(inner)
        name = _filename(part) or decode_words(str(inner.get("subject", "") or "")) + ".eml"
        acc.attachments.append(Attachment(name, "message/rfc822", _size(inner)))


def _size(msg: Message) -> int:
    try:
        return len(msg.as_bytes())
    except Exception:  # serialising a broken enclosed message can fail; its size is then 0
        return 0


def _multipart(part: Message, ctype: str, acc: BodyParts, depth: int) -> None:
    children = [c for c in (part.get_payload() or []) if isinstance(c, Message)]
    if not children:
        acc.defects.append(f"{ctype} without parts (missing or broken boundary)")
        _leaf_text_of_broken_multipart(part, acc)
        return
    if ctype == "multipart/alternative":
        children = _pick_alternative(children, acc)
    for child in children:
        _visit(child, acc, depth + 1)


def _leaf_text_of_broken_multipart(part: Message, acc: BodyParts) -> None:
    payload = part.get_payload()
    if isinstance(payload, str) and payload.strip():
        acc.texts.append(payload.strip())


def _pick_alternative(children: list[Message], acc: BodyParts) -> list[Message]:
    """Keep calendar parts, and one readable alternative: plain when non-empty, else the last."""
    calendars = [c for c in children if _content_type(c) == "text/calendar"]
    readable = [c for c in children if _content_type(c) != "text/calendar"]
    plain = [c for c in readable if _content_type(c) == "text/plain" and _decoded(c, acc).strip()]
    chosen = plain[:1] or readable[-1:]
    return chosen + calendars


def _leaf(part: Message, ctype: str, acc: BodyParts) -> None:
    filename = _filename(part)
    disposition = _disposition(part)
    if ctype == "text/calendar":
        acc.calendars.append(_decoded(part, acc))
    elif ctype in _MACHINE_TYPES:
        return
    elif ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        text = _decoded(part, acc)
        # HTML is cut before conversion too: html2text is far slower than the cut after it.
        acc.texts.append(html_to_text(text[: MAX_TEXT_CHARS * 4]) if ctype == "text/html" else text)
        return
    if ctype != "text/calendar" or filename:
        acc.attachments.append(Attachment(filename, ctype, len(_payload_bytes(part, acc))))


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:  # broken Content-Disposition parameters
        return ""


def _filename(part: Message) -> str:
    """The attachment's name: RFC 2231 and RFC 2047 decoded, '' when none."""
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:  # RFC 2231 continuations can be malformed beyond the stdlib's tolerance
        return ""
    if isinstance(name, tuple):  # an RFC 2231 value the stdlib could not decode itself
        name = decode_bytes(str(name[2]).encode("latin-1", "replace"), name[0])[0]
    return decode_words(str(name)).strip()


def _payload_bytes(part: Message, acc: BodyParts) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # bad base64/quoted-printable: fall back to the raw transfer text
        acc.defects.append("undecodable transfer encoding")
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _decoded(part: Message, acc: BodyParts) -> str:
    data = _payload_bytes(part, acc)
    try:
        charset = part.get_content_charset()
    except Exception:  # RFC 2231 charset parameter garbage
        charset = None
    text, defect = decode_bytes(data, charset)
    if defect and defect not in acc.defects:
        acc.defects.append(defect)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def html_to_text(html: str) -> str:
    """Readable text from HTML; blockquotes become '>' quoting, links keep only their text."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_links = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    try:
        text = converter.handle(html)
    except Exception:  # html2text trips on some broken markup; strip tags crudely instead
        text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

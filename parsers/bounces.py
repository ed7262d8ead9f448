"""Classify stage helper: what a bounce says (failed recipients, original Message-ID, status).

Standard DSNs (RFC 3464: multipart/report; report-type=delivery-status) are read field by
field; the original's Message-ID comes from the attached message/rfc822 or
text/rfc822-headers part, else from the bounce's In-Reply-To (Office 365 sets it). Non-
standard bounces (Gmail's plain text, qmail, Postfix's 'This is the mail system at host',
Exim's X-Failed-Recipients) are read from the text as best we can; `scanned_failures` asks
flufl.bounce, which knows dozens of such formats, first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import Message

from flufl.bounce import all_failures

from parsers.charsets import decode_bytes
from parsers.headers import parse_message_id
from parsers.model import ParsedMessage

_SUBJECT = re.compile(
    r"(?:Undeliver|Undelivered Mail|Delivery Status Notification|Returned mail|Mail delivery failed|"
    r"Delivery failure|Delivery has failed|failure notice|Delayed Mail|Mail System Error|"
    r"Non[- ]?delivery|Unzustellbar|Nicht zustellbar|Non remis|Échec de la remise|"
    r"No se puede entregar|Onbestelbaar)",
    re.IGNORECASE,
)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_ADDRESS = re.compile(r"[\w.!#$%&\'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_ORIGINAL_MARKER = re.compile(
    r"^\s*(?:-+\s*(?:Original message|Below this line is a copy of the message)|Original message follows"
    r"|-{3,} This is a copy of the message|Received: )",
    re.IGNORECASE | re.MULTILINE,
)
_SYSTEM_LOCALS = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|bounces?)$", re.IGNORECASE)


@dataclass(frozen=True)
class BounceInfo:
    """Who could not be reached, which of our messages it was, and the DSN status ('5.1.1')."""

    failed_recipients: tuple[str, ...]
    original_message_id: str
    status: str


def report_type(msg: ParsedMessage) -> str:
    """The report-type parameter of a top-level multipart/report, lower-cased ('' if none)."""
    if msg.content_type != "multipart/report":
        return ""
    match = re.search(r'report-type\s*=\s*"?([\w-]+)', msg.get("content-type") or "", re.IGNORECASE)
    return match.group(1).lower() if match else ""


def is_bounce_subject(subject: str) -> bool:
    """Subjects bounce generators use, in several languages."""
    return bool(_SUBJECT.search(subject or ""))


def without_bom(raw: bytes | None) -> bytes:
    """The bytes of a mail without a leading UTF-8 byte-order mark (some feedback loops send one)."""
    data = bytes(raw or b"")
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


# flufl.bounce runs its regexes over every line of a mail: 8 MB cost it six seconds. What a
# bounce says about the failure comes first (its report parts); an attached original may
# follow, and need not be read.
SCAN_LIMIT = 256 * 1024


def scanned_failures(raw: bytes | None) -> tuple[str, ...]:
    """The failed addresses flufl.bounce reads in `raw` (permanent and temporary), sorted; () if none."""
    if not raw:
        return ()
    try:
        tree = message_from_bytes(without_bom(raw)[:SCAN_LIMIT], _class=_ScannedMessage, policy=policy.compat32)
        temporary, permanent = all_failures(tree)
    except Exception:  # its detectors are a third party's regexes on hostile input: no verdict, no crash
        return ()
    return tuple(sorted({_text(a).lower() for a in (*permanent, *temporary)} - {""}))


class _ScannedMessage(Message):
    """A message (compat32) that works out each part's payload once, however often it is read.

    flufl.bounce's detectors walk the whole mail once for each of their fifty-odd patterns,
    and the email package works the payload out afresh every time (its transfer encoding
    looked up, its text checked for undecodable bytes). Nothing changes the mail meanwhile."""

    def get_payload(self, i=None, decode=False):
        if i is not None or decode:
            return super().get_payload(i, decode)
        try:
            return self._read_payload
        except AttributeError:
            self._read_payload = super().get_payload()
            return self._read_payload

    def set_payload(self, payload, charset=None):
        self.__dict__.pop("_read_payload", None)
        super().set_payload(payload, charset)


def _text(address: bytes | str) -> str:
    return address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address)


def read_bounce(msg: ParsedMessage, raw: bytes) -> BounceInfo | None:
    """What `msg` (raw bytes `raw`), known to be a bounce (parsers.robots), reports."""
    try:
        tree = message_from_bytes(without_bom(raw), policy=policy.compat32)
    except Exception:  # the daemon gets None rather than an exception for a mangled bounce
        return None
    recipients, status = _dsn_fields(tree)
    if not recipients:
        recipients = list(scanned_failures(raw)) or _text_recipients(msg)
    status = status or _text_status(msg.text)
    return BounceInfo(tuple(dict.fromkeys(recipients)), _original_id(tree, msg), status)


def _dsn_fields(tree: Message) -> tuple[list[str], str]:
    recipients: list[str] = []
    status = ""
    for block in _dsn_blocks(tree):
        action = (block.get("action") or "").strip().lower()
        if action in ("delivered", "relayed", "expanded"):
            continue
        recipient = _dsn_address(block.get("original-recipient")) or _dsn_address(block.get("final-recipient"))
        if recipient:
            recipients.append(recipient)
            status = status or _dsn_status(block)
    return recipients, status


def _dsn_status(block: Message) -> str:
    match = _STATUS.search(str(block.get("status") or ""))
    return match.group(1) if match else ""


def _dsn_blocks(tree: Message) -> list[Message]:
    """Per-recipient field blocks of every message/delivery-status part."""
    blocks: list[Message] = []
    for part in tree.walk():
        if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            blocks.extend(p for p in payload if isinstance(p, Message))
        elif isinstance(payload, str):  # the parser left it as text: split blocks ourselves
            blocks.extend(message_from_string(chunk + "\n") for chunk in re.split(r"\n\s*\n", payload))
    if tree.get_content_type() == "message/delivery-status" and not blocks:
        blocks.append(tree)
    return blocks


def _dsn_address(value: object) -> str:
    """'rfc822; <User@Host>' -> 'user@host'; '' when no address is there."""
    text = str(value or "")
    text = text.split(";", 1)[1] if ";" in text else text
    match = _ADDRESS.search(text)
    return match.group(0).lower() if match else ""


def _original_id(tree: Message, msg: ParsedMessage) -> str:
    for part in tree.walk():
        found = _id_in_part(part)
        if found:
            return found
    if msg.in_reply_to:
        return msg.in_reply_to[0]
    return _id_in_text(msg.text)


def _id_in_part(part: Message) -> str:
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return parse_message_id(str(inner[0].get("message-id") or ""))
    if ctype == "text/rfc822-headers":
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        return _id_in_text(decode_bytes(data, "utf-8")[0])
    return ""


def _id_in_text(text: str) -> str:
    match = re.search(r"^\s*Message-ID:\s*(<[^<>\s]+>)", text or "", re.IGNORECASE | re.MULTILINE)
    return match.group(1) if match else ""


def _text_recipients(msg: ParsedMessage) -> list[str]:
    """X-Failed-Recipients, else addresses in the bounce text above the copied original."""
    header = msg.get("x-failed-recipients")
    if header:
        return [a.lower() for a in _ADDRESS.findall(header)]
    text = msg.text
    marker = _ORIGINAL_MARKER.search(text)
    head = text[: marker.start()] if marker else text
    ours = {a.addr for a in (msg.from_,) + msg.to + msg.cc if a}
    return [
        a.lower() for a in _ADDRESS.findall(head) if a.lower() not in ours and not _SYSTEM_LOCALS.match(a.split("@")[0])
    ]


def _text_status(text: str) -> str:
    match = _STATUS.search(text or "")
    if match:
        return match.group(1)
    return "5.0.0" if re.search(r"permanent|failed|unknown user", text or "", re.IGNORECASE) else ""

"""Parse stage, forwards: originals carried inline in the body or attached as message/rfc822.

Inline forwards start at a marker line (Gmail, Apple Mail, Thunderbird, Outlook, in English,
German, French, Spanish and Dutch), followed by a block of 'Key: value' header lines and a
blank line. An Outlook 'From:/Sent:' block or '-----Original Message-----' is also how
Outlook *replies* quote, so those count as forwards only when the subject says so (FW:...).
"""

from __future__ import annotations

import re

from parsers.headers import is_forward_subject, loose_date, parse_address, parse_date, to_utc
from parsers.model import Address, ForwardedMessage

_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{3,}\s*(?:Forwarded\s+message|Forwarded\s+Message|Weitergeleitete\s+Nachricht|"
    r"Message\s+transféré|Mensaje\s+reenviado|Doorgestuurd\s+bericht|Mensagem\s+encaminhada)\s*-{3,}|"
    r"(?:Begin\s+forwarded\s+message|Anfang\s+der\s+weitergeleiteten\s+Nachricht|"
    r"Début\s+du\s+message\s+réexpédié|Inicio\s+del\s+mensaje\s+reenviado|"
    r"Begin\s+doorgestuurd\s+bericht)\s*:)\s*$",
    re.IGNORECASE,
)
_REPLY_MARKER = re.compile(
    r"^\s*(?:-{3,}\s*(?:Original\s+Message|Ursprüngliche\s+Nachricht|Originalnachricht|"
    r"Message\s+d'origine|Mensaje\s+original|Oorspronkelijk\s+bericht)\s*-{3,}|_{20,})\s*$",
    re.IGNORECASE,
)
_KEY = re.compile(r"^\s*[*>]*\s*([^\W\d_][\w \-]{0,20}?)\s*\**\s*:\s*\**\s*(.*)$")
_FIELDS = {
    "from": {"from", "von", "de", "van", "da"},
    "date": {"date", "sent", "datum", "gesendet", "envoyé", "enviado", "fecha", "verzonden", "verstuurd"},
    "subject": {"subject", "betreff", "objet", "asunto", "onderwerp", "sujet"},
}


def inline_forwards(text: str, subject: str) -> tuple[ForwardedMessage, ...]:
    """Forwarded originals found in a body `text`, outermost first."""
    lines = text.replace("\r\n", "\n").split("\n")
    starts = [i for i, line in enumerate(lines) if _is_start(lines, i, subject)]
    found = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        forwarded = _block(lines[start:end])
        if forwarded is not None:
            found.append(forwarded)
    return tuple(found)


def _is_start(lines: list[str], i: int, subject: str) -> bool:
    line = lines[i]
    if _FORWARD_MARKER.match(line):
        return True
    if not is_forward_subject(subject):
        return False
    if _REPLY_MARKER.match(line):
        return True
    if i and lines[i - 1].strip():  # a block opens after a blank line (or a marker, caught above)
        return False
    return _field_of(line) == "from" and _field_of(_next_nonblank(lines, i)) == "date"


def _next_nonblank(lines: list[str], i: int) -> str:
    return next((line for line in lines[i + 1 : i + 4] if line.strip()), "")


def _field_of(line: str) -> str | None:
    match = _KEY.match(line)
    if not match:
        return None
    key = match.group(1).strip().lower()
    return next((name for name, keys in _FIELDS.items() if key in keys), None)


def _block(lines: list[str]) -> ForwardedMessage | None:
    """Parse one forward block: optional marker line, header lines, blank line, body."""
    body_start, fields = _header_fields(lines)
    if not fields:
        return None
    text = "\n".join(line for line in lines[body_start:]).strip()
    return ForwardedMessage(
        from_=_forwarded_from(fields.get("from", "")),
        subject=fields.get("subject", ""),
        date=_forwarded_date(fields.get("date", "")),
        text=_unquote(text),
    )


def _header_fields(lines: list[str]) -> tuple[int, dict[str, str]]:
    fields: dict[str, str] = {}
    i = 1 if lines and (_FORWARD_MARKER.match(lines[0]) or _REPLY_MARKER.match(lines[0])) else 0
    while i < len(lines) and not lines[i].strip() and not fields:
        i += 1
    while i < len(lines) and lines[i].strip():
        match = _KEY.match(lines[i])
        if not match and not fields:
            break
        name = _field_of(lines[i]) if match else None
        if name and name not in fields:
            fields[name] = match.group(2).strip()
        i += 1
    return i, fields


def _forwarded_from(value: str) -> Address | None:
    """'Alice <a@x>', 'Alice [mailto:a@x]' or 'a@x'; None when no address is there."""
    value = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", value)
    value = value.replace("&lt;", "<").replace("&gt;", ">")
    address = parse_address(value)
    return address if address and address.addr else None


def _forwarded_date(value: str):
    if not value:
        return None
    return parse_date(value) or to_utc(loose_date(value))


def _unquote(text: str) -> str:
    """Strip one level of '>' quoting when every non-blank line has it (some clients quote forwards)."""
    lines = text.split("\n")
    if lines and all(line.startswith(">") for line in lines if line.strip()):
        return "\n".join(re.sub(r"^> ?", "", line) for line in lines).strip()
    return text

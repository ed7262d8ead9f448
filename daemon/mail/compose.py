"""Builds outgoing messages: addressing, threading and the headers that stop mail loops.

Every message canceldesk sends has its own Message-ID on our domain, `In-Reply-To` and
`References` when it answers a mail, the case reference in the subject, a Reply-To that
leads back to the case (`cancel+TOKEN@domain`), and `Auto-Submitted` (RFC 3834) with
`X-Auto-Response-Suppress: All`, so that other robots do not answer us.
"""

from __future__ import annotations

import functools
import io
import re
from datetime import datetime
from email.generator import BytesGenerator
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage, Message
from email.policy import EmailPolicy, Policy
from email.utils import format_datetime, make_msgid

try:  # the package's choice of 7bit, 8bit, quoted-printable or base64 for a text body
    from email.contentmanager import _encode_text  # type: ignore[attr-defined]
except ImportError:  # another Python's package: set_content itself
    _encode_text = None

from daemon.config import DeskConfig
from daemon.mail.rendering import RenderedMail
from integrations.mime import UNSPACED_CONTENT_TYPE, fresh_boundary, type_and_boundary
from parsers.references import make_reply_address

CASE_HEADER = "X-Canceldesk-Case"


class HeaderClasses(HeaderRegistry):
    """The stdlib's header registry, making each header's class once.

    The stock registry builds a new class for every header it parses; the classes, and
    so the bytes, are the same.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


class ComposePolicy(EmailPolicy):
    """`policy.default` that keeps a plain header value as it is until someone reads it.

    The stock policy parses every header as it is set and folds the parse tree again when
    the mail is written: most of the cost of composing a mail. A one-line ASCII value with
    nothing to encode is written back verbatim either way, so it is stored as text; anything
    else (non-ASCII, encoded words, long lines, header objects) takes the stock path.
    """

    def header_store_parse(self, name, value):
        if isinstance(value, str) and (
            _verbatim(name, value, self.max_line_length)
            or _plain_subject(name, value)
            or _bare_addresses(name, value, self.max_line_length)
            or _foldable_content_type(name, value, self.max_line_length)
        ):
            return (name, value)
        return super().header_store_parse(name, value)

    def _fold(self, name, value, refold_binary=False):
        if isinstance(value, str) and (
            _plain_subject(name, value)
            or _bare_addresses(name, value, self.max_line_length)
            or _foldable_content_type(name, value, self.max_line_length)
        ):
            return fold_words(name, value, self.max_line_length, self.linesep)
        return super()._fold(name, value, refold_binary)

    def header_fetch_parse(self, name, value):
        # Read again and again while the mail is written (Content-Type above all): parse
        # each distinct text once. Header objects are immutable, so sharing one is safe.
        # Keyed by the registry, not the policy: writing a mail clones the policy each time.
        if isinstance(value, str) and not hasattr(value, "name"):
            return _parsed(self.header_factory, name, value)
        return super().header_fetch_parse(name, value)


# What email.policy strips from a header's text before parsing it.
_LINE_BREAKS = re.compile(r"\n|\r")


@functools.lru_cache(maxsize=512)
def _parsed(header_factory, name: str, value: str):
    # What EmailPolicy.header_fetch_parse does with a text value.
    return header_factory(name, "".join(_LINE_BREAKS.split(value)))


def _verbatim(name: str, value: str, max_length: int) -> bool:
    return (
        value.isascii()
        and value.isprintable()
        and "=?" not in value
        and value == value.strip()
        and "  " not in value
        and len(name) + 2 + len(value) <= max_length
    )


def _plain_subject(name: str, value: str) -> bool:
    # An ASCII subject too long for one line: folded here (fold_words), since the stdlib puts
    # a first word too long for the rest of the line on a line of its own, right after
    # 'Subject:', and a reader that unfolds it sees the subject start with a space.
    return (
        name.lower() == "subject"
        and value.isascii()
        and value.isprintable()
        and "=?" not in value
        and value == value.strip()
    )


# An address with nothing to quote or encode: a dot-atom local part and a plain domain.
_BARE_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)


def _bare_addresses(name: str, value: str, max_length: int) -> bool:
    # A team mail's To: bare addresses joined by ", ". The stock policy parses the list and
    # folds it after a comma, where a line would grow too long; folding between the words
    # does the same for addresses that each fit on a line.
    if name.lower() not in ("to", "cc"):
        return False
    addresses = value.split(", ")
    return all(_BARE_ADDRESS.fullmatch(a) and len(a) + 2 <= max_length - len(name) - 2 for a in addresses)


def _foldable_content_type(name: str, value: str, max_length: int) -> bool:
    # Too long for one line, the stock policy parses it and folds it before a parameter;
    # between the words is the same place when no quoted value has a space and each
    # parameter fits on a line (a longer one it splits by RFC 2231: left to it).
    if name.lower() != "content-type" or not UNSPACED_CONTENT_TYPE.fullmatch(value):
        return False
    first, *parameters = value.split(" ")
    return len(name) + 2 + len(first) <= max_length and all(len(p) + 1 <= max_length for p in parameters)


def fold_words(name: str, value: str, max_length: int, linesep: str) -> str:
    """`name: value` folded between words (RFC 5322 2.2.3), the first word always on the
    first line; a word longer than a line stays whole (lines may reach 998 characters)."""
    lines, line = [], f"{name}:"
    # Split at single spaces, so that unfolding (removing each CRLF) gives back the value exactly.
    for word in value.split(" "):
        if word and len(line) + 1 + len(word) > max_length and line != f"{name}:":
            lines.append(line)
            line = ""
        line = f"{line} {word}"
    lines.append(line)
    return linesep.join(lines) + linesep


# The same rules and output as policy.default and policy.SMTP, at a fraction of the cost.
POLICY = ComposePolicy(header_factory=HeaderClasses())
SMTP_POLICY = POLICY.clone(linesep="\r\n")


def compose(
    desk: DeskConfig,
    rendered: RenderedMail,
    to: list[str],
    *,
    now: datetime,
    case_reference: str = "",
    case_token: str = "",
    answering: Thread | None = None,
    auto: str = "auto-generated",
    cc: list[str] | None = None,
) -> EmailMessage:
    """One complete message, ready for the outbox."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _from(desk.name, desk.address)
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = _subject(rendered.subject, case_reference)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(idstring="cd", domain=desk.domain)
    if case_token:
        msg["Reply-To"] = make_reply_address(desk.local_part, desk.domain, case_token)
    if answering:
        _thread(msg, answering)
    msg["Auto-Submitted"] = auto
    msg["X-Auto-Response-Suppress"] = "All"
    if case_reference:
        msg[CASE_HEADER] = case_reference
    _set_text(msg, rendered.text)
    if rendered.html:
        msg.add_alternative(rendered.html, subtype="html")
        msg.set_boundary(fresh_boundary(rendered.text, rendered.html))
    return msg


def _set_text(msg: EmailMessage, text: str) -> None:
    """`msg.set_content(text)` on a message without content yet: the same headers, in the
    same order, and the same body, encoded by the email package's own rules; only its
    round of setting a bare Content-Type and parsing it again for the charset is skipped."""
    if _encode_text is None or any(name.lower().startswith("content-") for name, _ in msg._headers):  # type: ignore[attr-defined]
        msg.set_content(text)
        return
    cte, payload = _encode_text(text, "utf-8", None, msg.policy)
    msg["Content-Type"] = 'text/plain; charset="utf-8"'
    msg.set_payload(payload)
    msg["Content-Transfer-Encoding"] = cte
    if "MIME-Version" not in msg:
        msg["MIME-Version"] = "1.0"


@functools.lru_cache(maxsize=16)
def _from(name: str, address: str) -> str:
    # The text an Address header object would be parsed from anyway: as a string, a plain
    # ASCII name skips the header parser, and anything else is still parsed and encoded.
    return str(Address(name, addr_spec=address))


def header_text(msg: Message, name: str) -> str:
    """`str(msg[name])` of a Subject, Message-ID, To or Cc header this module wrote, without parsing it.

    A value kept as plain text (ComposePolicy) reads back unchanged once parsed: ASCII, no
    encoded words, no line breaks, and for To and Cc bare addresses only (a display name
    may come back quoted otherwise). Any other value is parsed, as reading it would; a
    header the mail does not have reads as ''.
    """
    key = name.lower()
    for stored_name, value in msg._headers:  # type: ignore[attr-defined]
        if stored_name.lower() == key:
            if type(value) is str and (
                (key in ("subject", "message-id") and _plain_subject("subject", value))
                or _bare_addresses(key, value, _ANY_LENGTH)
            ):
                return value
            return str(msg[name])
    return ""


_ANY_LENGTH = 998  # RFC 5322's limit on a line: a header's text is read whole, not folded


def to_bytes(msg: Message, policy: Policy | None = None) -> bytes:
    """`msg.as_bytes(policy=policy)`, the same bytes, without the generator's machinery.

    The stdlib's generator clones its policy and itself for every part, and looks up
    each part's type and parameters several times over; for the mail the desk writes
    (text parts, multiparts with their boundary set) this writes the same headers,
    boundaries and lines directly. Any other kind of part (message/*, multipart/signed,
    a multipart without a boundary, a preamble or epilogue, 8-bit data under a 7-bit
    policy) is written by the generator itself, so the output never differs.
    """
    chosen = policy or msg.policy
    if not isinstance(chosen, EmailPolicy):
        return msg.as_bytes(policy=chosen)
    out: list[bytes] = []
    _write_part(msg, chosen, out)
    return b"".join(out)


# How the generator splits a body into lines (email.generator.NLCRE).
_NEWLINES = re.compile(r"\r\n|\r|\n")


def _write_part(msg: Message, policy: EmailPolicy, out: list[bytes]) -> None:
    payload = msg._payload  # type: ignore[attr-defined]  # what the generator itself reads
    content_type, boundary = type_and_boundary(msg)
    maintype = content_type.partition("/")[0]
    if maintype == "multipart":
        boundary = boundary if isinstance(payload, list) and payload else None
        if not boundary or content_type == "multipart/signed" or msg.preamble is not None or msg.epilogue is not None:
            out.append(_generated(msg, policy))
            return
        _write_headers(msg, policy, out)
        linesep = policy.linesep.encode("ascii")
        dash = b"--" + boundary.encode("ascii")
        for n, part in enumerate(payload):
            out.append((linesep if n else b"") + dash + linesep)
            _write_part(part, policy, out)
        out.append(linesep + dash + b"--" + linesep)
        return
    if maintype == "message" or not (payload is None or isinstance(payload, str)):
        out.append(_generated(msg, policy))
        return
    if payload and _has_surrogates(payload) and policy.cte_type == "7bit":
        out.append(_generated(msg, policy))  # re-encoded by the generator
        return
    _write_headers(msg, policy, out)
    if payload:
        lines = _NEWLINES.split(payload)
        if not lines[-1]:
            lines.pop()  # a trailing line break: the generator writes none after it
            body = policy.linesep.join(lines) + policy.linesep
        else:
            body = policy.linesep.join(lines)
        out.append(body.encode("ascii", "surrogateescape"))


def _has_surrogates(text: str) -> bool:
    # Bytes that were not text, carried as lone surrogates (email.utils._has_surrogates).
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _write_headers(msg: Message, policy: EmailPolicy, out: list[bytes]) -> None:
    # A one-line ASCII value kept as text is written as `name: value`, which is what the
    # policy's fold gives it (refold_source "long" leaves a line that fits alone).
    fold = policy.fold_binary
    linesep = policy.linesep
    stock = getattr(type(policy), "_fold", None) in (getattr(EmailPolicy, "_fold", 0), ComposePolicy._fold)
    limit = policy.max_line_length if stock and policy.refold_source == "long" else 0
    for name, value in msg._headers:  # type: ignore[attr-defined]
        if limit and type(value) is str and name.lower() != "subject" and _verbatim(name, value, limit):
            out.append(f"{name}: {value}{linesep}".encode("ascii"))
        else:
            out.append(fold(name, value))
    out.append(linesep.encode("ascii"))


def _generated(msg: Message, policy: EmailPolicy) -> bytes:
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(msg)
    return buffer.getvalue()


class Thread:
    """What a reply needs to know about the mail it answers."""

    def __init__(self, message_id: str, references: tuple[str, ...] = ()) -> None:
        self.message_id = message_id
        self.references = references

    @classmethod
    def of(cls, parsed) -> Thread:
        """A reply to `parsed` (a parsers.model.ParsedMessage)."""
        return cls(parsed.message_id, parent_chain(parsed.references, parsed.in_reply_to))


def parent_chain(references, in_reply_to) -> tuple[str, ...]:
    """The thread above a mail: its References or, when it has none, its one In-Reply-To (RFC 5322 3.6.4)."""
    if references:
        return tuple(references)
    return tuple(in_reply_to) if len(in_reply_to) == 1 else ()


def _thread(msg: EmailMessage, answering: Thread) -> None:
    if not answering.message_id:
        return
    msg["In-Reply-To"] = answering.message_id
    # RFC 5322 3.6.4: the parent's References followed by the parent's own Message-ID.
    chain = [ref for ref in answering.references if ref != answering.message_id][-20:]
    msg["References"] = " ".join([*chain, answering.message_id])


def _subject(subject: str, reference: str) -> str:
    if not reference or reference in subject:
        return subject
    return f"{subject} [{reference}]"

"""Parse stage, data shapes: the frozen dataclasses every parser returns.

They live apart from `message.py` so the helper modules (headers, body, forwards) can
build them without importing the orchestrating module; `parsers.message` re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType


@dataclass(frozen=True)
class Address:
    """One mailbox: the decoded display name and the bare, lower-cased address."""

    name: str
    addr: str


@dataclass(frozen=True)
class Attachment:
    """A part that is not body text: its name, MIME type and decoded size in bytes."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ForwardedMessage:
    """An original carried by a forward, inline or as a message/rfc822 part."""

    from_: Address | None
    subject: str
    date: datetime | None
    text: str
    source: str = "inline"  # 'inline' or 'attachment': tells the daemon how much to trust it


_EMPTY: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@dataclass(frozen=True)
class ParsedMessage:
    """Everything the daemon reads from one mail; see `parsers.message.parse_message`."""

    message_id: str = ""
    subject: str = ""
    from_: Address | None = None
    sender: Address | None = None
    reply_to: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    date: datetime | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    return_path: str | None = None
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY)
    text: str = ""
    new_text: str = ""
    forwarded: tuple[ForwardedMessage, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    calendar_parts: tuple[str, ...] = ()
    defects: tuple[str, ...] = ()
    content_type: str = ""  # top-level MIME type, lower-cased ('multipart/report', ...)
    unreadable: str = ""  # why the mail cannot be read safely (set aside for a person), '' if it can

    def get(self, name: str) -> str | None:
        """First decoded value of header `name` (any case), or None."""
        values = self.headers.get(name.lower(), ())
        return values[0] if values else None

    def get_all(self, name: str) -> tuple[str, ...]:
        """Every decoded value of header `name` (any case), in order."""
        return self.headers.get(name.lower(), ())

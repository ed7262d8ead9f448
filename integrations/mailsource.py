"""The one interface the watcher drives to read the cancellation inbox.

A mail source is a single folder whose messages are named by (UIDVALIDITY, UID), as in
IMAP: `integrations.imap.ImapSource` for a real server and
`integrations.maildir.MaildirSource` as the embedded default behave the same way, so
the watcher's checkpoint logic (getmail6's seen-message ledger) never cares which one
it has. Nothing here imports a mail library: the daemon catches these exceptions only.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class FetchedMail:
    """One message exactly as stored: the bytes that are checkpointed and parsed."""

    uid: int
    raw: bytes
    # When the mailbox got it (IMAP INTERNALDATE, Maildir delivery time), aware; None if unknown.
    arrived: datetime | None = field(default=None, compare=False)


class MailSourceError(Exception):
    """A mailbox operation failed in a way that reconnecting will not obviously fix."""


class ConnectionLost(MailSourceError):
    """The server went away; the watcher reconnects with backoff."""


class AuthenticationFailed(MailSourceError):
    """The server refused our credentials; the message never contains the secret."""


class Wakeup(enum.Enum):
    """Why the last `wait()` returned, for logs and for tests that must not time things."""

    ACTIVITY = "activity"
    TIMEOUT = "timeout"


class MailSource(Protocol):
    """A folder of mail named by UID; see the module docstring."""

    # Stable identity of the mailbox for checkpoints, without secrets:
    # 'imap://user@host:port/INBOX' or 'maildir:/abs/path'.
    key: str
    # Set by every wait(); None before the first.
    last_wakeup: Wakeup | None

    def connect(self) -> int:
        """(Re)connect, select the folder and return its UIDVALIDITY."""

    def close(self) -> None:
        """Let go of the connection; safe to call at any time, also twice."""

    def new_uids(self, after_uid: int) -> list[int]:
        """UIDs greater than `after_uid` still in the folder, ascending."""

    def fetch(self, uids: list[int]) -> list[FetchedMail]:
        """The raw messages for `uids` still present, without marking them seen."""

    def mark_done(self, uid: int) -> None:
        """Move the message to the processed folder, or flag it; a uid already gone is fine."""

    def wait(self, timeout: float, stop: threading.Event | None = None) -> None:
        """Block until new mail may be there, `timeout` seconds pass or `stop` is set.

        Returns at once when a reply since the last wait already announced new mail.
        A set `stop` is noticed within about a second. Raises ConnectionLost when the
        server goes away meanwhile.
        """

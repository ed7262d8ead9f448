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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# A mail larger than this is read from its source in slices of this size and stored slice by
# slice, so that it is never whole in memory: held whole, and copied by each step that
# touches it, a 25 MB mail costs a daemon of 180 MB another 100.
SLICE_BYTES = 1024 * 1024


class Slices(Protocol):
    """A large mail, read from its source anew in slices of at most SLICE_BYTES each time it
    is iterated; the slices joined are its exact bytes."""

    # As the source announced it (IMAP RFC822.SIZE, the file's size): the slices decide.
    size: int

    def __iter__(self) -> Iterator[bytes]: ...


def whole(raw: bytes | Slices) -> bytes:
    """The mail's bytes in one piece: for the rare step that needs them so."""
    return raw if isinstance(raw, bytes) else b"".join(raw)


@dataclass(frozen=True)
class FetchedMail:
    """One message exactly as stored: the bytes that are checkpointed and parsed."""

    uid: int
    # Bytes, or `Slices` for a mail above SLICE_BYTES where the source can read it so.
    raw: bytes | Slices
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
        """The raw messages for `uids` still present, without marking them seen; a large
        one may come as `Slices`, read only when it is stored."""

    def mark_done(self, uid: int) -> None:
        """Move the message to the processed folder, or flag it; a uid already gone is fine."""

    def wait(self, timeout: float, stop: threading.Event | None = None) -> None:
        """Block until new mail may be there, `timeout` seconds pass or `stop` is set.

        Returns at once when a reply since the last wait already announced new mail.
        A set `stop` is noticed within about a second. Raises ConnectionLost when the
        server goes away meanwhile.
        """

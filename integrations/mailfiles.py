"""The embedded outbox: each outgoing message written as an .eml file in a folder, once.

`FileSender.send` writes one file and makes it durable before returning. A pass of the
outbox goes through `FileSender.session()`, which writes every file of the pass, makes them
durable together (`integrations.durable.sync_files`), then renames them into place and
fsyncs the folder once: two flushes of the disk for the pass, not two per message. Until
the session has ended nothing of it is visible or recorded as sent, so a crash in between
leaves the pass to be written again, whole.

Whether a message has its file already is looked up in the folder, which costs in
proportion to the files it holds; so it is looked up only where an earlier attempt may
have written it (`tried_before`, which the outbox works out from the entry's attempts).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

from integrations.durable import fsync_folder, sync_files, temporary_beside, write_atomically
from integrations.smtp import as_written, envelope, parsed_payload, without_bcc

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")
_MAX_NAME = 120


def file_key(message_id: str) -> str:
    """A file-name-safe form of a Message-ID, distinct for distinct ids.

    When sanitising had to change or cut the id, a short hash of the original keeps two
    ids that differ only in unsafe characters from landing on the same name.
    """
    bare = message_id.strip().strip("<>")
    safe = _UNSAFE.sub("_", bare)[:_MAX_NAME]
    if safe != bare:
        safe += "_" + hashlib.sha256(bare.encode()).hexdigest()[:10]
    return safe


class FileSender:
    """Writes each message to `<UTC timestamp>-<sanitised Message-ID>.eml`, once.

    The envelope travels inside the file as `X-Canceldesk-Envelope-From` and
    `X-Canceldesk-Envelope-To` headers on top, rather than in a sidecar: one file
    appears in one atomic rename, so a reader never sees a message without its envelope
    (two files could never be published together atomically). Bcc is stripped like on
    the wire, so the Bcc recipients survive only in the envelope header.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        # Two outbox workers sending the same message must not both miss the file.
        self._lock = threading.Lock()
        self._remove_leftovers()

    def send(self, msg: EmailMessage, *, from_addr: str | None = None, to_addrs: Sequence[str] | None = None) -> None:
        self._write(msg, from_addr, to_addrs, session=None)

    def send_raw(self, raw: bytes, *, tried_before: bool = True) -> None:
        """`send` for a message already written out with LF line ends (an outbox payload);
        `tried_before=False`: no earlier attempt can have written it, so the folder is not searched."""
        self._write_raw(raw, None, tried_before)

    def _write(
        self,
        msg: EmailMessage,
        from_addr: str | None,
        to_addrs: Sequence[str] | None,
        session: FileSession | None,
        tried_before: bool = True,
    ) -> None:
        message_id = msg["Message-ID"]
        if not message_id:
            raise ValueError("FileSender needs a Message-ID to stay idempotent")
        sender, recipients = envelope(msg, from_addr, to_addrs)
        data = lambda: without_bcc(msg).as_bytes(policy=SMTP_POLICY)  # noqa: E731
        self._write_file(str(message_id), sender, recipients, data, session, tried_before)

    def _write_raw(self, raw: bytes, session: FileSession | None, tried_before: bool) -> None:
        ready = as_written(raw)
        if ready is None:
            return self._write(parsed_payload(raw), None, None, session, tried_before)
        if not ready.message_id:
            raise ValueError("FileSender needs a Message-ID to stay idempotent")
        self._write_file(ready.message_id, ready.sender, ready.recipients, ready.wire, session, tried_before)

    def _write_file(
        self,
        message_id: str,
        sender: str,
        recipients: list[str],
        data: Callable[[], bytes],
        session: FileSession | None,
        tried_before: bool,
    ) -> None:
        """Write the file unless it is there: made durable now, or by `session` when it ends."""
        key = file_key(message_id)
        with self._lock:
            if self._written_already(key, session, tried_before):
                log.info("%s already written, not writing it again", message_id)
                return
            path = self.directory / f"{_timestamp()}-{key}.eml"
            content = _envelope_headers(sender, recipients) + data()
            if session is None:
                write_atomically(path, content)
            else:
                session.add(key, path, content)
        log.info("wrote %s to %s", message_id, path.name)

    def _written_already(self, key: str, session: FileSession | None, tried_before: bool) -> bool:
        if session is not None:
            return session.has(key, tried_before)
        return tried_before and self.existing(key) is not None

    def probe(self) -> None:
        """Write and remove a probe file: the folder exists and this process may write to it.

        Hidden and not `.eml`, so whoever reads the outbox never mistakes it for mail.
        """
        probe = self.directory / f".canceldesk-probe.{os.getpid()}.tmp"
        probe.write_bytes(b"canceldesk check\n")
        probe.unlink()

    def session(self) -> contextlib.AbstractContextManager[FileSession]:
        """Many files, made durable and published together when the session ends."""
        return FileSession(self)

    def existing(self, key: str) -> Path | None:
        """The file already written for this key, if any (timestamps differ per write): a
        search of the whole folder."""
        return next((path for path in self.directory.glob(f"*-{key}.eml") if _key_of(path) == key), None)

    def _remove_leftovers(self) -> None:
        """Remove the unpublished files of writers that are gone: a crash before a session
        ended leaves them hidden, and their messages are written again by the next pass."""
        for tmp in self.directory.glob(".*.tmp"):
            pid = tmp.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not _running(int(pid)):
                tmp.unlink(missing_ok=True)


class FileSession:
    """Writes like `FileSender.send`, but the files are made durable with one sync and
    published (renamed, the folder fsynced once) when the session ends.

    A file is only there once the session has ended: `durable_at_exit` tells the outbox to
    record these messages as sent only then. A session ended by an error publishes nothing:
    its messages, not recorded as sent, are written again by a later pass.
    """

    durable_at_exit = True

    def __init__(self, sender: FileSender) -> None:
        self.sender = sender
        self.written: set[str] = set()  # the keys this session has written, not yet published
        self._pending: list[tuple[Path, Path]] = []  # (written beside its place, its place)
        self._published: set[str] | None = None  # the folder's keys, listed when first needed

    def __enter__(self) -> FileSession:
        return self

    def send(self, msg: EmailMessage, *, from_addr: str | None = None, to_addrs: Sequence[str] | None = None) -> None:
        self.sender._write(msg, from_addr, to_addrs, self)

    def send_raw(self, raw: bytes, *, tried_before: bool = True) -> None:
        self.sender._write_raw(raw, self, tried_before)

    def has(self, key: str, tried_before: bool) -> bool:
        """Whether `key` has its file: written in this session, or (`tried_before`) in the folder,
        listed once for the session at the first message that needs it."""
        if key in self.written:
            return True
        if not tried_before:
            return False
        if self._published is None:
            self._published = {_key_of(path) for path in self.sender.directory.glob("*-*.eml")}
        return key in self._published

    def add(self, key: str, path: Path, content: bytes) -> None:
        tmp = temporary_beside(path)
        tmp.write_bytes(content)  # made durable with the others when the session ends
        self._pending.append((tmp, path))
        self.written.add(key)

    def __exit__(self, error_type, *_exc) -> None:
        pending, self._pending = self._pending, []
        if error_type is not None:
            _discard(pending)
            return
        try:
            self._publish(pending)
        except BaseException:
            _discard(pending)
            raise

    def _publish(self, pending: list[tuple[Path, Path]]) -> None:
        if not pending:
            return  # a pass that wrote nothing syncs nothing
        sync_files(self.sender.directory, (tmp for tmp, _ in pending))
        for tmp, path in pending:
            os.replace(tmp, path)
        fsync_folder(self.sender.directory)


def _discard(pending: list[tuple[Path, Path]]) -> None:
    """Remove what a session wrote and did not publish (a file already renamed stays: it is whole)."""
    for tmp, _ in pending:
        tmp.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: running all the same
    return True


def _envelope_headers(sender: str, recipients: list[str]) -> bytes:
    lines = [f"X-Canceldesk-Envelope-From: <{sender}>", f"X-Canceldesk-Envelope-To: {', '.join(recipients)}"]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _key_of(path: Path) -> str:
    # Names are "<timestamp>-<key>.eml": the key is everything after the first "-".
    return path.name.split("-", 1)[1].removesuffix(".eml")


def _timestamp() -> str:
    # No "-" inside: the first "-" of a file name separates timestamp and key.
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")

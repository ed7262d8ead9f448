"""Maildir mail source: the embedded default behind `integrations.mailsource.MailSource`.

A Maildir has file names, not UIDs, so this module keeps its own small ledger inside the
Maildir, as Dovecot's dovecot-uidlist does: a UIDVALIDITY and, for every message file,
a UID handed out in order of arrival that never changes and is never reused. Losing the
ledger means a new UIDVALIDITY, which tells the watcher to start its checkpoint afresh.
`deliver()` writes a message the way a delivery agent does (tmp/, then rename into new/).
A file above SLICE_BYTES is fetched as `FileSlices`, read slice by slice as it is stored.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from integrations.mailsource import SLICE_BYTES, FetchedMail, MailSourceError, Wakeup

UIDLIST = "canceldesk-uidlist"
UIDLIST_LOCK = "canceldesk-uidlist.lock"
UIDLIST_VERSION = "1"
# The standard Maildir "info" suffix: name:2,FLAGS (flags as sorted ASCII letters).
INFO_SEPARATOR = ":2,"
_delivery_counter = itertools.count()


@dataclass
class Ledger:
    """UIDVALIDITY, the next UID to hand out, and which UID each message file has."""

    uidvalidity: int
    next_uid: int = 1
    uids: dict[str, int] = field(default_factory=dict)  # base name (without info) -> UID

    @classmethod
    def fresh(cls) -> Ledger:
        # Random rather than the clock: a ledger lost and recreated within the same second
        # must still get a different UIDVALIDITY, and only equality matters to the watcher.
        return cls(uidvalidity=secrets.randbits(31) + 1)

    @classmethod
    def parse(cls, text: str) -> Ledger:
        header, *lines = text.splitlines()
        version, validity, next_uid = header.split()
        if version != UIDLIST_VERSION or validity[0] != "V" or next_uid[0] != "N":
            raise MailSourceError(f"unknown {UIDLIST} header: {header!r}")
        ledger = cls(int(validity[1:]), int(next_uid[1:]))
        for line in lines:
            uid, name = line.split(" ", 1)
            ledger.uids[name] = int(uid)
        return ledger

    def dump(self) -> str:
        entries = sorted(self.uids.items(), key=lambda item: item[1])
        body = "".join(f"{uid} {name}\n" for name, uid in entries)
        return f"{UIDLIST_VERSION} V{self.uidvalidity} N{self.next_uid}\n{body}"

    def assign(self, names: list[str]) -> None:
        for name in names:
            self.uids[name] = self.next_uid
            self.next_uid += 1


class MaildirSource:
    """One Maildir folder; see `MailSource` for the contract of each method."""

    def __init__(
        self,
        path: str | os.PathLike,
        processed_folder: str | None = ".Processed",
        *,
        done_flag: str = "S",
        poll_interval: float = 1.0,
    ) -> None:
        if len(done_flag) != 1 or not done_flag.isupper():
            raise ValueError("done_flag is one upper-case Maildir flag letter, such as S or P")
        self.root = Path(path).absolute()
        self.processed = None
        if processed_folder is not None:
            self.processed = self.root / _subfolder_name(processed_folder)
        self.done_flag = done_flag
        self.poll_interval = poll_interval
        self.key = f"maildir:{self.root}"
        self.last_wakeup: Wakeup | None = None
        self._ledger: Ledger | None = None
        self._files: dict[int, Path] = {}  # UID -> current file, as of the last scan

    def __repr__(self) -> str:
        return f"MaildirSource({self.key!r})"

    # -- lifecycle -------------------------------------------------------------------------

    def connect(self) -> int:
        make_maildir(self.root)
        if self.processed is not None:
            make_maildir(self.processed, subfolder=True)
        self._scan()
        return self._ledger.uidvalidity

    def close(self) -> None:
        self._ledger = None
        self._files = {}

    def wait(self, timeout: float, stop: threading.Event | None = None) -> None:
        """Poll new/ and cur/ for a file the ledger does not know yet, until `stop` is set."""
        stop = stop or threading.Event()
        deadline = time.monotonic() + timeout
        known = set(self._ledger.uids) if self._ledger else set()
        while (remaining := deadline - time.monotonic()) > 0:
            if any(base not in known for base, _ in self._message_files()):
                self.last_wakeup = Wakeup.ACTIVITY
                return
            if stop.wait(min(remaining, self.poll_interval)):
                break
        self.last_wakeup = Wakeup.TIMEOUT

    # -- mailbox operations ----------------------------------------------------------------

    def new_uids(self, after_uid: int) -> list[int]:
        self._scan()
        return sorted(uid for uid in self._files if uid > after_uid)

    def fetch(self, uids: list[int]) -> list[FetchedMail]:
        """A file above SLICE_BYTES comes as `Slices`, read when stored: a group of large files
        read at once would all be in memory together."""
        mails = []
        for uid in sorted(set(uids)):
            handle = self.open_file(uid)
            if handle is None:
                continue
            with handle:
                size = os.fstat(handle.fileno()).st_size
                raw = handle.read() if size <= SLICE_BYTES else FileSlices(self, uid, size)
            mails.append(FetchedMail(uid, raw, self._delivered(uid)))
        return mails

    def mark_done(self, uid: int) -> None:
        path = self._locate(uid)
        if path is None:
            return  # already moved or deleted: marking done is idempotent
        base, flags = _split_info(path.name)
        if self.processed is not None:
            _rename_if_present(path, self.processed / "cur" / path.name)
        elif self.done_flag not in flags:
            new_name = f"{base}{INFO_SEPARATOR}{''.join(sorted(flags + self.done_flag))}"
            _rename_if_present(path, self.root / "cur" / new_name)

    # -- the ledger ------------------------------------------------------------------------

    def _scan(self) -> None:
        """Give every new message file a UID, in order of arrival, and save the ledger."""
        with self._locked():
            ledger = self._load()
            found = dict(self._message_files())
            unknown = (name for name in found if name not in ledger.uids)
            arrivals = sorted(unknown, key=_arrival_key(found))
            ledger.assign(arrivals)
            ledger.uids = {name: uid for name, uid in ledger.uids.items() if name in found}
            self._save(ledger)
        self._ledger = ledger
        self._files = {uid: found[name] for name, uid in ledger.uids.items()}

    def _load(self) -> Ledger:
        try:
            return Ledger.parse((self.root / UIDLIST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Ledger.fresh()

    def _save(self, ledger: Ledger) -> None:
        tmp = self.root / f"{UIDLIST}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(ledger.dump())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.root / UIDLIST)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Two processes scanning at once would hand the same UID to different files.
        with open(self.root / UIDLIST_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _message_files(self) -> Iterator[tuple[str, Path]]:
        for sub in ("new", "cur"):
            with os.scandir(self.root / sub) as entries:
                for entry in entries:
                    if not entry.name.startswith(".") and entry.is_file():
                        yield _split_info(entry.name)[0], Path(entry.path)

    def _locate(self, uid: int) -> Path | None:
        """The file of `uid`, rescanning once if it was renamed since (flags, new -> cur)."""
        path = self._files.get(uid)
        if path is not None and path.exists():
            return path
        self._scan()
        return self._files.get(uid)

    def _delivered(self, uid: int) -> datetime | None:
        """The delivery time: the seconds a delivery agent puts first in the name, else the file's time."""
        path = self._locate(uid)
        if path is None:
            return None
        head = path.name.split(".", 1)[0]
        try:
            seconds = int(head) if head.isdigit() else path.stat().st_mtime
            return datetime.fromtimestamp(seconds, UTC)
        except (OSError, OverflowError, ValueError):
            return None

    def open_file(self, uid: int) -> BinaryIO | None:
        """The file of `uid`, open for reading; None when it is gone."""
        for _attempt in range(2):
            path = self._locate(uid)
            if path is None:
                return None
            try:
                return open(path, "rb")
            except FileNotFoundError:
                # Renamed between locating and opening (a flag set elsewhere): look again.
                self._files.pop(uid, None)
        return None


class FileSlices:
    """A large message file, read in SLICE_BYTES pieces each time it is iterated. Once open,
    the file reads to its end even if it is renamed meanwhile."""

    def __init__(self, source: MaildirSource, uid: int, size: int) -> None:
        self.source, self.uid, self.size = source, uid, size

    def __repr__(self) -> str:
        return f"FileSlices(UID {self.uid}, {self.size} bytes)"

    def __iter__(self) -> Iterator[bytes]:
        handle = self.source.open_file(self.uid)
        if handle is None:
            raise MailSourceError(f"{self.source.key}: the file of UID {self.uid} went away before it was read")
        with handle:
            while piece := handle.read(SLICE_BYTES):
                yield piece


def make_maildir(path: str | os.PathLike, *, subfolder: bool = False) -> Path:
    """Create cur/, new/ and tmp/ (and a Maildir++ subfolder's marker) if missing."""
    root = Path(path)
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if subfolder:
        (root / "maildirfolder").touch(exist_ok=True)
    return root


def deliver(path: str | os.PathLike, raw: bytes) -> str:
    """Write `raw` into the Maildir at `path` as a delivery agent does; returns the file path.

    The message is complete on disk in tmp/ before it is renamed into new/, so a reader
    never sees half a message.
    """
    root = make_maildir(path)
    name = _unique_name()
    tmp = root / "tmp" / name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        final = root / "new" / name
        os.rename(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return str(final)


def _unique_name() -> str:
    """time.M<usec>P<pid>Q<counter>R<random>.host, the classic Maildir recipe."""
    now = time.time_ns()
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
    seconds, micros = divmod(now // 1000, 1_000_000)
    unique = f"M{micros}P{os.getpid()}Q{next(_delivery_counter)}R{secrets.token_hex(4)}"
    return f"{seconds}.{unique}.{host}"


def _split_info(name: str) -> tuple[str, str]:
    """('base', 'FLAGS') from 'base:2,FLAGS'; a file still in new/ has no info part."""
    base, _sep, flags = name.partition(INFO_SEPARATOR)
    return base, flags


def _subfolder_name(folder: str) -> str:
    """Maildir++ keeps subfolders as '.Name' beside cur/new/tmp; accept 'Name' or '.Name'."""
    name = folder.lstrip(".")
    if not name or "/" in name:
        raise ValueError(f"processed_folder must be a Maildir++ folder name, not {folder!r}")
    return f".{name}"


def _arrival_key(found: dict[str, Path]):
    """Order of arrival: delivery keeps the file's mtime; the name (time first) breaks ties."""

    def key(name: str) -> tuple[int, str]:
        try:
            return found[name].stat().st_mtime_ns, name
        except FileNotFoundError:
            return 0, name

    return key


def _rename_if_present(source: Path, target: Path) -> None:
    try:
        os.rename(source, target)
    except FileNotFoundError:
        # Someone else moved it first; the message is done either way.
        pass

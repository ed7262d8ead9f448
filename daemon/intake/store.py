"""Intake: store each mail's bytes, committed, before the server is told it was handled.

The stored row is unique on (mailbox, UIDVALIDITY, UID) and on the Message-ID (or a hash
of the bytes when a mail has none), so the same mail fetched twice, re-delivered after a
UIDVALIDITY change, or replayed from a file is one row. The checkpoint (highest UID seen
per mailbox and UIDVALIDITY) moves in the same transaction as the row it covers.

A large mail is stored slice by slice as its source reads it, never whole in memory: its
row's `raw` is a thinned copy for the parsers, `original_bytes` gives the mail itself
(daemon.intake.originals).

A mail the database refuses to store waits with its own backoff (`PoisonLedger`) while the
next ones are stored; after `[intake] max_attempts` it is kept set aside, bytes and reason,
and intake never stops on it.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daemon.db import insert_once, table_of
from daemon.intake import originals
from daemon.models import Checkpoint, InboundMessage, MessageStatus
from integrations.backoff import exponential
from integrations.mailsource import Slices
from parsers import blobs
from parsers.blobs import THIN_ABOVE, header_block


@dataclass(frozen=True)
class Stored:
    message_id: int
    is_new: bool


def message_key(raw: bytes) -> str:
    """The Message-ID as written, or the bytes' hash when there is none usable."""
    return written_message_id(raw) or "sha256:" + hashlib.sha256(raw).hexdigest()


def written_message_id(raw: bytes) -> str | None:
    """The Message-ID in the header block of `raw`, when there is one usable as a key."""
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(header_block(raw)).get("Message-ID")
    except Exception:  # a header block so broken the parser gives up: the caller hashes
        value = None
    value = " ".join(str(value).split()) if value else ""
    return value if value and 3 <= len(value) <= 900 else None


def checkpoint(session: Session, mailbox: str, uidvalidity: int) -> int:
    """The highest UID stored in `mailbox` under `uidvalidity`, 0 before the first.

    The checkpoints are read and written with plain statements, never as ORM objects: a
    row the session held would not see the statements' changes."""
    last = session.connection().execute(_CHECKPOINT, {"box": mailbox, "validity": uidvalidity}).scalar()
    return int(last) if last is not None else 0


def store(
    session: Session,
    *,
    mailbox: str,
    uidvalidity: int | None,
    uid: int | None,
    raw: bytes | Slices,
    now: datetime,
    arrived: datetime | None = None,
) -> Stored:
    """Store one mail (or find it stored already) and move the checkpoint past it.

    `received_at` is when the mailbox got the mail (`arrived`: IMAP INTERNALDATE, Maildir
    delivery time) when the source knows it, else now: a daemon stopped over a weekend
    must not move a customer's notice by the days it was down. Never later than now: a
    mail cannot arrive after it was read (a mailbox clock ahead of ours).

    A mail above `THIN_ABOVE` bytes, or given in `Slices`, is stored slice by slice
    (daemon.intake.originals): `raw` then holds a thinned copy, `original_bytes` the mail.
    """
    whole = raw if isinstance(raw, bytes) and len(raw) <= THIN_ABOVE else None
    # A whole mail's INSERT does nothing when it is stored already, so the look-up by UID is
    # needed only then; a sliced mail is looked up first rather than streamed in again.
    if uid is not None and whole is None and (existing := _known_uid(session, mailbox, uidvalidity, uid)):
        _advance_checkpoint(session, mailbox, uidvalidity, uid)
        return Stored(existing, False)
    values = _new_row(mailbox, uidvalidity, uid, min(arrived, now) if arrived else now, MessageStatus.RECEIVED)
    if whole is not None:
        stored = _store_whole(session, values, whole)
    else:
        slices = originals.sliced(raw) if isinstance(raw, bytes) else iter(raw)
        stored = _store_sliced(session, InboundMessage(**values), slices)
    if stored.is_new and uid is not None:
        _advance_checkpoint(session, mailbox, uidvalidity, uid)
    return stored


def _new_row(
    mailbox: str,
    uidvalidity: int | None,
    uid: int | None,
    received_at: datetime,
    status: MessageStatus,
    error: str = "",
) -> dict[str, Any]:
    """A stored mail's columns but its key and bytes: not processed yet, and a mail from a file
    (no UID) has nothing to mark on a server."""
    return {
        "mailbox": mailbox,
        "uidvalidity": uidvalidity,
        "uid": uid,
        "received_at": received_at,
        "status": status,
        "attempts": 0,
        "error": error,
        "marked_on_server": uid is None,
        "label": "",
        "label_reason": "",
    }


def _store_whole(session: Session, values: dict[str, Any], raw: bytes) -> Stored:
    """One INSERT that does nothing when the mail is there already (`db.insert_once`)."""
    key = message_key(raw)
    row = {**values, "message_key": key, "raw": raw}
    new_id = session.connection().execute(insert_once(session, InboundMessage), row).scalar()
    if new_id is not None:
        return Stored(new_id, True)
    mailbox, uidvalidity, uid = values["mailbox"], values["uidvalidity"], values["uid"]
    if uid is not None and (same := _known_uid(session, mailbox, uidvalidity, uid)):
        _advance_checkpoint(session, mailbox, uidvalidity, uid)  # this very UID, read again
        return Stored(same, False)
    # Known under another UID (a resend), or stored by another writer meanwhile: no row of
    # ours remembers that this UID still has to be moved, so the checkpoint passes it only
    # once it is (`passed`), or a crash in between would leave it in the folder for good.
    return Stored(_known(session, key), False)


def _store_sliced(session: Session, row: InboundMessage, slices: Iterator[bytes]) -> Stored:
    """The row first (its id keys the slices), then each slice as it comes, then its `raw`."""
    first = next(slices, b"")
    # The Message-ID from the first slice, when its header block ends there (it always
    # does in practice); else the hash of the whole, known only at the end.
    headers_whole = b"\n\n" in first or b"\r\n\r\n" in first
    key = written_message_id(first) if headers_whole else None
    if key is not None and (existing := _known(session, key)):
        return Stored(existing, False)  # a resend, as in _store_whole
    row.message_key, row.raw = key or f"pending:{uuid.uuid4()}", b""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            kept = originals.keep(session, row.id, itertools.chain([first], slices))
            row.raw = kept.raw
            if key is None:
                row.message_key = key = "sha256:" + kept.digest
                if existing := session.scalar(
                    select(InboundMessage.id).where(InboundMessage.message_key == key, InboundMessage.id != row.id)
                ):
                    raise _KnownAlready(existing)
            session.flush()
    except _KnownAlready as known:
        return Stored(known.message_id, False)
    except IntegrityError:  # another writer stored it meanwhile
        return Stored(
            _known(session, key) if key else _known_uid(session, row.mailbox, row.uidvalidity, row.uid), False
        )
    return Stored(row.id, True)


class _KnownAlready(Exception):
    """Rolls back a sliced mail found stored already once its hash was known."""

    def __init__(self, message_id: int) -> None:
        self.message_id = message_id


def _known(session: Session, key: str | None) -> int | None:
    return session.scalar(select(InboundMessage.id).where(InboundMessage.message_key == key))


def _known_uid(session: Session, mailbox: str, uidvalidity: int | None, uid: int | None) -> int | None:
    return session.scalar(
        select(InboundMessage.id).where(
            InboundMessage.mailbox == mailbox, InboundMessage.uidvalidity == uidvalidity, InboundMessage.uid == uid
        )
    )


def original_bytes(session: Session, inbound: InboundMessage) -> bytes:
    """`inbound` exactly as it arrived, also when its `raw` is a thinned copy."""
    raw = bytes(inbound.raw)
    # Only a thinned copy carries markers: any other mail needs no look at the slices.
    whole = originals.joined(session, inbound.id) if inbound.id is not None and blobs.marked(raw) else None
    return whole if whole is not None else raw


def passed(session: Session, mailbox: str, uidvalidity: int | None, uid: int) -> None:
    """Move the checkpoint past `uid` (a mail known already, now moved on the server)."""
    _advance_checkpoint(session, mailbox, uidvalidity, uid)


def unmarked_uids(session: Session, mailbox: str, uidvalidity: int) -> list[int]:
    """Stored, but the server was never told: a crash hit between commit and move."""
    return list(
        session.scalars(
            select(InboundMessage.uid)
            .where(
                InboundMessage.mailbox == mailbox,
                InboundMessage.uidvalidity == uidvalidity,
                InboundMessage.marked_on_server.is_(False),
            )
            .order_by(InboundMessage.uid)
        )
    )


def record_marked(session: Session, mailbox: str, uidvalidity: int, *uids: int) -> None:
    """The server was told of these mails (moved or flagged): a restart need not tell it again."""
    for start in range(0, len(uids), _UIDS_PER_STATEMENT):
        session.execute(
            _MARKED, {"box": mailbox, "validity": uidvalidity, "uids": uids[start : start + _UIDS_PER_STATEMENT]}
        )


# Built once: every sweep that stored mail tells of it.
_MARKED = (
    update(InboundMessage)
    .where(
        InboundMessage.mailbox == bindparam("box"),
        InboundMessage.uidvalidity == bindparam("validity"),
        InboundMessage.uid.in_(bindparam("uids", expanding=True)),
    )
    .values(marked_on_server=True)
    .execution_options(synchronize_session=False)
)
# Well under SQLite's limit on a statement's parameters.
_UIDS_PER_STATEMENT = 500


def hold_checkpoint(session: Session, mailbox: str, uidvalidity: int | None, uid: int) -> None:
    """Move the checkpoint back to `uid`: the mail above it was not stored and must be read again."""
    session.connection().execute(_CHECKPOINT_DOWN, {"box": mailbox, "validity": uidvalidity, "uid": uid})


def store_set_aside(
    session: Session, *, mailbox: str, uidvalidity: int | None, uid: int | None, raw: bytes, now: datetime, reason: str
) -> None:
    """Keep a mail that could not be stored as it is, set aside with the reason, by its bytes' hash."""
    key = "sha256:" + hashlib.sha256(raw).hexdigest()
    if _known(session, key):
        return
    if uid is not None:
        _advance_checkpoint(session, mailbox, uidvalidity, uid)
    row = _new_row(mailbox, uidvalidity, uid, now, MessageStatus.SET_ASIDE, error=reason[-8000:])
    session.add(InboundMessage(**row, message_key=key, raw=raw))


class PoisonLedger:
    """Mails the database refused to store, by UID, each with its own backoff."""

    def __init__(self, base: timedelta = timedelta(seconds=5), cap: timedelta = timedelta(minutes=10)) -> None:
        self.base, self.cap = base, cap
        self._failures: dict[int, tuple[int, datetime]] = {}  # uid -> (attempts, next try)

    def failed(self, uid: int, now: datetime) -> int:
        attempts = self._failures.get(uid, (0, now))[0] + 1
        wait = exponential(attempts, self.base.total_seconds(), self.cap.total_seconds())
        self._failures[uid] = (attempts, now + timedelta(seconds=wait))
        return attempts

    def due(self, uids: list[int], now: datetime) -> list[int]:
        return [uid for uid in uids if uid not in self._failures or self._failures[uid][1] <= now]

    def forget(self, uid: int) -> None:
        self._failures.pop(uid, None)

    def lowest(self) -> int | None:
        return min(self._failures, default=None)


def _advance_checkpoint(session: Session, mailbox: str, uidvalidity: int | None, uid: int) -> None:
    """Move the checkpoint up to `uid`, never back: one UPDATE, and a first row for a new mailbox."""
    if session.connection().execute(_CHECKPOINT_UP, {"box": mailbox, "validity": uidvalidity, "uid": uid}).rowcount:
        return
    row = {"mailbox": mailbox, "uidvalidity": uidvalidity, "last_uid": uid}
    # Nothing moved: a new mailbox (its row starts here), or the checkpoint is past `uid` already.
    session.connection().execute(insert_once(session, Checkpoint), row)


# Built once: every mail moves it, and building a statement costs about as much as running it.
_CHECKPOINTS = table_of(Checkpoint)
_THIS_MAILBOX = (_CHECKPOINTS.c.mailbox == bindparam("box")) & (_CHECKPOINTS.c.uidvalidity == bindparam("validity"))
_CHECKPOINT = select(_CHECKPOINTS.c.last_uid).where(_THIS_MAILBOX)
_CHECKPOINT_UP = (
    update(_CHECKPOINTS)
    .where(_THIS_MAILBOX, _CHECKPOINTS.c.last_uid < bindparam("uid"))
    .values(last_uid=bindparam("uid"))
)
_CHECKPOINT_DOWN = (
    update(_CHECKPOINTS)
    .where(_THIS_MAILBOX, _CHECKPOINTS.c.last_uid > bindparam("uid"))
    .values(last_uid=bindparam("uid"))
)

"""The transactional outbox: effects decided with a case change, carried out after commit.

A case change and the mail it causes are written in one transaction, so neither exists
without the other. Delivery runs afterwards and on its own: a failed delivery is retried
with growing delays and never rolls back the case. Each entry has a dedupe key, so asking
twice for the same effect (a re-run after a crash) enqueues it once.

At-least-once, made as close to exactly-once as mail allows: an entry is marked `sending`
before it goes out and `sent` right after, and the `sending` mark is a claim with a lease
(`SENDING_LEASE`), taken under `FOR UPDATE SKIP LOCKED`: any number of processes may
deliver from one database, and each entry goes out from one of them. A crash in between
leaves it `sending`; once the lease runs out it is sent again with the same Message-ID
(receivers' clients fold such copies), which is the one window where a duplicate is possible.

Each pass delivers the due entries kind by kind. A handler may offer `session()` (mail
does: one SMTP connection for the whole pass, left open a while for the next pass); each
entry still gets its own sending/sent/failed/retry bookkeeping, whatever happens to its
neighbours.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from daemon.db import insert_once, transaction
from daemon.mail.compose import SMTP_POLICY, header_text, to_bytes
from daemon.models import CaseEvent, OutboxEntry, OutboxStatus
from integrations.backoff import exponential
from integrations.smtp import PermanentSendError, RelaySetupError, TransientSendError

if TYPE_CHECKING:
    pass


log = logging.getLogger(__name__)

MAIL = "mail"
# How long a claimed entry is left to the process sending it: well above one SMTP
# conversation's timeout, short enough that a crash delays the mail only a little.
SENDING_LEASE = timedelta(minutes=3)
# Entries claimed in one transaction: a claim per entry would cost a commit per mail.
CLAIM_BATCH = 50


class TransientEffectError(Exception):
    """Worth retrying later (server away, quota)."""


class PermanentEffectError(Exception):
    """Will never work as it is (recipient refused); the entry is marked failed."""


class RetryUntilDelivered(TransientEffectError):
    """Not delivered and not final: a relay away or saying "later", a refused login, TLS.

    The entry keeps its place with the usual growing delays and its attempts never run
    out (mail is never dropped for the relay's or the configuration's sake); every retry
    is logged as an error, and `canceldesk outbox list` shows it waiting.
    """


Handler = Callable[[OutboxEntry], None]


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def enqueue(
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    payload: bytes,
    now: datetime,
    case_id: int | None = None,
    recipient: str = "",
    message_id: str = "",
    not_before: datetime | None = None,
    answers_recipient: bool = False,
) -> int | None:
    """Add an effect unless the same one (by dedupe key) is already there: the new entry's
    id, or None if it was there.

    One INSERT ... ON CONFLICT DO NOTHING on the transaction's connection, written at once:
    no check beforehand and no ORM object (a request queues a dozen, and the unit of work
    costs several times the statement). A savepoint rolled back takes its entries with it,
    as any row; the dry run reads them from the table (daemon.intake.preview).
    """
    row = {
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": payload,
        "case_id": case_id,
        "recipient": recipient,
        "message_id": message_id,
        "created_at": now,
        "not_before": not_before or now,
        "status": OutboxStatus.PENDING,
        "answers_recipient": answers_recipient,
        "attempts": 0,
        "last_error": "",
    }
    return session.connection().execute(insert_once(session, OutboxEntry, "dedupe_key"), row).scalar()


def enqueue_mail(
    session: Session,
    msg: EmailMessage,
    *,
    dedupe_key: str,
    now: datetime,
    case_id: int | None = None,
    not_before: datetime | None = None,
    answers_recipient: bool = False,
) -> int | None:
    recipient = header_text(msg, "To")
    return enqueue(
        session,
        kind=MAIL,
        dedupe_key=dedupe_key,
        payload=to_bytes(msg),
        now=now,
        case_id=case_id,
        recipient=recipient.lower(),
        message_id=header_text(msg, "Message-ID"),
        not_before=not_before,
        answers_recipient=answers_recipient,
    )


def automatic_mails_since(session: Session, recipient: str, since: datetime) -> int:
    """How many answers to their own mail went (or are going) to `recipient` since `since`: the loop guard."""
    # Entries are written as they are queued, by plain statements: the table holds them all,
    # and a plain statement reads it without the ORM's work (or a flush of what it holds).
    written = session.connection().scalar(_ANSWERS_SINCE, {"recipient": recipient.lower(), "since": since})
    return written or 0


# Built once: every answer counts, and building the statement costs about as much as running it.
_ANSWERS_SINCE = select(func.count(OutboxEntry.id)).where(
    OutboxEntry.kind == MAIL,
    OutboxEntry.recipient == bindparam("recipient"),
    OutboxEntry.created_at >= bindparam("since"),
    OutboxEntry.answers_recipient.is_(True),
)


def payload_message(entry: OutboxEntry) -> EmailMessage:
    msg = BytesParser(policy=SMTP_POLICY).parsebytes(entry.payload)
    assert isinstance(msg, EmailMessage), "SMTP_POLICY builds EmailMessage"
    return msg


class Dispatcher:
    """Carries out due outbox entries with the handler registered for their kind."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        clock,
        *,
        max_attempts: int,
        retry_after: timedelta,
        stop: threading.Event | None = None,
    ) -> None:
        self._factory = factory
        # Looked at between entries: a stop request does not wait for a long pass.
        self._stop = stop or threading.Event()
        self._clock = clock
        self._handlers: dict[str, Handler] = {}
        self._max_attempts = max_attempts
        self._retry_after = retry_after

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def deliver_due(self, limit: int = 500, *, answers_only: bool = False) -> DeliveryReport:
        """Carry out the due entries; `answers_only`: only answers to someone's own mail.

        Each round claims the next due entries (`_claim_due`) and carries them out kind by
        kind; a round that finds fewer than a batch has found all there were. An entry is
        tried once per pass: one put back in line during the pass waits for the next."""
        outcomes: Counter[str] = Counter()
        tried: list[int] = []
        while len(tried) < limit and not self._stop.is_set():
            claimed, lease = self._claim_due(min(CLAIM_BATCH, limit - len(tried)), answers_only, tried)
            tried += [entry.id for entry in claimed]
            for kind, entries in _by_kind(claimed).items():
                outcomes.update(self._deliver_kind(kind, entries, lease))
            if len(claimed) < CLAIM_BATCH:
                break
        self._tell_handlers("close_idle")
        return DeliveryReport(outcomes["sent"], outcomes["retry"], outcomes["failed"])

    def _deliver_kind(self, kind: str, entries: list[OutboxEntry], lease: datetime) -> Iterator[str]:
        """Entries of one kind, claimed under `lease`, carried out over one session of its handler."""
        handed: list[OutboxEntry] = []
        with session_or_itself(self._handlers[kind]) as handle:
            # A session that makes its work durable only when it ends (a file outbox's
            # one fsync of the folder) has its entries recorded as sent after that.
            later = handed if getattr(handle, "durable_at_exit", False) else None
            waiting = deque(entries)
            while waiting:
                if self._stop.is_set():
                    self._release(list(waiting), lease)
                    break
                if lease - self._clock.now() < SENDING_LEASE * 2 / 3:
                    # Each entry starts with most of a lease left, however long the ones before took.
                    held, lease = self._renew(list(waiting), lease)
                    waiting = deque(held)
                    continue
                yield self._deliver_claimed(waiting.popleft(), handle, later)
        if handed:
            yield from ["sent"] * self._finish_sent(handed)

    def close(self) -> None:
        """Let go of what handlers keep open between passes (a relay connection): at shutdown."""
        self._tell_handlers("close")

    def _tell_handlers(self, method: str) -> None:
        # Only some handlers keep anything between passes (mail over SMTP does).
        for handler in self._handlers.values():
            if (call := getattr(handler, method, None)) is not None:
                call()

    def _deliver_claimed(self, entry: OutboxEntry, handle: Handler, handed: list[OutboxEntry] | None) -> str:
        """Carry out and record one claimed entry; with `handed`, a success is only listed
        there, to be recorded as sent by `_finish_sent` once the session has ended."""
        try:
            handle(entry)
        except PermanentEffectError as exc:
            return self._fail(entry.id, str(exc))
        except RetryUntilDelivered as exc:
            return self._retry(entry.id, entry.attempts, str(exc), loud=True)
        except Exception as exc:  # any other failure is retried: a lost effect is worse than a late one
            log.warning("outbox #%s (%s %s): %s", entry.id, entry.kind, entry.message_id or entry.dedupe_key, exc)
            return self._retry_or_fail(entry.id, entry.attempts, f"{exc.__class__.__name__}: {exc}")
        if handed is not None:
            handed.append(entry)
            return "handed"
        self._finish_sent([entry])
        return "sent"

    def _finish_sent(self, entries: list[OutboxEntry]) -> int:
        """Record entries as sent (still under their leases) in one transaction of one statement."""
        now = self._clock.now()
        with transaction(self._factory) as session:
            session.execute(_SENT, {"ids": [e.id for e in entries], "now": now})
        for entry in entries:
            log.info("sent %s %s to %s", entry.kind, entry.message_id, entry.recipient)
        return len(entries)

    def _claim_due(self, batch: int, answers_only: bool, tried: list[int]) -> tuple[list[OutboxEntry], datetime]:
        """Mark up to `batch` due entries `sending` under one lease, in one transaction: those
        of the kinds with a handler that nobody else holds and not `tried`, oldest first, except that answers
        to someone's own mail go first (the customer who just wrote waits for the
        acknowledgment, while the team notices of the case before can take a moment).

        The lease is `not_before`: another process (or this one after a crash) takes a
        `sending` entry again only once the lease has run out, which is the one window
        where a mail can go out twice. Returns the claimed entries, in that order, and the
        lease's end.
        """
        now = self._clock.now()
        lease = now + SENDING_LEASE
        due = _DUE_ANSWERS if answers_only else _DUE
        with transaction(self._factory) as session:
            claimed = session.scalars(
                due, {"kinds": list(self._handlers), "now": now, "batch": batch, "tried": tried}
            ).all()
            for entry in claimed:
                entry.status = OutboxStatus.SENDING
                entry.attempts += 1
                entry.not_before = lease
        return list(claimed), lease

    def _renew(self, entries: list[OutboxEntry], lease: datetime) -> tuple[list[OutboxEntry], datetime]:
        """A fresh lease for entries still held under `lease`; those no longer held are dropped."""
        renewed = self._clock.now() + SENDING_LEASE
        ids = [e.id for e in entries]
        with transaction(self._factory) as session:
            session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id.in_(ids),
                    OutboxEntry.status == OutboxStatus.SENDING,
                    OutboxEntry.not_before == lease,
                )
                .values(not_before=renewed)
                .execution_options(synchronize_session=False)
            )
            held = set(
                session.scalars(
                    select(OutboxEntry.id).where(
                        OutboxEntry.id.in_(ids),
                        OutboxEntry.status == OutboxStatus.SENDING,
                        OutboxEntry.not_before == renewed,
                    )
                )
            )
        for entry in entries:
            entry.not_before = renewed
        return [e for e in entries if e.id in held], renewed

    def _release(self, entries: list[OutboxEntry], lease: datetime) -> None:
        """Entries claimed but not tried (the desk is stopping): due again, as if never claimed."""
        with transaction(self._factory) as session:
            session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id.in_([e.id for e in entries]),
                    OutboxEntry.status == OutboxStatus.SENDING,
                    OutboxEntry.not_before == lease,
                )
                .values(status=OutboxStatus.PENDING, attempts=OutboxEntry.attempts - 1, not_before=self._clock.now())
                .execution_options(synchronize_session=False)
            )

    def _retry_or_fail(self, entry_id: int, attempts: int, error: str) -> str:
        if attempts >= self._max_attempts:
            return self._fail(entry_id, f"gave up after {attempts} attempts: {error}")
        return self._retry(entry_id, attempts, error)

    def _retry(self, entry_id: int, attempts: int, error: str, *, loud: bool = False) -> str:
        # Doubling delays: a server that is down for an hour is not hammered.
        first = self._retry_after.total_seconds()
        when = self._clock.now() + timedelta(seconds=exponential(attempts, first, first * 2**6))
        with transaction(self._factory) as session:
            entry = session.get(OutboxEntry, entry_id)
            entry.status = OutboxStatus.PENDING
            entry.last_error = error
            entry.not_before = when
        if loud:
            log.error(
                "outbox #%s (%s to %s) NOT SENT, attempt %d: %s; kept, next try at %s",
                entry_id,
                entry.kind,
                entry.recipient or "-",
                attempts,
                error,
                when.isoformat(timespec="seconds"),
            )
        return "retry"

    def _fail(self, entry_id: int, error: str) -> str:
        """Failed for good: recorded on the entry, and on its case's timeline for the team to see."""
        with transaction(self._factory) as session:
            entry = session.get(OutboxEntry, entry_id)
            entry.status = OutboxStatus.FAILED
            entry.last_error = error
            entry.done_at = self._clock.now()
            if entry.case_id:
                session.add(
                    CaseEvent(
                        case_id=entry.case_id,
                        at=self._clock.now(),
                        kind="effect_failed",
                        summary=f"{entry.kind} to {entry.recipient or entry.dedupe_key} failed: {error}",
                    )
                )
        log.error("outbox #%s failed for good: %s", entry_id, error)
        return "failed"


# Built once: every sweep runs them, and building a statement costs about as much as running it.
_DUE = (
    select(OutboxEntry)
    .where(
        OutboxEntry.kind.in_(bindparam("kinds", expanding=True)),
        OutboxEntry.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        OutboxEntry.not_before <= bindparam("now"),
        OutboxEntry.id.not_in(bindparam("tried", expanding=True)),
    )
    .order_by(OutboxEntry.answers_recipient.desc(), OutboxEntry.id)
    .limit(bindparam("batch"))
    .with_for_update(skip_locked=True)
)
_DUE_ANSWERS = _DUE.where(OutboxEntry.answers_recipient.is_(True))
_SENT = (
    update(OutboxEntry)
    .where(OutboxEntry.id.in_(bindparam("ids", expanding=True)), OutboxEntry.status == OutboxStatus.SENDING)
    .values(status=OutboxStatus.SENT, last_error="", done_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def _by_kind(entries: list[OutboxEntry]) -> dict[str, list[OutboxEntry]]:
    """The entries grouped by kind, each group in the order given."""
    grouped: dict[str, list[OutboxEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.kind, []).append(entry)
    return grouped


class MailHandler:
    """Delivers mail entries through a sender; a refusal for good is not retried.

    Called directly, it sends one entry; `session()` yields a handler that sends over the
    sender's own session (one connection for the pass), or over the sender itself when
    it has none.
    """

    def __init__(self, sender) -> None:
        self._sender = sender

    def __call__(self, entry: OutboxEntry) -> None:
        _send_entry(self._sender, entry)

    @contextmanager
    def session(self) -> Iterator[Handler]:
        with session_or_itself(self._sender) as channel:

            def handle(entry: OutboxEntry) -> None:
                _send_entry(channel, entry)

            handle.durable_at_exit = getattr(channel, "durable_at_exit", False)  # type: ignore[attr-defined]
            yield handle

    def close_idle(self) -> None:
        if (close_idle := getattr(self._sender, "close_idle", None)) is not None:
            close_idle()

    def close(self) -> None:
        if (close := getattr(self._sender, "close", None)) is not None:
            close()


def _send_entry(channel, entry: OutboxEntry) -> None:
    # A channel that takes the bytes as they are (a file outbox) is spared parsing the
    # payload into a message only to write it out again.
    send_raw = getattr(channel, "send_raw", None)
    try:
        if send_raw is not None:
            send_raw(entry.payload, tried_before=tried_before(entry))
        else:
            channel.send(payload_message(entry))
    except PermanentSendError as exc:
        raise PermanentEffectError(str(exc)) from exc
    except RelaySetupError as exc:
        raise RetryUntilDelivered(f"{exc} (`canceldesk check` says what to fix)") from exc
    except TransientSendError as exc:
        raise RetryUntilDelivered(str(exc)) from exc


def tried_before(entry: OutboxEntry) -> bool:
    """Whether an earlier attempt may have carried out this claimed entry: it was claimed
    before (a pass cut off by a crash, a lease lost), or it has an error on record (a failed
    attempt, or an entry put back in line by hand while it was being sent).

    A claim counts an attempt and a release of an untried entry takes it back, so a first
    attempt is the entry's only one so far."""
    return entry.attempts > 1 or bool(entry.last_error)


def session_or_itself(target) -> AbstractContextManager:
    """The one place that decides batching: `target.session()` when it offers one.

    Anything without a session (a webhook handler, a bare sender) is used as it is, one
    call per entry, exactly as before sessions existed.
    """
    opener = getattr(target, "session", None)
    return opener() if opener is not None else nullcontext(target)

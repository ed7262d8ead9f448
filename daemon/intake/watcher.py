"""Watch: the mailbox connection's life, and one sweep of intake, processing and delivery.

The loop only connects, waits and reconnects; what a sweep does is in `sweep()`:
fetch the UIDs above the checkpoint, store each mail and commit; process the stored mail
(each customer answered as soon as their mail commits); only then mark the stored mails
on the server, so the server's round trip is not in the customer's wait; and deliver
the outbox. When the server goes
away, the watcher reconnects with exponential backoff and full jitter, so a restarted
server is not hammered by every client at once; a refused login waits minutes, since
only the operator can fix it. A stop request (the desk's `stopping`) is seen between
mails and within about a second of waiting.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from daemon.db import transaction
from daemon.intake import memory, pipeline, store
from integrations.backoff import full_jitter
from integrations.mailsource import AuthenticationFailed, MailSource, MailSourceError, Slices, whole
from parsers import language

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    stored: int = 0
    duplicates: int = 0
    processed: int = 0
    sent: int = 0


class Backoff:
    """The wait between reconnects: exponential, capped, with full jitter (integrations.backoff)."""

    def __init__(
        self, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None, floor: float = 0.0
    ) -> None:
        self.base, self.cap, self.floor, self.failures = base, cap, floor, 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        self.failures += 1
        return max(self.floor, full_jitter(self.failures + 1, self.base, self.cap, self._rng))

    def reset(self) -> None:
        self.failures = 0


def login_backoff() -> Backoff:
    """Between refused logins: one to thirty minutes, so a wrong password is not hammered
    (servers lock accounts, or ban the address, after a burst of failures)."""
    return Backoff(base=60.0, cap=1800.0, floor=60.0)


def warm_up(desk: Desk) -> None:
    """Load now what the first mails would each wait for: the language model (most of a
    second of CPU) and the compiled templates (a fifth of one)."""
    language.warm_up()
    desk.renderer.warm_up()


class Watcher:
    def __init__(
        self,
        desk: Desk,
        source: MailSource,
        *,
        stop: threading.Event | None = None,
        backoff: Backoff | None = None,
        wait_seconds: float | None = None,
        refused_backoff: Backoff | None = None,
    ) -> None:
        self.desk = desk
        self.source = source
        self.stop = stop or desk.stopping
        self.backoff = backoff or Backoff()
        self.refused_backoff = refused_backoff or login_backoff()
        # Even with IDLE, sweep at least this often: some servers miss pushes, and the
        # outbox has retries and timers that fall due without any new mail.
        self.wait_seconds = wait_seconds if wait_seconds is not None else desk.config.mailbox.poll_seconds
        self.uidvalidity: int | None = None
        self.poison = store.PoisonLedger()
        # UIDs committed in this sweep and not yet marked on the server.
        self.stored_unmarked: list[int] = []

    def run_forever(self) -> None:
        # Before the first connect, not in the first mail's way. Not in a thread beside the
        # watch: a thread busy for a second widens the moment between our NOOP and IDLE in
        # which a server like Dovecot misses a new mail until its 30-second check.
        warm_up(self.desk)
        with memory.start_up_objects_set_aside():
            while not self.stop.is_set():
                self._watch_once()
        self.source.close()

    def _watch_once(self) -> None:
        """One connection's life, and the wait after it ends."""
        try:
            self._session()
        except AuthenticationFailed as exc:
            self._pause(f"{exc}; {self._login_hint()}", self.refused_backoff, logging.ERROR)
        except (MailSourceError, OSError) as exc:
            self._pause(f"mailbox {self.source.key}: {exc}")
        except OperationalError as exc:
            self._pause(f"database unreachable: {exc.orig or exc}")
        except Exception:  # a bug must not end the watch: log it whole, back off, go on
            log.exception("unexpected error in the watch loop")
            self._pause("unexpected error (logged above)")

    def _pause(self, why: str, backoff: Backoff | None = None, level: int = logging.WARNING) -> None:
        self.source.close()
        delay = (backoff or self.backoff).next_delay()
        log.log(level, "%s; trying again in %.1f s", why, delay)
        self.stop.wait(delay)

    def _login_hint(self) -> str:
        box = self.desk.config.mailbox
        what = "password" if box.auth == "password" else "access token"
        where = (
            "the output of [mailbox] password_command"
            if box.password_command
            else f"${box.password_env} ([mailbox] password_env)"
        )
        return f"check the user name in [mailbox] url and the {what} in {where}"

    def run_once(self) -> SweepReport:
        self.connect()
        try:
            return self.sweep()
        finally:
            self.source.close()

    def connect(self) -> None:
        self.uidvalidity = self.source.connect()
        log.info("mailbox %s: connected (UIDVALIDITY %s)", self.source.key, self.uidvalidity)
        self._finish_interrupted_marks()

    def _session(self) -> None:
        self.connect()
        self.refused_backoff.reset()
        while not self.stop.is_set():
            self.sweep()
            # Only a whole sweep proves the trouble gone: a connect that works before a
            # sweep that fails must not turn the backoff into a retry every second.
            self.backoff.reset()
            # Returns at once when the server announced mail during the sweep: sweep again.
            self.source.wait(self.wait_seconds, self.stop)

    def sweep(self) -> SweepReport:
        stored, duplicates = self._intake()
        outcomes = pipeline.process_pending(self.desk, deliver_answers=self._deliver_answers)
        self._mark_stored_this_sweep()
        delivery = self.desk.dispatcher.deliver_due()
        if sheets := self.desk.sheets:  # batched sheet rows: daemon.sheets.sync
            sheets.tick()
        return SweepReport(stored, duplicates, len(outcomes), delivery.sent)

    def _deliver_answers(self) -> None:
        """With a few mails in hand, each sender's answer goes out as soon as it is committed,
        before the rest of what their mail causes (daemon.intake.pipeline)."""
        self.desk.dispatcher.deliver_due(answers_only=True)

    def _intake(self) -> tuple[int, int]:
        stored = duplicates = 0
        with transaction(self.desk.factory) as session:
            after = store.checkpoint(session, self.source.key, self.uidvalidity)
        uids = self.source.new_uids(after)
        for group in self._groups(uids):
            if self.stop.is_set():
                break  # still on the server, above the checkpoint: read at the next start
            mails = self.source.fetch(self.poison.due(group, self.desk.clock.now()))
            mails.reverse()
            while mails:
                # Each mail let go of once stored: with the group's list holding them all, every
                # large mail of a group would stay in memory until the group was done.
                mail = mails.pop()
                is_new = self._take(mail.uid, mail.raw, mail.arrived)
                del mail
                stored += bool(is_new)
                duplicates += is_new is False
        self._hold_checkpoint_below_failures()
        return stored, duplicates

    def _groups(self, uids: list[int]):
        """Fetch groups: bounded in bytes where the source knows sizes (IMAP), else in count."""
        box = self.desk.config.mailbox
        by_size = getattr(self.source, "batches", None)
        if by_size is not None:
            return by_size(uids, box.fetch_max_bytes, box.fetch_batch)
        return (uids[start : start + box.fetch_batch] for start in range(0, len(uids), box.fetch_batch))

    def _take(self, uid: int, raw: bytes | Slices, arrived=None) -> bool | None:
        """Store one mail; a mail that cannot be stored waits its own turn (None)."""
        try:
            return self._store(uid, raw, arrived)
        except (MailSourceError, OSError, OperationalError):
            raise  # the server or the database is away: the connection's backoff handles that
        except Exception as exc:  # this mail, not the connection: the next one goes on
            attempts = self.poison.failed(uid, self.desk.clock.now())
            if attempts < self.desk.config.intake.max_attempts:
                log.warning(
                    "mailbox %s: UID %s not stored (attempt %d), will retry: %s", self.source.key, uid, attempts, exc
                )
                return None
            return self._set_aside_unstorable(
                uid, whole(raw), f"not stored after {attempts} attempts: {type(exc).__name__}: {exc}"
            )

    def _set_aside_unstorable(self, uid: int, raw: bytes, reason: str) -> bool:
        log.error("mailbox %s: UID %s set aside: %s", self.source.key, uid, reason)
        with transaction(self.desk.factory) as session:
            store.store_set_aside(
                session,
                mailbox=self.source.key,
                uidvalidity=self.uidvalidity,
                uid=uid,
                raw=raw,
                now=self.desk.clock.now(),
                reason=reason,
            )
        self.poison.forget(uid)
        self._mark(uid)
        return True

    def _hold_checkpoint_below_failures(self) -> None:
        """A mail still waiting for its retry must be fetched again, even after a restart."""
        lowest = self.poison.lowest()
        if lowest is not None:
            with transaction(self.desk.factory) as session:
                store.hold_checkpoint(session, self.source.key, self.uidvalidity, lowest - 1)

    def _store(self, uid: int, raw: bytes | Slices, arrived=None) -> bool:
        """Commit the mail; a new one is marked on the server after processing (`_mark_stored_this_sweep`),
        a mail stored before is marked now."""
        with transaction(self.desk.factory) as session:
            result = store.store(
                session,
                mailbox=self.source.key,
                uidvalidity=self.uidvalidity,
                uid=uid,
                raw=raw,
                now=self.desk.clock.now(),
                arrived=arrived,
            )
        self.poison.forget(uid)
        if result.is_new:
            self.stored_unmarked.append(uid)
        else:
            self._mark(uid)  # committed above: only now may the server forget the mail
            with transaction(self.desk.factory) as session:
                store.passed(session, self.source.key, self.uidvalidity, uid)
        return result.is_new

    def _mark(self, *uids: int) -> None:
        """The server may forget these committed mails: each is marked there, then all that
        were are recorded in one transaction (a commit per mail would cost as much as
        storing it). One missed here is marked again at the next connect, from the database."""
        marked: list[int] = []
        try:
            for uid in uids:
                self.source.mark_done(uid)
                marked.append(uid)
        finally:
            if marked:
                with transaction(self.desk.factory) as session:
                    store.record_marked(session, self.source.key, self.uidvalidity, *marked)

    def _mark_stored_this_sweep(self) -> None:
        """The server may now forget the mails this sweep committed (a stop before this is
        finished at the next connect, from the database)."""
        uids, self.stored_unmarked = self.stored_unmarked, []
        self._mark(*uids)

    def _finish_interrupted_marks(self) -> None:
        self.stored_unmarked = []
        with transaction(self.desk.factory) as session:
            uids = store.unmarked_uids(session, self.source.key, self.uidvalidity)
        for uid in uids:
            log.info("mailbox %s: finishing the move of UID %s (stored before a stop)", self.source.key, uid)
        self._mark(*uids)

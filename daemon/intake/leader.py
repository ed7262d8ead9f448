"""Who watches the mailbox and runs the scheduler, when more than one process shares a database.

PostgreSQL: every daemon processes stored mail and delivers the outbox (both are claimed
row by row, `daemon.intake.claims`), but only the leader watches the mailbox and runs the
scheduler. The leader holds a session-level advisory lock on a connection of its own;
when its process dies, the server drops the connection and the lock with it (when its
machine vanishes, the session's TCP keepalive finds out), and a follower, asking every
`FOLLOW_SECONDS`, takes over within 30 seconds.

SQLite: one process only. `single_process` holds an exclusive lock on a file next to
the database, with the holder's pid in it, so a second daemon (or `run --once`) refuses
to start with one line that names the process in the way.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from daemon.intake import pipeline
from daemon.intake.claims import LEADER_KEY, advisory_key

if TYPE_CHECKING:
    from daemon.desk import Desk


log = logging.getLogger(__name__)

FOLLOW_SECONDS = 10.0
FOLLOW_BATCH = 20  # mails (and outbox entries) between two questions for the lock while busy
# Server side, for the leader's session: probe after 5 s of silence, every 5 s, give up after
# 3 unanswered (or 20 s of unacknowledged data). With FOLLOW_SECONDS: a takeover within 30 s.
KEEPALIVE = {
    "tcp_keepalives_idle": 5,
    "tcp_keepalives_interval": 5,
    "tcp_keepalives_count": 3,
    "tcp_user_timeout": 20000,
}


class AlreadyRunning(Exception):
    """Another process holds the SQLite database."""


def single_process(engine: Engine):
    """Hold the SQLite database for this process (an open file: closed with the process); None elsewhere."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    path = Path(engine.url.database + ".lock")
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(
            f"another canceldesk (pid {holder}) is using {engine.url.database}; stop it first "
            "(a SQLite database serves one process: use PostgreSQL to run more than one)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class Leadership:
    """The advisory lock that makes one process of many the leader (PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    @property
    def needed(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        if not self.needed:
            return True
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # A leader whose machine vanishes never closes its connection: the server's own
            # keepalive on this session notices within ~20 s and drops the lock with it.
            for name, value in KEEPALIVE.items():
                self._connection.execute(text(f"SET {name} = {value}"))
        got = self._connection.execute(text(f"SELECT pg_try_advisory_lock({advisory_key(LEADER_KEY)})")).scalar()
        return bool(got)

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # Closed for real, not handed back to the pool: the session lock goes with it.
            connection.invalidate()
            connection.close()


def serve(desk: Desk, lead) -> None:
    """Follow until this process is the leader, then `lead()` (the watcher and the scheduler)."""
    leadership = Leadership(desk.engine)
    try:
        while not desk.stopping.is_set():
            if leadership.try_acquire():
                if leadership.needed:
                    log.info("this process is the leader: it watches the mailbox and runs the timers")
                lead()
                return
            if not follow_once(desk):
                desk.stopping.wait(FOLLOW_SECONDS)
    finally:
        leadership.release()


def follow_once(desk: Desk) -> bool:
    """A follower's share: stored mail and due outbox entries, claimed one by one; whether there was any.

    A small batch at a time, so that a follower working through a backlog still asks for
    the lock every few seconds: the takeover bound holds however much is waiting.
    """
    processed = pipeline.process_pending(desk, limit=FOLLOW_BATCH)
    delivered = desk.dispatcher.deliver_due(limit=FOLLOW_BATCH)
    return bool(processed) or bool(delivered.sent or delivered.retried or delivered.failed)

"""Claims: how any number of processes share one PostgreSQL database without doubling work.

- Case work (processing a mail, firing a timer) takes one transaction-scoped advisory lock,
  so two machines never change cases at the same moment, just as `desk.case_work` keeps
  the threads of one process apart; each stored mail is then claimed (`FOR UPDATE SKIP
  LOCKED`) and its status re-checked before anything is done with it.
- The outbox claims each entry with a lease before sending (`daemon.mail.outbox`).
- The mailbox watcher and the scheduler run on one leader (`daemon.intake.leader`).

On SQLite there is one process (`daemon.intake.leader.SingleProcessLock`) and BEGIN IMMEDIATE
serialises writers, so these locks are only taken on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from daemon.models import InboundMessage, MessageStatus

# Advisory lock keys: any fixed numbers, the same in every process of the desk.
CASE_WORK_KEY = 0x63616E63  # "canc"
LEADER_KEY = 0x6C656164  # "lead"

# Still to process: new, failed (tried again), or answered with its follow-ups still to run.
WAITING = (MessageStatus.RECEIVED, MessageStatus.FAILED, MessageStatus.ANSWERED)


def advisory_key(key: int) -> str:
    """SQL for the two-part advisory lock key of `key` in this desk's schema.

    Advisory locks belong to the whole database: desks in different schemas of one
    server (and test runs) must not share a leader or wait on each other's case work.
    """
    return f"{int(key)}, hashtext(current_schema())"


def on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_case_work(session: Session) -> None:
    """Wait for any other process's case work to commit; released with this transaction."""
    if on_postgresql(session):
        session.execute(text(f"SELECT pg_advisory_xact_lock({advisory_key(CASE_WORK_KEY)})"))


def claim_waiting(session: Session, message_id: int) -> InboundMessage | None:
    """The stored mail, locked for this transaction, if it still waits; None if done or taken."""
    return session.scalars(_WAITING_MAIL, {"message_id": message_id}).first()


# Built once: each mail is claimed twice or more, and building costs about as much as running.
_WAITING_MAIL = (
    select(InboundMessage)
    .where(InboundMessage.id == bindparam("message_id"), InboundMessage.status.in_(WAITING))
    .with_for_update(skip_locked=True)
)

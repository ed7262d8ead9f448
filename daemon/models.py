"""The database schema: accounts, stored mail, cases and their timeline, and the outbox.

The database is the truth for everything canceldesk knows; sheets, mail and timers are
projections of it. Every change here comes with an Alembic migration in `alembic/versions`
(a test checks the migrations and these models agree).
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Constraint names spelled out so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class MessageStatus(str, enum.Enum):
    RECEIVED = "received"
    # Answered in one transaction; what its case's opening causes beyond the answer (the
    # team told, invitations, timers, sheet rows) is still to do: `InboundMessage.follow_ups`.
    ANSWERED = "answered"
    PROCESSED = "processed"
    FAILED = "failed"
    SET_ASIDE = "set_aside"


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class State(enum.StrEnum):
    """Where a case stands; daemon.cases.workflow says which trigger leads from which to which."""

    AWAITING_WRITTEN = "awaiting_written"  # a verbal request: waiting for it in writing
    AWAITING_IDENTITY = "awaiting_identity"  # written, but from an address not on file
    OPEN = "open"
    CALL_SCHEDULED = "call_scheduled"
    SAVE_ATTEMPTED = "save_attempted"
    SAVED = "saved"  # every service kept: nothing to process
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    OFFBOARDING = "offboarding"
    PAUSED = "paused"
    CHANGED = "changed"
    CLOSED = "closed"
    WON_BACK = "won_back"
    WITHDRAWN = "withdrawn"


class StepStatus(enum.StrEnum):
    """An approval step: waiting for the steps before it, asked, answered, or void (a new round began)."""

    WAITING = "waiting"
    ASKED = "asked"
    APPROVED = "approved"
    REJECTED = "rejected"
    VOID = "void"


class InviteStatus(enum.StrEnum):
    """The save call: proposed by the desk, scheduled by staff, then the customer's answer, or called off."""

    PROPOSED = "proposed"
    SCHEDULED = "scheduled"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class ItemStatus(enum.StrEnum):
    """An offboarding checklist item."""

    OPEN = "open"
    DONE = "done"


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings: readable in SQL, and adding a value needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The language the customer's mail is written in, when the agency knows better than the
    # request's own words (a code of parsers.language.LANGUAGES); None: as they write.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True, default=None)
    contract_start: Mapped[date | None] = mapped_column(Date)
    term_months: Mapped[int | None] = mapped_column(Integer)
    notice_days: Mapped[int] = mapped_column(Integer, default=30)
    account_manager: Mapped[str] = mapped_column(String(320), default="")
    team_lead: Mapped[str] = mapped_column(String(320), default="")
    links: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    contacts: Mapped[list[Contact]] = relationship(back_populates="account", cascade="all, delete-orphan")
    # In the order they were put on file: the order a team mail names them in, every time.
    team: Mapped[list[TeamMember]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="TeamMember.id"
    )
    billing_items: Mapped[list[BillingItem]] = relationship(back_populates="account", cascade="all, delete-orphan")


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    bouncing: Mapped[bool] = mapped_column(Boolean, default=False)
    account: Mapped[Account] = relationship(back_populates="contacts")


class TeamMember(Base):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("account_id", "service", "email", name="uq_team_members_assignment"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    account: Mapped[Account] = relationship(back_populates="team")


class BillingItem(Base):
    __tablename__ = "billing_items"
    __table_args__ = (UniqueConstraint("account_id", "item_key", name="uq_billing_items_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    item_key: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(64))
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    account: Mapped[Account] = relationship(back_populates="billing_items")


class Checkpoint(Base):
    """The highest UID stored, per mailbox and UIDVALIDITY (getmail6's ledger).

    UIDs and UIDVALIDITY are unsigned 32-bit numbers: BigInteger, as they overflow int4.
    """

    __tablename__ = "checkpoints"
    mailbox: Mapped[str] = mapped_column(String(300), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)


class InboundMessage(Base):
    """One mail as it arrived, stored before anything is done with it."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_inbound_messages_server_uid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(300))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    # Message-ID, or "sha256:<hash of the bytes>" when there is none.
    message_key: Mapped[str] = mapped_column(String(998), unique=True)
    # The mail as the parsers read it: above parsers.blobs.THIN_ABOVE, its long base64 runs
    # cut and marked, the exact bytes kept in `InboundOriginal` slices.
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus), default=MessageStatus.RECEIVED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    marked_on_server: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str] = mapped_column(String(64), default="")
    label_reason: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # The timeline ids of state changes whose handlers after the answer are still to run.
    follow_ups: Mapped[list | None] = mapped_column(JSON, nullable=True)


class InboundOriginal(Base):
    """A slice of a large mail's exact bytes, whose `InboundMessage.raw` is a thinned copy.

    Read whole only where the exact bytes matter (a DKIM signature covers every byte):
    daemon.intake.originals.
    """

    __tablename__ = "inbound_originals"
    message_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Empty only inside the transaction that opens the case, until its first transition.
    state: Mapped[State] = mapped_column(_enum(State), index=True, nullable=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    requester: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    requested_services: Mapped[list] = mapped_column(JSON, default=list)
    requested_final_day: Mapped[date | None] = mapped_column(Date)
    # What the request asks for (daemon.cases.opening): services in scope, kept, not on the account,
    # and whether the final day is the term's end.
    scope: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str | None] = mapped_column(String(16))  # the customer's, as their request reads
    asked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # a question that counts as the notice
    claimed_account: Mapped[str | None] = mapped_column(String(64))  # an unverified case's claim: the key
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # #reason: {category, text, by, at}
    offers: Mapped[list] = mapped_column(JSON, default=list)  # #offer: {name, details, outcome, by, at, ...}
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # #change: service -> {amount, was}
    credit: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    outcome: Mapped[str | None] = mapped_column(String(32))  # saved, lost, partially_saved, paused, changed
    approval_round: Mapped[int] = mapped_column(Integer, default=0)
    winback_stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # What is read in one place only: the contract review, who verified, follow-up links, evidence.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    account: Mapped[Account | None] = relationship()
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseEvent.id"
    )


class CaseEvent(Base):
    """The timeline: every message and every action on a case, in order."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(320), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    case: Mapped[Case] = relationship(back_populates="events")


class ReferenceCounter(Base):
    """The last case number handed out per year: references stay short and readable."""

    __tablename__ = "reference_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class OutboxEntry(Base):
    """An effect decided in a transaction and carried out after it (mail, sheet row, webhook)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Not indexed: a handful of kinds, one of them nearly every row. With an index on it,
    # SQLite (no statistics) reads every mail ever sent for the loop guard's count and for
    # each delivery pass, instead of the recipient's rows or the few entries waiting.
    kind: Mapped[str] = mapped_column(String(32))
    # Makes enqueueing idempotent: one acknowledgment per case, one notice per member ...
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(320), default="", index=True)
    message_id: Mapped[str] = mapped_column(String(998), default="", index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Caused by the recipient's own mail (an acknowledgment, a results mail): what the
    # per-recipient daily cap counts, the last guard against two robots answering each other.
    answers_recipient: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# -- the playbook in depth: the save call, decisions, approvals, offboarding ----------------


class CallInvite(Base):
    """The save call of a case: one iCalendar event, moved (same UID, higher SEQUENCE) or cancelled."""

    __tablename__ = "call_invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    minutes: Mapped[int] = mapped_column(Integer, default=30)
    status: Mapped[InviteStatus] = mapped_column(_enum(InviteStatus))
    replies: Mapped[dict] = mapped_column(JSON, default=dict)  # attendee address -> PARTSTAT


class ServiceDecision(Base):
    """What happens to one service of a case: keep, cancel (with its final day) or pause (until)."""

    __tablename__ = "service_decisions"
    __table_args__ = (UniqueConstraint("case_id", "service", name="uq_service_decisions_service"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    day: Mapped[date | None] = mapped_column(Date)  # final day of service, or the day a pause ends
    decided_by: Mapped[str] = mapped_column(String(320))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApprovalStep(Base):
    """One step of a case's approval chain, in one round (a rejected or amended case starts another)."""

    __tablename__ = "approval_steps"
    __table_args__ = (UniqueConstraint("case_id", "round", "position", name="uq_approval_steps_step"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(64))
    condition: Mapped[str] = mapped_column(String(32))
    status: Mapped[StepStatus] = mapped_column(_enum(StepStatus), default=StepStatus.WAITING)
    asked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str] = mapped_column(String(320), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")


class OffboardingItem(Base):
    """One item of a cancelled case's offboarding checklist, owned by a team, ticked with #done."""

    __tablename__ = "offboarding_items"
    __table_args__ = (UniqueConstraint("case_id", "position", name="uq_offboarding_items_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    owners: Mapped[list] = mapped_column(JSON, default=list)  # the addresses told, who may tick it
    status: Mapped[ItemStatus] = mapped_column(_enum(ItemStatus), default=ItemStatus.OPEN)
    done_by: Mapped[str] = mapped_column(String(320), default="")
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# -- timers: deadlines, reminders, closure, thank-you and win-back -------------------------


class TimerStatus(str, enum.Enum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class Timer(Base):
    """One thing that must happen to a case at a moment: the truth behind the scheduler's jobs.

    (case, kind, seq) is unique, so scheduling the same timer twice is a no-op; seq tells
    apart the repeats of a kind (each win-back letter, each retry of the closure).
    """

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("case_id", "kind", "seq", name="uq_timers_once"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    status: Mapped[TimerStatus] = mapped_column(_enum(TimerStatus), default=TimerStatus.PENDING, index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(Text, default="")

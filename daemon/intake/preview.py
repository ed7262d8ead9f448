"""What one mail would do (`canceldesk replay FILE --dry-run`), in words, with nothing kept.

The dry run acts exactly as the daemon would, in a transaction that is then rolled back.
A `Recorder` watches that session's flushes and, while the rows are still readable,
describes what the mail would cause: cases opened or moved, timeline entries, mail and
other effects queued, timers set, other rows added or changed. The result is plain
values, so it can be printed after the rollback has discarded every object it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from daemon.mail.outbox import MAIL
from daemon.mail.style import Style
from daemon.models import Case, CaseEvent, InboundMessage, OutboxEntry, ReferenceCounter, Timer
from daemon.timers import describe as describe_timer

# The dry run's own stored copy of the mail and the reference counter are bookkeeping, not news.
_UNSEEN = (InboundMessage, ReferenceCounter)
_SIMPLE = (str, int, bool, float, type(None))


@dataclass(frozen=True)
class Preview:
    label: str
    reason: str
    action: str
    case: str  # "CX-2026-0001 (open)", or "" when the mail touches no case
    notes: tuple[str, ...]
    would: tuple[str, ...]  # one line per thing that would happen
    read: tuple[str, ...] = ()  # how the text was read: per clause its rule, action and object

    def lines(self) -> list[str]:
        head = f"would be: {self.label} ({self.reason}); action {self.action}"
        lines = [head + (f"; case {self.case}" if self.case else "")]
        lines += [f"  read: {line}" for line in self.read]
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  would {line}" for line in self.would] or ["  would change nothing"]
        return lines + ["dry run: nothing was changed"]


class Recorder:
    """Collects the rows a session inserts and the attributes it changes, flush by flush.

    Outbox entries are written without the unit of work (daemon.mail.outbox), so they are
    read from the table: those above the highest id there was when the recorder started.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.added: list[object] = []
        self.changed: dict[object, dict[str, object]] = {}  # object -> attribute -> value before
        self.outbox_before = session.scalar(select(func.max(OutboxEntry.id))) or 0
        event.listen(session, "after_flush", self._after_flush)

    def _after_flush(self, session: Session, _context) -> None:
        # In after_flush the session still shows what this flush wrote: `new`, `dirty`, history.
        self.added += [obj for obj in session.new if not isinstance(obj, _UNSEEN)]
        for obj in session.dirty:
            if isinstance(obj, _UNSEEN) or obj in self.added:
                continue
            for attr in inspect(obj).attrs:
                if attr.history.deleted:
                    self.changed.setdefault(obj, {}).setdefault(attr.key, attr.history.deleted[0])

    def happenings(self, zone: str) -> tuple[str, ...]:
        queued = self.session.scalars(select(OutboxEntry).where(OutboxEntry.id > self.outbox_before)).all()
        added = sorted(
            [*self.added, *queued],
            key=lambda obj: (
                _ORDER.index(type(obj)) if type(obj) in _ORDER else 99,  # type: ignore[arg-type]
                getattr(obj, "id", 0) or 0,
            ),
        )
        # A sent mail's timeline entry repeats its outbox entry ("send mail to ..."): said once.
        lines = [
            _describe_added(obj, zone) for obj in added if not (isinstance(obj, CaseEvent) and obj.kind == "mail_out")
        ]
        lines += [_describe_change(obj, before) for obj, before in self.changed.items()]
        return tuple(lines)


_ORDER = [Case, CaseEvent, OutboxEntry, Timer]


def _describe_added(obj, zone: str) -> str:
    if isinstance(obj, Case):
        return f"open case {obj.reference} ({obj.kind}, {obj.state})"
    if isinstance(obj, CaseEvent):
        summary = " ".join((obj.summary or "").split())[:120]
        return f"add to the timeline of {_reference(obj)}: {obj.kind}" + (f": {summary}" if summary else "")
    if isinstance(obj, OutboxEntry):
        return _describe_effect(obj)
    if isinstance(obj, Timer):
        return f"set a timer for {_reference(obj)}: {describe_timer(obj, Style(zone=zone))}"
    return f"add a row to {obj.__tablename__}"


def _describe_effect(entry: OutboxEntry) -> str:
    if entry.kind != MAIL:
        return f"queue a {entry.kind} effect" + (f" for {entry.recipient}" if entry.recipient else "")
    headers = BytesHeaderParser(policy=default_policy).parsebytes(entry.payload)
    return f"send mail to {entry.recipient}: {headers.get('Subject', '')}"


def _describe_change(obj, before: dict[str, object]) -> str:
    label = obj.reference if isinstance(obj, Case) else f"{obj.__tablename__} #{getattr(obj, 'id', '?')}"
    parts = []
    for key, old in before.items():
        new = getattr(obj, key)
        simple = isinstance(old, _SIMPLE) and isinstance(new, _SIMPLE)
        parts.append(f"{key} {old!r} -> {new!r}" if simple else key)
    return f"change {label}: {', '.join(parts)}"


def _reference(row) -> str:
    """The reference of the case a timeline entry or timer belongs to (still in the session)."""
    case = inspect(row).session.get(Case, row.case_id) if row.case_id else None
    return case.reference if case else "no case"

"""Sheet effects: rows enqueued with each case change, written in batches, repaired by reconcile.

1. Enqueue (inside the case's own transaction): on every workflow event the case's rows
   are recomputed (`projection`) and each row that differs from the last one queued for
   its key goes into the outbox as a "sheet" entry. The entry's `recipient` is the row's
   target ("billing:ACME/B-1001"); its dedupe key is the target plus the case and the id
   of the entry it follows, so the same change queued twice is one entry.
2. Flush (the watcher's sweep, every `flush_interval_seconds`): ALL pending sheet entries,
   oldest first, grouped per sheet, go out as one `SheetWriter.upsert` per sheet: one read
   when the cached copy is stale, one batch write. Keyed by case and item, never appended,
   so a flush cut short after the write landed is repeated without a second row.
   While the backend is out of reach nothing is marked: the whole queue waits (the next
   try doubles its delay) and goes out later in order. The Dispatcher never sees these
   entries (no handler is registered for the kind): one entry at a time would cost one
   API call each.
3. Reconcile (on start, then every `reconcile_interval_minutes`, or `canceldesk sheets
   reconcile`): the whole projection rewritten over rows people deleted, moved or edited.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from daemon.db import transaction
from daemon.mail import outbox
from daemon.models import Case, CaseEvent, OutboxEntry, OutboxStatus
from daemon.schema import ConfigError
from daemon.sheets import layout, projection
from daemon.tables import progress
from integrations.backoff import exponential
from integrations.sheets.backend import SheetBackend, SheetsError
from integrations.sheets.upsert import SheetWriter, UpsertResult
from integrations.sheets.values import Cell, key_of, to_cell

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)

SHEET = "sheet"
_MARK_CHUNK = 500  # ids per UPDATE ... IN (...): well under every database's parameter limit


@dataclass
class FlushReport:
    entries: int = 0
    written: int = 0
    write_calls: int = 0
    error: str = ""
    by_sheet: dict[str, UpsertResult] = field(default_factory=dict)


class SheetSync:
    """The desk's sheets: enqueue, flush, reconcile, and the sweep's `tick`."""

    def __init__(
        self, desk: Desk, backend_factory: Callable[[], SheetBackend], *, monotonic: Callable[[], float] | None = None
    ) -> None:
        self.desk = desk
        self.config = desk.config.sheets
        self.checklist = layout.checklist_names(desk.config.offboarding.items)
        self.mappings = layout.mappings(self.config, self.checklist, currency=desk.config.report.currency)
        self._factory = backend_factory
        # The desk's clock also ages the cached sheets, so a test's ManualClock rules both.
        self._monotonic = monotonic or (lambda: desk.clock.now().timestamp())
        self._writer: SheetWriter | None = None
        self.next_flush: datetime | None = None
        self.next_reconcile: datetime | None = None
        self.failures = 0
        self.watermark: int | None = None

    # -- the backend ----------------------------------------------------------------

    @property
    def writer(self) -> SheetWriter:
        if self._writer is None:
            try:
                backend = self._factory()
            except (ConfigError, OSError, ValueError) as exc:
                raise SheetsError(f"cannot set up the sheets backend: {exc}") from exc
            self._writer = SheetWriter(backend, clock=self._monotonic)
        return self._writer

    @property
    def backend(self) -> SheetBackend:
        return self.writer.backend

    # -- enqueue --------------------------------------------------------------------

    def enqueue_case(self, session: Session, case: Case) -> int:
        """Queue every row of `case` that changed since last queued; returns how many."""
        rows = projection.case_rows(session, case, self.checklist)
        targets = {}
        for name in layout.WRITTEN:
            for row in rows[name]:
                cells = self.cells(name, row)
                targets[f"{name}:{'/'.join(key_of(self.mappings[name], cells))}"[:320]] = (name, cells)
        latest = self._latest(session, list(targets))
        now = self.desk.clock.now()
        return sum(
            self._enqueue_row(session, case, target, name, cells, latest.get(target), now)
            for target, (name, cells) in targets.items()
        )

    def cells(self, name: str, row: dict[str, Any]) -> dict[str, Cell]:
        """The mapped fields of a projected row as safe cell values (see integrations.sheets.values)."""
        return {f: to_cell(row.get(f)) for f in self.mappings[name].columns}

    def _latest(self, session: Session, targets: list[str]) -> dict[str, tuple[int, bytes]]:
        """The last entry queued for each target: (id, payload)."""
        if not targets:
            return {}
        # Only the newest entry's payload: a target's history grows with every change queued.
        newest = (
            select(func.max(OutboxEntry.id))
            .where(OutboxEntry.kind == SHEET, OutboxEntry.recipient.in_(targets))
            .group_by(OutboxEntry.recipient)
        )
        found = session.execute(
            select(OutboxEntry.recipient, OutboxEntry.id, OutboxEntry.payload).where(OutboxEntry.id.in_(newest))
        ).all()
        return {target: (entry_id, payload) for target, entry_id, payload in found}

    def _enqueue_row(
        self,
        session: Session,
        case: Case,
        target: str,
        name: str,
        cells: dict[str, Cell],
        latest: tuple[int, bytes] | None,
        now,
    ) -> bool:
        payload = json.dumps({"sheet": name, "row": cells}, sort_keys=True).encode()
        if latest is not None and latest[1] == payload:
            return False
        entry = outbox.enqueue(
            session,
            kind=SHEET,
            payload=payload,
            now=now,
            case_id=case.id,
            recipient=target,
            dedupe_key=f"sheet:{target}:case{case.id}:after{latest[0] if latest else 0}",
        )
        return entry is not None

    # -- flush ----------------------------------------------------------------------

    def flush(self) -> FlushReport:
        """Write every pending sheet entry, oldest first, one upsert per sheet."""
        with transaction(self.desk.factory) as session:
            pending = session.execute(
                select(OutboxEntry.id, OutboxEntry.payload)
                .where(OutboxEntry.kind == SHEET, OutboxEntry.status == OutboxStatus.PENDING)
                .order_by(OutboxEntry.id)
            ).all()
        report = FlushReport(entries=len(pending))
        batches: dict[str, list[tuple[int, dict]]] = {}
        for entry_id, payload in pending:
            body = json.loads(payload)
            batches.setdefault(body["sheet"], []).append((entry_id, body["row"]))
        for name in (n for n in layout.WRITTEN if n in batches):
            if not self._flush_sheet(name, batches[name], report):
                return report
        self.failures = 0
        self.next_flush = self.desk.clock.now() + timedelta(seconds=self.config.flush_interval_seconds)
        return report

    def _flush_sheet(self, name: str, batch: list[tuple[int, dict]], report: FlushReport) -> bool:
        try:
            columns = self.mappings[name].columns
            # Only the fields mapped now: the configuration may have changed since queuing.
            rows = [{f: v for f, v in row.items() if f in columns} for _, row in batch]
            result = self.writer.upsert(self.mappings[name], rows)
        except (SheetsError, OSError) as exc:
            report.error = f"{name}: {exc}"
            self._postpone(exc)
            return False
        self._mark_sent([entry_id for entry_id, _ in batch])
        report.by_sheet[name] = result
        report.written += result.added + result.updated
        report.write_calls += result.write_calls
        log.info(
            "sheet %s: %s queued rows, %s added, %s updated, %s unchanged, %s write call(s)",
            name,
            len(batch),
            result.added,
            result.updated,
            result.unchanged,
            result.write_calls,
        )
        return True

    def _mark_sent(self, ids: list[int]) -> None:
        now = self.desk.clock.now()
        with transaction(self.desk.factory) as session:
            for start in range(0, len(ids), _MARK_CHUNK):
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_(ids[start : start + _MARK_CHUNK]))
                    .values(status=OutboxStatus.SENT, done_at=now, last_error="")
                )

    def _postpone(self, exc: Exception) -> None:
        """Keep the whole queue pending (order matters more than speed) and wait longer each time."""
        self.failures += 1
        base = self.config.retry_after_seconds
        delay = exponential(self.failures, base, base * 10)
        delay = max(delay, getattr(exc, "retry_after", None) or 0)
        self.next_flush = self.desk.clock.now() + timedelta(seconds=delay)
        with transaction(self.desk.factory) as session:
            session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.kind == SHEET, OutboxEntry.status == OutboxStatus.PENDING)
                .values(attempts=OutboxEntry.attempts + 1, last_error=str(exc)[:2000])
            )
        log.warning(
            "sheets unreachable (%s); %s pending updates wait, next try in %.0f s", exc, self.pending_count(), delay
        )

    def pending_count(self) -> int:
        with transaction(self.desk.factory) as session:
            return (
                session.scalar(
                    select(func.count(OutboxEntry.id)).where(
                        OutboxEntry.kind == SHEET, OutboxEntry.status == OutboxStatus.PENDING
                    )
                )
                or 0
            )

    # -- reconcile ------------------------------------------------------------------

    def desired_rows(self) -> dict[str, list[dict[str, Cell]]]:
        """The whole projection: every row every sheet should hold."""
        desired: dict[str, list[dict[str, Cell]]] = {name: [] for name in layout.WRITTEN}
        with transaction(self.desk.factory) as session:
            for case_id in projection.approved_case_ids(session):
                rows = projection.case_rows(session, session.get(Case, case_id), self.checklist)
                for name in layout.WRITTEN:
                    desired[name] += [self.cells(name, row) for row in rows[name]]
        return desired

    def reconcile(self) -> dict[str, UpsertResult]:
        """Rewrite each sheet from the projection: restore, un-edit, follow moved rows, clear duplicates."""
        desired = self.desired_rows()
        sheets = progress(layout.WRITTEN, total=len(layout.WRITTEN), label="reconciling sheets")
        results = {name: self.writer.reconcile(self.mappings[name], desired[name]) for name in sheets}
        for name, r in results.items():
            if r.restored or r.edited or r.cleared or r.moved:
                log.warning(
                    "sheet %s repaired: %s restored, %s edited back, %s moved, %s duplicates cleared",
                    name,
                    r.restored,
                    r.edited,
                    r.moved,
                    r.cleared,
                )
        return results

    # -- the sweep ------------------------------------------------------------------

    def tick(self) -> None:
        """Called by every watcher sweep: catch up, flush when due, reconcile when due."""
        now = self.desk.clock.now()
        self.catch_up()
        if self.next_flush is None or now >= self.next_flush:
            self.flush()
        if self.next_reconcile is None or now >= self.next_reconcile:
            self._reconcile_quietly(now)

    def _reconcile_quietly(self, now) -> None:
        try:
            self.reconcile()
        except (SheetsError, OSError) as exc:
            log.warning("sheets reconcile failed (%s); trying again later", exc)
            self.next_reconcile = now + timedelta(seconds=self.config.retry_after_seconds)
            return
        self.next_reconcile = now + timedelta(minutes=self.config.reconcile_interval_minutes)

    def catch_up(self) -> int:
        """Queue the rows of cases changed without a workflow event (a checklist item ticked)."""
        with transaction(self.desk.factory) as session:
            newest = session.scalar(_NEWEST_LINE) or 0
            if self.watermark is None:
                self.watermark = newest  # what came before is the start-up reconcile's to repair
                return 0
            case_ids = session.scalars(_CHANGED_CASES, {"after": self.watermark, "upto": newest}).all()
            queued = sum(self.enqueue_case(session, session.get(Case, case_id)) for case_id in case_ids)
        self.watermark = newest
        return queued


# Built once: every sweep asks, and building a statement costs about as much as running it.
_NEWEST_LINE = select(func.max(CaseEvent.id))
_CHANGED_CASES = (
    select(CaseEvent.case_id)
    .distinct()
    .where(
        CaseEvent.id > bindparam("after"),
        CaseEvent.id <= bindparam("upto"),
        CaseEvent.kind.in_(projection.AFFECTING_EVENTS),
    )
)

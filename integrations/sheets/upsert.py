"""Keyed, batched upserts and the reconcile job: the database's rows projected onto a sheet.

``SheetWriter.upsert`` takes the rows for many cases at once and costs, per worksheet,
at most one read (skipped while the cached copy is fresh) and one write:

1. The worksheet is read whole; row 1 locates each field's column by header text and
   every other row is indexed by its key fields.
2. Rows whose key is found are rewritten in place (skipped if already identical); rows
   whose key is absent go to the next free row numbers, as a ranged update. Never an
   append: re-sending an update lands on the same cells.
3. Consecutive rows are merged into one range per run of adjacent mapped columns, and
   all ranges go out in one ``write_ranges`` call (split only past ``max_ranges``).

Idempotence: if a write fails for any reason (including a timeout after which the
write may in fact have landed) the cached copy is dropped, so the next upsert re-reads
the sheet, finds the rows that did land by their key, and updates them in place
instead of adding them twice.

The cache is trusted for ``max_age`` seconds. Within that time a row someone moves by
hand could be overwritten at its old position; ``reconcile`` (which always re-reads)
is the repair: it restores missing rows, rewrites edited ones, follows moved ones and
clears duplicate keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .a1 import range_a1
from .backend import RangeUpdate, SheetBackend, SheetsError, header_columns
from .mapping import SheetMapping
from .values import Cell, as_date, cell_text, key_of, row_cells

Key = tuple[str, ...]


@dataclass
class UpsertResult:
    """What one upsert or reconcile did, for the log line."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    restored: int = 0
    moved: int = 0
    edited: int = 0
    cleared: int = 0
    write_calls: int = 0


@dataclass
class _Sheet:
    """A worksheet as last read (plus our own successful writes)."""

    columns: dict[str, int]
    rows: list[list[str]]
    read_at: float
    index: dict[Key, list[int]] = field(default_factory=dict)

    def cell(self, row: int, column: int) -> str:
        values = self.rows[row - 1] if row <= len(self.rows) else []
        return values[column - 1] if column <= len(values) else ""

    def matches(self, row: int, cells: Mapping[str, Cell]) -> bool:
        return all(self.cell(row, col) == cell_text(cells[f]) for f, col in self.columns.items())

    def store(self, row: int, cells: Mapping[str, Cell]) -> None:
        while len(self.rows) < row:
            self.rows.append([])
        values = self.rows[row - 1]
        width = max(self.columns.values())
        values.extend([""] * (width - len(values)))
        for f, col in self.columns.items():
            values[col - 1] = cell_text(cells[f])


class SheetWriter:
    """Upserts and reconciles rows on any ``SheetBackend``."""

    def __init__(
        self,
        backend: SheetBackend,
        *,
        max_age: float = 60.0,
        max_ranges: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.max_age, self.max_ranges = max_age, max_ranges
        self._clock = clock
        self._sheets: dict[tuple[str, str], _Sheet] = {}
        self._headers_checked: set[tuple[str, str]] = set()

    def upsert(self, mapping: SheetMapping, rows: Iterable[Mapping[str, Any]]) -> UpsertResult:
        """Write ``rows`` keyed by ``mapping.key_fields``; never makes a second row."""
        desired = _desired(mapping, rows)
        result = UpsertResult()
        if not desired:
            return result
        sheet = self._sheet(mapping)
        plan: dict[int, Mapping[str, Cell]] = {}
        next_row = len(sheet.rows) + 1
        for key, cells in desired.items():
            found = sheet.index.get(key)
            if not found:
                plan[next_row], next_row = cells, next_row + 1
                result.added += 1
            elif sheet.matches(found[0], cells):
                result.unchanged += 1
            else:
                plan[found[0]] = cells
                result.updated += 1
        result.write_calls = self._send(mapping, sheet, plan)
        return result

    def reconcile(self, mapping: SheetMapping, desired_rows: Iterable[Mapping[str, Any]]) -> UpsertResult:
        """Re-read the sheet and make every desired row present once and exact."""
        desired = _desired(mapping, desired_rows)
        before = self._sheets.pop(mapping.location, None)
        sheet = self._sheet(mapping)
        result = UpsertResult()
        plan: dict[int, Mapping[str, Cell]] = {}
        next_row = len(sheet.rows) + 1
        blank = {f: "" for f in mapping.columns}
        for key, cells in desired.items():
            found = sheet.index.get(key, [])
            if not found:
                plan[next_row], next_row = cells, next_row + 1
                result.restored += 1
                continue
            keep = next((r for r in found if sheet.matches(r, cells)), found[0])
            for extra in (r for r in found if r != keep):
                plan[extra] = blank
                result.cleared += 1
            if before is not None and before.index.get(key, [keep])[0] != keep:
                result.moved += 1
            if sheet.matches(keep, cells):
                result.unchanged += 1
            else:
                plan[keep] = cells
                result.edited += 1
        result.write_calls = self._send(mapping, sheet, plan)
        return result

    def invalidate(self, mapping: SheetMapping | None = None) -> None:
        """Forget cached sheet contents (one mapping, or all): the next call re-reads."""
        if mapping is None:
            self._sheets.clear()
        else:
            self._sheets.pop(mapping.location, None)

    # -- internals ----------------------------------------------------------------

    def _sheet(self, mapping: SheetMapping) -> _Sheet:
        cached = self._sheets.get(mapping.location)
        if cached is not None and self._clock() - cached.read_at <= self.max_age:
            return cached
        if mapping.location not in self._headers_checked:
            self.backend.ensure_header(mapping)
            self._headers_checked.add(mapping.location)
        sheet = self._read(mapping)
        if sheet is None:
            # Someone removed or renamed headers since we checked: put them back once.
            self.backend.ensure_header(mapping)
            sheet = self._read(mapping)
        if sheet is None:
            raise SheetsError(f"sheet {mapping.name!r}: header row still incomplete")
        self._sheets[mapping.location] = sheet
        return sheet

    def _read(self, mapping: SheetMapping) -> _Sheet | None:
        rows = self.backend.read_values(mapping)
        columns = header_columns(mapping, rows[0] if rows else [])
        if columns is None:
            return None
        sheet = _Sheet(columns, [list(r) for r in rows], self._clock())
        for number in range(2, len(rows) + 1):
            _index(sheet, mapping, number)
        return sheet

    def _send(self, mapping: SheetMapping, sheet: _Sheet, plan: Mapping[int, Mapping[str, Cell]]) -> int:
        """Write the plan in as few calls as possible; on failure forget the cache."""
        updates = _ranges(sheet.columns, _typed(mapping, plan))
        calls = 0
        try:
            for start in range(0, len(updates), self.max_ranges):
                self.backend.write_ranges(mapping, updates[start : start + self.max_ranges])
                calls += 1
        except BaseException:
            self.invalidate(mapping)
            raise
        for number, cells in plan.items():
            _unindex(sheet, mapping, number)
            sheet.store(number, cells)
            _index(sheet, mapping, number)
        return calls


def _typed(mapping: SheetMapping, plan: Mapping[int, Mapping[str, Cell]]) -> dict[int, dict[str, Cell]]:
    """The plan with its date fields' text marked as dates again (queued rows travel as JSON),
    so each backend writes them as real dates."""
    dates = [f for f, kind in mapping.formats.items() if kind == "date"]
    return {number: {f: as_date(v) if f in dates else v for f, v in cells.items()} for number, cells in plan.items()}


def _desired(mapping: SheetMapping, rows: Iterable[Mapping[str, Any]]) -> dict[Key, dict[str, Cell]]:
    """Rows as cells by key, in the caller's order; a later row for a key wins."""
    desired: dict[Key, dict[str, Cell]] = {}
    for row in rows:
        cells = row_cells(mapping, row)
        key = key_of(mapping, cells)
        if not all(key):
            raise ValueError(f"sheet {mapping.name!r}: row without its key {mapping.key_fields}")
        desired.pop(key, None)
        desired[key] = cells
    return desired


def _row_key(sheet: _Sheet, mapping: SheetMapping, number: int) -> Key:
    return tuple(sheet.cell(number, sheet.columns[f]) for f in mapping.key_fields)


def _index(sheet: _Sheet, mapping: SheetMapping, number: int) -> None:
    key = _row_key(sheet, mapping, number)
    if any(key):
        rows = sheet.index.setdefault(key, [])
        rows.append(number)
        rows.sort()


def _unindex(sheet: _Sheet, mapping: SheetMapping, number: int) -> None:
    rows = sheet.index.get(_row_key(sheet, mapping, number))
    if rows and number in rows:
        rows.remove(number)


def _runs(numbers: Sequence[int]) -> list[tuple[int, int]]:
    """[2, 3, 4, 7, 9, 10] -> [(2, 4), (7, 7), (9, 10)]."""
    runs: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _ranges(columns: Mapping[str, int], plan: Mapping[int, Mapping[str, Cell]]) -> list[RangeUpdate]:
    """One range per block of consecutive rows and run of adjacent mapped columns.

    Columns nobody mapped (between our runs) are never part of a range, so a colleague's
    own column in the middle of our sheet is left alone.
    """
    by_column = {col: f for f, col in columns.items()}
    updates: list[RangeUpdate] = []
    for first_row, last_row in _runs(list(plan)):
        for first_col, last_col in _runs(list(by_column)):
            fields = [by_column[c] for c in range(first_col, last_col + 1)]
            values = [[plan[r][f] for f in fields] for r in range(first_row, last_row + 1)]
            updates.append((range_a1(first_row, first_col, last_row, last_col), values))
    return updates

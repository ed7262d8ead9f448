"""The interface every sheet backend offers, and the errors it raises.

Backends are deliberately dumb: read a whole worksheet, write a batch of A1 ranges in
one call, make sure the header row exists. Keys, diffs and batching live in
``upsert.SheetWriter`` so that Google and the embedded xlsx workbook behave the same.

A1 ranges passed to ``write_ranges`` are relative to the mapping's worksheet
("A2:G2", no sheet name); the backend adds the worksheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .a1 import column_letter
from .mapping import SheetMapping
from .values import Cell

RangeUpdate = tuple[str, Sequence[Sequence[Cell]]]


class SheetsError(Exception):
    """A sheet operation failed; the caller keeps its update queued and retries later."""


class SheetsUnavailable(SheetsError):
    """The sheet service stayed unreachable or overloaded through every retry.

    ``retry_after`` is the server's own hint (seconds) when it sent one, so an outbox
    can schedule the next attempt no sooner.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class ApiCalls:
    """Requests a backend made, for the bench and for quota-minded tests."""

    reads: int = 0
    writes: int = 0


class SheetBackend(Protocol):
    """What ``SheetWriter`` needs from a place that holds sheets."""

    api_calls: ApiCalls

    def read_values(self, mapping: SheetMapping) -> list[list[str]]:
        """Every row of the worksheet, header row first, cells as canonical text."""
        ...

    def write_ranges(self, mapping: SheetMapping, updates: Sequence[RangeUpdate]) -> None:
        """Write all ``(A1 range, rows)`` pairs RAW, in one request where possible."""
        ...

    def ensure_header(self, mapping: SheetMapping) -> None:
        """Create the worksheet if missing; add any mapped header absent from row 1."""
        ...


def missing_headers(mapping: SheetMapping, header_row: Sequence[str]) -> list[str]:
    """Mapped headers not present in the existing header row, in mapping order."""
    present = set(header_row)
    return [h for h in mapping.headers if h not in present]


def header_columns(mapping: SheetMapping, header_row: Sequence[str]) -> dict[str, int] | None:
    """Each field's 1-based column, found by header text (the leftmost column so headed);
    None while a mapped header is missing from the row."""
    positions = {text: i for i, text in reversed(list(enumerate(header_row, start=1)))}
    if any(h not in positions for h in mapping.headers):
        return None
    return {f: positions[h] for f, h in mapping.columns.items()}


def header_update(mapping: SheetMapping, header_row: Sequence[str]) -> RangeUpdate | None:
    """The range write that appends missing headers to row 1, or None if complete."""
    missing = missing_headers(mapping, header_row)
    if not missing:
        return None
    # Trailing blanks are free: put new headers after the last non-empty one.
    used = len(header_row)
    while used and not header_row[used - 1]:
        used -= 1
    first = column_letter(used + 1)
    last = column_letter(used + len(missing))
    return (f"{first}1:{last}1", [list(missing)])

"""Reading records (the customers' account list) from a sheet, with a report of bad rows.

People type into the customers sheet, so every row that cannot be used is reported
with its row number and why (missing account, duplicate account, missing required
field) instead of being dropped silently. Cells are kept as text: an account number
"00123" stays "00123" (gspread's ``get_all_records`` would make it 123).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .backend import SheetBackend, SheetsError, header_columns, missing_headers
from .mapping import SheetMapping


@dataclass(frozen=True)
class RowProblem:
    """A row that could not be read: its sheet row number and the reason."""

    row: int
    reason: str


@dataclass
class ReadReport:
    """Usable records by field name, and the rows that were not usable."""

    records: list[dict[str, str]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{len(self.records)} rows read, {len(self.problems)} could not be read"]
        lines += [f"  row {p.row}: {p.reason}" for p in self.problems]
        return "\n".join(lines)


def read_records(
    backend: SheetBackend,
    mapping: SheetMapping,
    required: Sequence[str] | None = None,
) -> ReadReport:
    """All rows of ``mapping``'s worksheet as dicts; ``required`` defaults to the key."""
    rows = backend.read_values(mapping)
    header = rows[0] if rows else []
    columns = header_columns(mapping, header)
    if columns is None:
        raise SheetsError(f"sheet {mapping.name!r}: no column headed {missing_headers(mapping, header)}")
    needed = tuple(required) if required is not None else mapping.key_fields
    report, seen = ReadReport(), dict[tuple[str, ...], int]()
    for number, values in enumerate(rows[1:], start=2):
        record = {f: _at(values, column - 1).strip() for f, column in columns.items()}
        if not any(record.values()):
            continue
        problem = _problem(mapping, record, needed, seen, number)
        if problem:
            report.problems.append(RowProblem(number, problem))
        else:
            report.records.append(record)
    return report


def _at(values: Sequence[str], index: int) -> str:
    return values[index] if index < len(values) else ""


def _problem(
    mapping: SheetMapping,
    record: dict[str, str],
    needed: Sequence[str],
    seen: dict[tuple[str, ...], int],
    number: int,
) -> str | None:
    empty = [mapping.columns[f] for f in needed if not record[f]]
    if empty:
        return f"empty {', '.join(empty)}"
    key = tuple(record[f] for f in mapping.key_fields)
    if key in seen:
        return f"duplicate {'/'.join(key)} (first in row {seen[key]})"
    seen[key] = number
    return None

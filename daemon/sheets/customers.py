"""Accounts from the customers sheet (`canceldesk accounts sync`), with every unreadable row reported.

The sheet has the columns of `canceldesk accounts import` (daemon.accounts_import), found
by their headers (`[sheets] customers_columns`). Rows the sheet layer cannot use (no
account id, a duplicate) and rows the importer refuses (a bad date, no contact) are both
reported by their row number in the sheet; the other rows are imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from daemon.accounts_import import import_rows
from daemon.db import transaction
from integrations.sheets.mapping import SheetMapping
from integrations.sheets.records import read_records

if TYPE_CHECKING:
    from daemon.desk import Desk


@dataclass
class SyncReport:
    imported: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (sheet row, why)

    def lines(self) -> list[str]:
        return [f"row {row}: {why}" for row, why in sorted(self.problems)]


class _ReadOnce:
    """The backend seen by read_records, keeping the rows it read so they are read once."""

    def __init__(self, backend) -> None:
        self.backend, self.api_calls = backend, backend.api_calls
        self.rows: list[list[str]] = []

    def read_values(self, mapping: SheetMapping) -> list[list[str]]:
        self.rows = self.backend.read_values(mapping)
        return self.rows


def sync_accounts(desk: Desk, backend, mapping: SheetMapping) -> SyncReport:
    """Import (or update) every readable account of the customers sheet."""
    reader = _ReadOnce(backend)
    read = read_records(reader, mapping)  # type: ignore[arg-type]  # reads only: read_values
    report = SyncReport(problems=[(p.row, p.reason) for p in read.problems])
    numbers = _row_numbers(reader.rows, mapping)
    with transaction(desk.factory) as session:
        for record in read.records:
            number = numbers[record["account_id"]]
            done = import_rows(session, [record], first_row=number)
            report.imported += done.imported
            report.problems += [(number, problem.split(": ", 1)[1]) for problem in done.problems]
    return report


def _row_numbers(rows: list[list[str]], mapping: SheetMapping) -> dict[str, int]:
    """Account id -> the sheet row it was first read from (later duplicates are reported, not imported)."""
    column = rows[0].index(mapping.columns["account_id"])
    numbers: dict[str, int] = {}
    for number, values in enumerate(rows[1:], start=2):
        key = values[column].strip() if column < len(values) else ""
        numbers.setdefault(key, number)
    return numbers

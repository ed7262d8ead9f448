"""The embedded default backend: one local .xlsx workbook (var/sheets.xlsx), openpyxl.

Each mapping's worksheet becomes a tab named after ``mapping.worksheet`` (the
spreadsheet key only exists for Google; two mappings naming the same tab in different
spreadsheets are refused rather than silently merged).

Every write rewrites the file safely: the workbook is saved to a temporary file in the
same directory, flushed and fsynced, then ``os.replace``d over the old one (atomic on
POSIX within one file system), and the directory is fsynced so the rename itself
survives a power cut. A daemon killed mid-write leaves the previous file intact.

Strings are stored as literal text: openpyxl turns any str starting with ``=`` into a
formula, so string cells get ``data_type = "s"`` explicitly, on top of the apostrophe
``values.neutralise`` already adds.

Every write also sets the look a billing person expects (see presentation.py): the
header row frozen, column widths, date cells shown yyyy-mm-dd and amounts with the currency.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from integrations.durable import fsync_folder

from .a1 import column_letter, range_start
from .backend import ApiCalls, RangeUpdate, SheetsError, header_update
from .mapping import SheetMapping
from .presentation import DATE_PATTERN, looks
from .values import DateText, cell_text

# Excel's rules for tab names: 31 characters, none of []:*?/\ .
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


def tab_title(mapping: SheetMapping) -> str:
    """The workbook tab holding a mapping's worksheet."""
    return _BAD_TITLE.sub("_", mapping.worksheet)[:31] or mapping.name[:31]


class XlsxSheets:
    """``SheetBackend`` over a local workbook file, created on first write."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.api_calls = ApiCalls()
        self._owners: dict[str, str] = {}

    def read_values(self, mapping: SheetMapping) -> list[list[str]]:
        self.api_calls.reads += 1
        return _values(self._load(), self._title(mapping))

    def write_ranges(self, mapping: SheetMapping, updates: Sequence[RangeUpdate]) -> None:
        if not updates:
            return
        self.api_calls.writes += 1
        book = self._load()
        sheet = self._sheet(book, mapping)
        for a1, rows in updates:
            _put(sheet, a1, rows)
        _present(sheet, mapping)
        self._save(book)

    def ensure_header(self, mapping: SheetMapping) -> None:
        # One load serves both the read of row 1 and the write.
        self.api_calls.reads += 1
        book = self._load()
        title = self._title(mapping)
        rows = _values(book, title)
        update = header_update(mapping, rows[0] if rows else [])
        if update is None and title in book.sheetnames:
            return
        sheet = self._sheet(book, mapping)
        if update is not None:
            _put(sheet, *update)
        _present(sheet, mapping)
        self.api_calls.writes += 1
        self._save(book)

    # -- internals ----------------------------------------------------------------

    def _title(self, mapping: SheetMapping) -> str:
        title = tab_title(mapping)
        owner = self._owners.setdefault(title, mapping.spreadsheet)
        if owner != mapping.spreadsheet:
            raise SheetsError(f"tab {title!r} is mapped from two spreadsheets")
        return title

    def _load(self) -> Workbook:
        if not self.path.exists():
            book = Workbook()
            # A new Workbook has one empty "Sheet": drop it once real tabs exist.
            book.remove(book.active)
            return book
        return load_workbook(self.path)

    def _sheet(self, book: Workbook, mapping: SheetMapping) -> Worksheet:
        title = self._title(mapping)
        return book[title] if title in book.sheetnames else book.create_sheet(title)

    def _save(self, book: Workbook) -> None:
        if not book.sheetnames:
            book.create_sheet("Sheet")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".sheets-", suffix=".xlsx", dir=self.path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                book.save(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            # Whatever went wrong, the old workbook is untouched: only tidy the temp file.
            Path(temp).unlink(missing_ok=True)
            raise
        fsync_folder(self.path.parent)


def _put(sheet: Worksheet, a1: str, rows: Sequence[Sequence[object]]) -> None:
    top, left = range_start(a1)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cell = sheet.cell(row=top + r, column=left + c)
            if value == "" or value is None:
                cell.value = None
                continue
            if isinstance(value, DateText):
                cell.value, cell.number_format = dt.date.fromisoformat(value), DATE_PATTERN
                continue
            cell.value = value
            if isinstance(value, str):
                # Literal text even if it starts with "=": never a formula.
                cell.data_type = "s"


def _present(sheet: Worksheet, mapping: SheetMapping) -> None:
    """Frozen header row, column widths, and the number format of every date and amount cell."""
    sheet.freeze_panes = "A2"
    header = [cell_text(c.value) for c in sheet[1]] if sheet.max_row else []
    for look in looks(mapping, header):
        sheet.column_dimensions[column_letter(look.column)].width = look.width
        if not look.pattern:
            continue
        for (cell,) in sheet.iter_rows(min_row=2, min_col=look.column, max_col=look.column):
            if cell.value is not None and not isinstance(cell.value, str):
                cell.number_format = look.pattern


def _values(book: Workbook, title: str) -> list[list[str]]:
    """Every row of tab `title` as canonical text, trimmed; [] when there is no such tab."""
    if title not in book.sheetnames:
        return []
    return _trimmed([[cell_text(v) for v in row] for row in book[title].iter_rows(values_only=True)])


def _trimmed(rows: list[list[str]]) -> list[list[str]]:
    """Drop trailing blank cells and rows, as Google's values API does."""
    out = []
    for row in rows:
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out

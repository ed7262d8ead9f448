"""Safe cell values: what the daemon's Python values become in a sheet cell.

Rules, the same for every backend:

* Everything is written RAW (Google ``valueInputOption=RAW``; openpyxl string cells),
  so nothing a customer wrote is ever parsed as a formula, date or number.
* Text starting with ``= + - @``, a tab or a carriage return additionally gets a
  leading apostrophe. RAW alone already keeps it literal *in Google Sheets*, but the
  same cells are downloaded as CSV/xlsx and opened in Excel or LibreOffice, which
  evaluate such text (CSV injection, OWASP); openpyxl would also store a str starting
  with ``=`` as a formula. The apostrophe is then visible in the sheet, by design: it
  is the one neutralisation that survives every export. It is idempotent (an already
  prefixed text starts with ``'`` and is left alone).
* Dates are ISO text ``YYYY-MM-DD`` for every comparison (datetimes ``YYYY-MM-DD
  HH:MM:SS``), so no locale reinterprets 03/04. In a column the mapping formats as a date
  the writer marks them ``DateText``, which each backend writes as a real date in a
  ``yyyy-mm-dd`` column (a serial number RAW in Google, a date cell in the workbook), so
  billing can sort, filter and count days.
* Amounts (int, float, Decimal) are numbers, so billing can sum them; booleans are
  booleans (checklist columns show TRUE/FALSE and can be turned into checkboxes).

``cell_text`` gives the canonical text of a cell value as read back from either
backend, so "is this row already what we want?" compares like with like.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .mapping import SheetMapping

Cell = str | int | float | bool

# OWASP's list of characters that make spreadsheet programs evaluate a cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class DateText(str):
    """A date as ISO text, which backends write as a real date (see presentation.py)."""

    @property
    def serial(self) -> int:
        """The spreadsheet serial number: days since 1899-12-30, as Sheets and Excel count."""
        return (dt.date.fromisoformat(self) - EPOCH).days


EPOCH = dt.date(1899, 12, 30)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def as_date(value: Cell) -> Cell:
    """`value` as DateText when it is an ISO date's text; anything else as it is."""
    return DateText(value) if isinstance(value, str) and _ISO_DATE.fullmatch(value) else value


def neutralise(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet program would evaluate."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def to_cell(value: Any) -> Cell:
    """One Python value as the RAW cell value to write (see the module rules)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()  # the writer marks it DateText where the mapping says "date"
    return neutralise(str(value))


def cell_text(value: Any) -> str:
    """Canonical text of a cell value, for comparing what is read with what is meant."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()  # a date cell read back from a workbook
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def row_cells(mapping: SheetMapping, row: Mapping[str, Any]) -> dict[str, Cell]:
    """The mapped fields of one row dict as cells; unknown fields are an error."""
    unknown = set(row) - set(mapping.columns)
    if unknown:
        raise ValueError(f"sheet {mapping.name!r}: unknown fields {sorted(unknown)}")
    return {f: to_cell(row.get(f)) for f in mapping.columns}


def key_of(mapping: SheetMapping, cells: Mapping[str, Any]) -> tuple[str, ...]:
    """The row key as canonical text, whether cells were just built or read back."""
    return tuple(cell_text(cells.get(f)) for f in mapping.key_fields)

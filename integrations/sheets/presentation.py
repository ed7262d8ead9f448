"""How a sheet looks to the billing person who reads it: formats, widths, a frozen header.

Both backends ask this module the same question, "how should each column of this sheet
look?", so Google Sheets and the local workbook present the same rows alike: dates as
real dates (`yyyy-mm-dd`), amounts as numbers with two decimals and the currency, the
header row frozen, and each column wide enough for what it usually holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .backend import header_columns
from .mapping import SheetMapping

DATE_PATTERN = "yyyy-mm-dd"
# Widths in characters of the fields whose text runs long; others fit their header.
WIDE = {"reason": 40, "status": 24, "client": 28, "owner": 26, "service": 14}
DATE_WIDTH, AMOUNT_WIDTH, MIN_WIDTH = 12, 16, 10


@dataclass(frozen=True)
class ColumnLook:
    column: int  # 1-based, where the header was found
    kind: str  # "date", "amount" or "text"
    width: int  # characters
    pattern: str = ""  # the number format, for dates and amounts


def amount_pattern(currency: str) -> str:
    return f'#,##0.00 "{currency}"' if currency else "#,##0.00"


def looks(mapping: SheetMapping, header_row: Sequence[str]) -> list[ColumnLook]:
    """Each mapped column's look, by where its header sits now; [] while a header is missing."""
    columns = header_columns(mapping, header_row)
    if columns is None:
        return []
    found = []
    for field, column in sorted(columns.items(), key=lambda item: item[1]):
        kind = mapping.formats.get(field, "text")
        width = {"date": DATE_WIDTH, "amount": AMOUNT_WIDTH}.get(kind) or WIDE.get(field, 0)
        width = max(width, len(mapping.columns[field]) + 2, MIN_WIDTH)
        pattern = DATE_PATTERN if kind == "date" else amount_pattern(mapping.currency) if kind == "amount" else ""
        found.append(ColumnLook(column, kind, width, pattern))
    return found

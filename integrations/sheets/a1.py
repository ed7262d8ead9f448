"""A1 notation helpers shared by the backends, the writer and the fake server."""

from __future__ import annotations

import re

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    if index < 1:
        raise ValueError(f"column index {index} < 1")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """A -> 1, AA -> 27."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - ord("A") + 1
    return index


def cell_ref(label: str) -> tuple[int | None, int | None]:
    """'B7' -> (7, 2); 'B' -> (None, 2); '7' -> (7, None): (row, column), 1-based."""
    match = _CELL.match(label.strip())
    if not match or not (match.group(1) or match.group(2)):
        raise ValueError(f"not an A1 cell: {label!r}")
    letters, digits = match.groups()
    return (int(digits) if digits else None, column_index(letters) if letters else None)


def range_a1(row: int, first_col: int, last_row: int, last_col: int) -> str:
    """(2, 1, 3, 7) -> 'A2:G3'."""
    return f"{column_letter(first_col)}{row}:{column_letter(last_col)}{last_row}"


def range_start(a1: str) -> tuple[int, int]:
    """Top-left (row, column) of a bounded range such as 'A2:G3' or 'C5'."""
    row, col = cell_ref(a1.split(":", 1)[0])
    if row is None or col is None:
        raise ValueError(f"range has no top-left cell: {a1!r}")
    return row, col

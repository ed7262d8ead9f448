"""Output for people and scripts: plain-text tables, JSON, and a progress bar for long work.

Every view command prints either a table (for a person at a terminal) or JSON (`--json`,
for scripts); both come from the same list of row dicts, so the two never disagree. The
progress bar draws only on a terminal: piped or under systemd, it stays silent.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


def cell(value: Any) -> str:
    """One value as a person reads it in a table."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value) or "-"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], *, width: int = 60) -> str:
    """Rows as aligned columns under their headings; (key, heading) pairs choose and order them.

    A cell longer than `width` is shortened with an ellipsis so one long subject does not
    push every other column off the screen.
    """
    texts = [[_clip(cell(row.get(key)), width) for key, _ in columns] for row in rows]
    headings = [heading for _, heading in columns]
    widths = [max([len(h)] + [len(t[i]) for t in texts]) for i, h in enumerate(headings)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headings, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(t.ljust(w) for t, w in zip(line, widths)).rstrip() for line in texts]
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def progress(items: Iterable[T], *, total: int, label: str, stream: TextIO | None = None) -> Iterator[T]:
    """Yield `items`, drawing `label [####    ] 3/8` on `stream` when it is a terminal."""
    stream = stream or sys.stderr
    shown = total > 1 and hasattr(stream, "isatty") and stream.isatty()
    done = 0
    for item in items:
        yield item
        done += 1
        if shown:
            filled = int(30 * done / total)
            stream.write(f"\r{label} [{'#' * filled}{' ' * (30 - filled)}] {done}/{total}")
            stream.flush()
    if shown:
        stream.write("\n")

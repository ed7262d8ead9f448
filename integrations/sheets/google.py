"""Google Sheets backend: gspread, unmodified, made bounded, polite and cheap.

* Spreadsheet and Worksheet objects are cached: ``open_by_key`` and ``worksheet()``
  each fetch the metadata again, which would double the read quota spent per flush.
* Writes go out as one ``values:batchUpdate`` with ``valueInputOption=RAW``. Never
  ``append``: a retried POST append after a lost response adds the rows twice, while a
  ranged update written twice leaves the same cells.
* Every request passes a sliding-window rate limiter (reads and writes counted apart,
  as Google does) and a bounded retry with jittered backoff; after the last attempt
  ``SheetsUnavailable`` reaches the caller, who keeps the update queued.
* Every write is safe to repeat after a lost answer (a timeout or 5xx after Google
  applied it): ranged value writes and absolute resizes land the same twice, and a
  worksheet create first re-reads the metadata and counts an existing worksheet of
  that title (or a 400 "already exists") as created.
* Once per worksheet (with the header check) one ``spreadsheets.batchUpdate`` sets its
  look (presentation.py): frozen header row, column widths, date and amount formats.
  Dates go out as serial numbers RAW and are read back with FORMATTED_STRING dates, so
  their column shows, and returns, yyyy-mm-dd.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import gspread
import requests
from gspread.exceptions import APIError, SpreadsheetNotFound, WorksheetNotFound
from gspread.utils import DateTimeOption, ValueRenderOption

from .a1 import cell_ref
from .backend import ApiCalls, RangeUpdate, SheetsError, header_update
from .mapping import SheetMapping
from .polite import Retrier, SlidingWindow
from .presentation import looks
from .values import DateText, cell_text

GOOGLE_API = "https://sheets.googleapis.com"
DEFAULT_TIMEOUT = (10.0, 30.0)
# Grow the grid in big steps: each resize is a write request of its own.
GROW_ROWS = 1000
NEW_SHEET_ROWS = 1000


class GoogleSheets:
    """``SheetBackend`` over a gspread client (see the module docstring)."""

    def __init__(
        self,
        client: gspread.Client,
        *,
        max_attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 32.0,
        writes_per_minute: int = 60,
        reads_per_minute: int = 60,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        if client.http_client.timeout is None:
            # gspread has no default timeout: a half-open connection would hang forever.
            client.set_timeout(DEFAULT_TIMEOUT)
        self.api_calls = ApiCalls()
        self._limits = {
            "read": SlidingWindow(reads_per_minute, clock=clock, sleep=sleep),
            "write": SlidingWindow(writes_per_minute, clock=clock, sleep=sleep),
        }
        self._retrier = Retrier(max_attempts, base_delay, max_delay, sleep=sleep, rng=rng)
        self._spreadsheets: dict[str, gspread.Spreadsheet] = {}
        self._worksheets: dict[tuple[str, str], gspread.Worksheet] = {}

    # -- SheetBackend -------------------------------------------------------------

    def read_values(self, mapping: SheetMapping) -> list[list[str]]:
        worksheet = self._worksheet(mapping)
        rows = self._call(
            "read",
            f"read {mapping.name}",
            # Dates come back as their yyyy-mm-dd text, amounts as plain numbers.
            lambda: worksheet.get_values(
                value_render_option=ValueRenderOption.unformatted,
                date_time_render_option=DateTimeOption.formatted_string,
                pad_values=False,
            ),
            mapping,
        )
        return [[cell_text(v) for v in row] for row in rows if row is not None]

    def write_ranges(self, mapping: SheetMapping, updates: Sequence[RangeUpdate]) -> None:
        if not updates:
            return
        worksheet = self._worksheet(mapping)
        self._ensure_grid(mapping, worksheet, *_extent(updates))

        def attempt() -> Any:
            # Built afresh per attempt: gspread rewrites each "range" in place to add
            # the sheet name, so reusing the list would prefix it twice on a retry.
            data = [{"range": a1, "values": [[_raw(v) for v in r] for r in rows]} for a1, rows in updates]
            return worksheet.batch_update(data, raw=True)

        self._call("write", f"write {mapping.name}", attempt, mapping)

    def ensure_header(self, mapping: SheetMapping) -> None:
        """Create the worksheet if missing, then add the headers row 1 lacks.

        Safe to repeat after a lost answer: row 1 is read afresh on every call, so a
        header write that landed is seen and not appended again, and a retried one is
        a ranged write of the same cells.
        """
        worksheet = self._worksheet(mapping, create=True)
        header = self._call(
            "read",
            f"read header {mapping.name}",
            lambda: worksheet.get_values("1:1", pad_values=False),
            mapping,
        )
        row: list[str] = [cell_text(v) for v in (header or [[]])[0]]
        update = header_update(mapping, row)
        if update is not None:
            self.write_ranges(mapping, [update])
            row = row + [str(v) for v in update[1][0]]  # the missing headers go right after the last one
        self._present(mapping, worksheet, row)

    def _present(self, mapping: SheetMapping, worksheet: gspread.Worksheet, header: list[str]) -> None:
        """Frozen header row, column widths, date and amount formats: one batchUpdate, safe to repeat."""
        sheet_id = worksheet.id
        requests_: list[dict[str, Any]] = [
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": 1}},
                    "fields": "gridProperties.frozenRowCount",
                }
            }
        ]
        for look in looks(mapping, header):
            span = {"sheetId": sheet_id, "startIndex": look.column - 1, "endIndex": look.column}
            requests_.append(
                {
                    "updateDimensionProperties": {
                        "range": {**span, "dimension": "COLUMNS"},
                        "properties": {"pixelSize": 7 * look.width + 10},
                        "fields": "pixelSize",
                    }
                }
            )
            if look.pattern:
                requests_.append(
                    {
                        "repeatCell": {
                            "range": {
                                "sheetId": sheet_id,
                                "startRowIndex": 1,
                                "startColumnIndex": look.column - 1,
                                "endColumnIndex": look.column,
                            },
                            "cell": {
                                "userEnteredFormat": {
                                    "numberFormat": {
                                        "type": "DATE" if look.kind == "date" else "NUMBER",
                                        "pattern": look.pattern,
                                    }
                                }
                            },
                            "fields": "userEnteredFormat.numberFormat",
                        }
                    }
                )
        spreadsheet = self._spreadsheet(mapping.spreadsheet)
        self._call(
            "write", f"format {mapping.name}", lambda: spreadsheet.batch_update({"requests": requests_}), mapping
        )

    def close(self) -> None:
        """Close the gspread client's HTTP session (its pooled sockets)."""
        self.client.http_client.session.close()

    # -- internals ----------------------------------------------------------------

    def _call(self, kind: str, what: str, fn: Callable[[], Any], mapping: SheetMapping | None) -> Any:
        def attempt() -> Any:
            self._spend(kind)
            return fn()

        try:
            return self._retrier.run(attempt, what)
        except SheetsError:
            # The cached grid size or worksheet may be what went wrong (someone deleted
            # rows or renamed the tab): fetch the metadata afresh next time.
            if mapping is not None:
                self._worksheets.pop(mapping.location, None)
            raise

    def _spend(self, kind: str) -> None:
        """Wait for the rate limiter, then count one request of ``kind``."""
        self._limits[kind].acquire()
        setattr(self.api_calls, kind + "s", getattr(self.api_calls, kind + "s") + 1)

    def _spreadsheet(self, key: str) -> gspread.Spreadsheet:
        if key not in self._spreadsheets:
            try:
                opened = self._call("read", f"open {key}", lambda: self.client.open_by_key(key), None)
            except (SpreadsheetNotFound, PermissionError) as error:
                raise SheetsError(f"spreadsheet {key!r} not found or not shared") from error
            self._spreadsheets[key] = opened
        return self._spreadsheets[key]

    def _worksheet(self, mapping: SheetMapping, create: bool = False) -> gspread.Worksheet:
        cached = self._worksheets.get(mapping.location)
        if cached is not None:
            return cached
        spreadsheet = self._spreadsheet(mapping.spreadsheet)
        try:
            found = self._call("read", f"find {mapping.name}", lambda: spreadsheet.worksheet(mapping.worksheet), None)
        except WorksheetNotFound as error:
            if not create:
                raise SheetsError(f"worksheet {mapping.worksheet!r} not found") from error
            found = self._add_worksheet(mapping, spreadsheet)
        self._worksheets[mapping.location] = found
        return found

    def _add_worksheet(self, mapping: SheetMapping, spreadsheet: gspread.Spreadsheet) -> gspread.Worksheet:
        """Create the worksheet, idempotently, under the bounded retry.

        A create whose answer was lost (timeout, 5xx) may have landed: asking again
        would get 400 "already exists". So every attempt after a failed one first
        re-reads the metadata and takes the worksheet if it is there, and a 400
        "already exists" (our lost create, or a colleague's) is resolved the same way.
        """
        title = mapping.worksheet
        cols = max(26, len(mapping.headers))
        failed_before = False

        def attempt() -> gspread.Worksheet:
            nonlocal failed_before
            if failed_before:
                landed = self._find_worksheet(mapping, spreadsheet)
                if landed is not None:
                    return landed
            failed_before = True  # until this attempt returns, it may have landed
            self._spend("write")
            try:
                return spreadsheet.add_worksheet(title, rows=NEW_SHEET_ROWS, cols=cols)
            except APIError as error:
                existing = self._find_worksheet(mapping, spreadsheet) if _already_exists(error) else None
                if existing is None:
                    raise
                return existing

        # If it still fails, the last attempt may have landed all the same: nothing is
        # cached for a missing worksheet, so the next call's lookup will find it.
        return self._retrier.run(attempt, f"add {title}")

    def _find_worksheet(self, mapping: SheetMapping, spreadsheet: gspread.Spreadsheet) -> gspread.Worksheet | None:
        """The worksheet by title from freshly read metadata, or None if absent.

        Called inside a retry attempt, so transient errors propagate to that retry.
        The cached worksheet is dropped first; gspread's ``worksheet()`` fetches the
        spreadsheet metadata anew on every call, so nothing stale is consulted.
        """
        self._worksheets.pop(mapping.location, None)
        self._spend("read")
        try:
            return spreadsheet.worksheet(mapping.worksheet)
        except WorksheetNotFound:
            return None

    def _ensure_grid(self, mapping: SheetMapping, worksheet: gspread.Worksheet, rows: int, cols: int) -> None:
        """Google refuses values outside the grid: resize first.

        Safe to repeat after a lost answer: the request sets an absolute size, and a
        failure drops the cached worksheet (``_call``) so the next write re-reads it.
        """
        new_rows = rows + GROW_ROWS if rows > worksheet.row_count else None
        new_cols = cols if cols > worksheet.col_count else None
        if new_rows is None and new_cols is None:
            return
        self._call(
            "write",
            f"resize {mapping.name}",
            lambda: worksheet.resize(rows=new_rows, cols=new_cols),
            mapping,
        )


def _raw(value: Any) -> Any:
    """A cell as sent RAW: a date as its serial number, shown as a date by its column's format."""
    return value.serial if isinstance(value, DateText) else value


def _already_exists(error: APIError) -> bool:
    """Google's answer to addSheet for a title in use (400 INVALID_ARGUMENT)."""
    return error.response.status_code == 400 and "already exists" in str(error.error.get("message", ""))


def _extent(updates: Sequence[RangeUpdate]) -> tuple[int, int]:
    """The last row and column any of the range updates reaches."""
    last_row = last_col = 0
    for a1, rows in updates:
        row, col = cell_ref(a1.split(":")[0])
        width = max((len(r) for r in rows), default=0)
        last_row = max(last_row, (row or 1) + len(rows) - 1)
        last_col = max(last_col, (col or 1) + width - 1)
    return last_row, last_col


class _RebasedSession(requests.Session):
    """A requests Session that sends Google's Sheets URLs to another base URL.

    gspread imports its URL constants into ``http_client`` by name, so patching
    ``gspread.urls`` changes nothing; rewriting at the session is the one seam.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if url.startswith(GOOGLE_API):
            url = self.base_url + url[len(GOOGLE_API) :]
        return super().request(method, url, *args, **kwargs)


def client_for_base_url(base_url: str, timeout: tuple[float, float] = (5.0, 30.0)) -> gspread.Client:
    """An unauthenticated gspread client talking to a Sheets-compatible server at base_url."""
    client = gspread.Client(auth=None, session=_RebasedSession(base_url))
    client.set_timeout(timeout)
    return client


def client_from_service_account(path_or_json: str, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> gspread.Client:
    """A gspread client from a service-account key file, or the key's JSON text itself.

    The JSON form is for keys passed through the environment (never the config file).
    """
    text = path_or_json.strip()
    if text.startswith("{"):
        client = gspread.service_account_from_dict(json.loads(text))
    else:
        client = gspread.service_account(filename=path_or_json)
    client.set_timeout(timeout)
    return client

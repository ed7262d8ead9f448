"""A local, in-memory Google Sheets v4 server speaking what gspread 6.2 sends.

Tests point an unmodified gspread client at it (``client_for_base_url``). It keeps
spreadsheets in memory, records every request (method, path, kind, time) so tests can
count API calls, and injects faults: error statuses (429 with Retry-After, 5xx), slow
answers past the client's read timeout, writes that are applied but answered with an
error, and a whole outage. Values written USER_ENTERED that start with '=' are stored
as ``Formula`` cells so a test can prove we never send customer text that way.

Like Google, it refuses value writes outside a worksheet's grid (rowCount x
columnCount): the client must resize first. The API methods themselves are in
fake_sheets_api.py; this module is the HTTP side and the test controls.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from integrations.sheets.a1 import column_letter
from tests.servers.fake_sheets_api import ApiFailure, Formula, Worksheet, dispatch

_ROUTES = [
    ("GET", re.compile(r"^/v4/spreadsheets/([^/:]+)$"), "metadata"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+):batchUpdate$"), "sheet_batch"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values:batchUpdate$"), "batch_update"),
    ("GET", re.compile(r"^/v4/spreadsheets/([^/:]+)/values:batchGet$"), "batch_get"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values:batchGet$"), "batch_get"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values:batchClear$"), "batch_clear"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values/(.+):append$"), "append"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values/(.+):clear$"), "clear"),
    ("GET", re.compile(r"^/v4/spreadsheets/([^/:]+)/values/(.+)$"), "get"),
    ("PUT", re.compile(r"^/v4/spreadsheets/([^/:]+)/values/(.+)$"), "update"),
]
_READS = {"metadata", "batch_get", "get"}


@dataclass
class Fault:
    kind: str  # "status", "slow" or "apply_then_fail"
    status: int = 503
    seconds: float = 0.0
    retry_after: float | None = None
    only: str | None = None  # "read", "write" or None for any request


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    kind: str  # "read" or "write", as Google's quota counts it
    at: float  # FakeSheetsServer.clock(): tests may install their fake clock
    query: dict
    body: Any


class FakeSheetsServer:
    """The server plus the test-facing controls; use as a context manager."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.books: dict[str, dict[str, Any]] = {}
        self.requests: list[Request] = []
        self.faults: deque[Fault] = deque()
        self.down = False
        self.clock = time.monotonic
        self._flaky: tuple[float, int, random.Random] | None = None
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> str:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._http.daemon_threads = False  # server_close() joins handlers: no stray sockets
        self._http.fake = self  # type: ignore[attr-defined]
        # A short poll interval: shutdown() waits up to one interval.
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._thread.join()  # type: ignore[union-attr]
            self._http = None

    def __enter__(self) -> FakeSheetsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._http.server_address[:2]  # type: ignore[union-attr]
        return f"http://{host}:{port}"

    # -- test controls --------------------------------------------------------------

    def create_spreadsheet(self, key: str, *titles: str, rows: int = 1000, cols: int = 26) -> None:
        with self.lock:
            self.books[key] = {"title": key, "sheets": [], "next_id": 0}
            for title in titles or ("Sheet1",):
                self.add_worksheet(key, title, rows, cols)

    def add_worksheet(self, key: str, title: str, rows: int = 1000, cols: int = 26) -> Worksheet:
        with self.lock:
            book = self.books[key]
            if any(s.title == title for s in book["sheets"]):
                raise ApiFailure(400, f'A sheet with the name "{title}" already exists.')
            sheet = Worksheet(book["next_id"], title, len(book["sheets"]), rows, cols)
            book["next_id"] += 1
            book["sheets"].append(sheet)
            return sheet

    def sheet(self, key: str, title: str) -> Worksheet:
        for sheet in self.books[key]["sheets"]:
            if sheet.title == title:
                return sheet
        raise ApiFailure(400, f"Unable to parse range: {title}")

    def values(self, key: str, title: str) -> list[list[Any]]:
        """What a person would see: every non-empty row, formulas as ``Formula``, a date
        column's serial numbers as their yyyy-mm-dd text (``raw_values`` has what is stored)."""
        with self.lock:
            sheet = self.sheet(key, title)
            return [[sheet.rendered(r, c, v, "UNFORMATTED_VALUE", "FORMATTED_STRING") for c, v in enumerate(row, 1)]
                    for r, row in enumerate(sheet.read(1, 1, *sheet.extent()), 1)]

    def raw_values(self, key: str, title: str) -> list[list[Any]]:
        with self.lock:
            sheet = self.sheet(key, title)
            return sheet.read(1, 1, *sheet.extent())

    def set_row(self, key: str, title: str, row: int, values: list[Any]) -> None:
        """A person typing over a row (cells beyond ``values`` are emptied)."""
        with self.lock:
            sheet = self.sheet(key, title)
            for col in range(1, max(sheet.extent()[1], len(values)) + 1):
                sheet.cells.pop((row, col), None)
            sheet.write(row, 1, [values], "RAW")

    def delete_row(self, key: str, title: str, row: int) -> None:
        """A person deleting a row: the rows below move up."""
        with self.lock:
            sheet = self.sheet(key, title)
            sheet.cells = {(r - (r > row), c): v for (r, c), v in sheet.cells.items() if r != row}

    def formulas(self) -> list[tuple[str, str, str, str]]:
        """Every formula cell anywhere: (key, title, A1 cell, text)."""
        with self.lock:
            return [(k, s.title, f"{column_letter(c)}{r}", v)
                    for k, b in self.books.items() for s in b["sheets"]
                    for (r, c), v in s.cells.items() if isinstance(v, Formula)]

    def fail_next(self, n: int, status: int = 429, retry_after: float | None = None, only: str | None = None) -> None:
        self._add(n, Fault("status", status, retry_after=retry_after, only=only))

    def slow_next(self, n: int, seconds: float, only: str | None = None) -> None:
        """Answer late (after applying): the client times out though the write landed."""
        self._add(n, Fault("slow", seconds=seconds, only=only))

    def apply_then_fail_next(self, n: int, status: int = 500, only: str | None = "write") -> None:
        """Apply the next ``n`` requests, then answer ``status``: the write landed.

        Covers every write route, ``:batchUpdate`` (addSheet, resize) included.
        """
        self._add(n, Fault("apply_then_fail", status, only=only))

    def flaky(self, ratio: float, status: int = 429, seed: int = 0) -> None:
        """From now on answer a random ``ratio`` of requests with ``status`` (0 stops)."""
        with self.lock:
            self._flaky = (ratio, status, random.Random(seed)) if ratio > 0 else None

    def outage(self, down: bool) -> None:
        with self.lock:
            self.down = down

    def count(self, kind: str | None = None) -> int:
        with self.lock:
            return sum(1 for r in self.requests if kind is None or r.kind == kind)

    def _add(self, n: int, fault: Fault) -> None:
        with self.lock:
            self.faults.extend([fault] * n)

    def take_fault(self, kind: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.only in (None, kind):
                    self.faults.remove(fault)
                    return fault
            if self._flaky and self._flaky[2].random() < self._flaky[0]:
                return Fault("status", self._flaky[1])
            return None


class _Handler(BaseHTTPRequestHandler):
    # One request per connection: no idle keep-alive connection can hold a handler
    # thread (and server_close(), which joins them) after a client went away.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``FakeSheetsServer.requests`` instead of stderr."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake: FakeSheetsServer = self.server.fake  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        route = next(((n, m.groups()) for meth, rx, n in _ROUTES
                      if meth == self.command and (m := rx.match(url.path))), None)
        kind = "read" if route and route[0] in _READS else "write"
        params = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(url.query).items()}
        with fake.lock:
            fake.requests.append(
                Request(self.command, unquote(url.path), kind, fake.clock(), params, body))
        fault = fake.take_fault(kind)
        try:
            if fake.down:
                raise ApiFailure(503, "The service is currently unavailable.", "UNAVAILABLE")
            if fault and fault.kind == "status":
                raise ApiFailure(fault.status, "injected", _status_name(fault.status))
            if route is None:
                raise ApiFailure(404, f"no route for {self.command} {url.path}", "NOT_FOUND")
            with fake.lock:
                answer = dispatch(fake, route[0], [unquote(g) for g in route[1]], params, body)
            if fault and fault.kind == "slow":
                time.sleep(fault.seconds)
            if fault and fault.kind == "apply_then_fail":
                raise ApiFailure(fault.status, "injected after applying", _status_name(fault.status))
            self._send(200, answer)
        except ApiFailure as failure:
            error = {"code": failure.code, "message": failure.message, "status": failure.status}
            retry = fault.retry_after if fault else None
            self._send(failure.code, {"error": error}, retry)

    def _send(self, code: int, payload: Any, retry_after: float | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its read timeout) before we answered: expected in
            # the slow-answer tests, nothing to report.
            self.close_connection = True


def _status_name(code: int) -> str:
    return {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
            504: "DEADLINE_EXCEEDED", 404: "NOT_FOUND"}.get(code, "UNKNOWN")

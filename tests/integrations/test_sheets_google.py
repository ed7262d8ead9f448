"""gspread, unmodified, over HTTP to the fake Sheets server: batching, retries, safety.

Time is a fake clock whose sleep only moves it forward: retries and the rate limiter
never wait for real, and no test asserts on wall-clock time. Only the timeout tests
spend a fraction of a second, because a read timeout is a real socket timeout: the
client's read timeout is short only around the call whose answers the server holds
back, and those tests assert what must hold however many requests time out (each row
once, one worksheet), so a loaded machine cannot turn them red.
"""

from __future__ import annotations

import datetime as dt
import random
from contextlib import contextmanager

import gspread
import pytest

from integrations.sheets.backend import SheetsError, SheetsUnavailable
from integrations.sheets.google import GoogleSheets, client_for_base_url
from integrations.sheets.mapping import billing_mapping, planner_mapping
from integrations.sheets.upsert import SheetWriter
from tests.servers.fake_sheets import FakeSheetsServer

KEY = "1CanceldeskTestKey"
# Generous, so that no answer times out on a busy machine unless a test means it to.
READ_TIMEOUT = 30.0
SHORT_READ_TIMEOUT = 0.3
BILLING = billing_mapping(KEY)
PLANNER = planner_mapping(KEY)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock):
    with FakeSheetsServer() as fake:
        fake.clock = clock
        fake.create_spreadsheet(KEY, "Sheet1")
        yield fake


def make_backend(server: FakeSheetsServer, clock: FakeClock, **options) -> GoogleSheets:
    client = client_for_base_url(server.base_url, timeout=(2.0, READ_TIMEOUT))
    return GoogleSheets(client, sleep=clock.sleep, clock=clock, rng=random.Random(7), **options)


@pytest.fixture
def google(server: FakeSheetsServer, clock: FakeClock):
    backend = make_backend(server, clock)
    yield backend
    backend.close()


@contextmanager
def answered_after_timeout(server: FakeSheetsServer, backend: GoogleSheets, n: int):
    """The next `n` writes land, but their answers come only after the client gave up."""
    backend.client.set_timeout((2.0, SHORT_READ_TIMEOUT))
    server.slow_next(n, 2 * SHORT_READ_TIMEOUT, only="write")
    try:
        yield
    finally:
        backend.client.set_timeout((2.0, READ_TIMEOUT))


@pytest.fixture
def writer(google: GoogleSheets, clock: FakeClock) -> SheetWriter:
    return SheetWriter(google, clock=clock)


def billing_rows(n: int, status: str = "stopping", start: int = 0) -> list[dict]:
    return [
        {
            "account": f"ACME-{i % 97}",
            "item_id": 40_000 + i,
            "service": "Backup",
            "monthly_amount": 49.5,
            "stop_date": dt.date(2025, 3, 31),
            "case_ref": f"C-{i}",
            "status": status,
        }
        for i in range(start, start + n)
    ]


def planner_row(case: str, reason: str = "moving", kind: str = "cancel") -> dict:
    return {"case_ref": case, "account": "ACME-1", "kind": kind,
            "effective_date": dt.date(2025, 4, 1), "resume_date": None,
            "reason": reason, "status": "planned"}


def body_rows(server: FakeSheetsServer, title: str) -> list[list]:
    return server.values(KEY, title)[1:]


def value_writes(server: FakeSheetsServer) -> list:
    return [r for r in server.requests if r.path.endswith("values:batchUpdate")]


def test_gspread_speaks_to_the_fake_server(server: FakeSheetsServer) -> None:
    client = client_for_base_url(server.base_url)
    try:
        spreadsheet = client.open_by_key(KEY)
        worksheet = spreadsheet.worksheet("Sheet1")
        worksheet.batch_update([{"range": "A1:B2", "values": [["a", 1], ["=b", True]]}])
        assert worksheet.get_values() == [["a", "1"], ["=b", "TRUE"]]
        assert [w.title for w in spreadsheet.worksheets()] == ["Sheet1"]
        added = spreadsheet.add_worksheet("Extra", rows=10, cols=3)
        assert added.row_count == 10
        with pytest.raises(gspread.exceptions.APIError):
            added.update([["x"]], "A11")  # outside the grid, as on Google
    finally:
        client.http_client.session.close()
    assert server.formulas() == []  # RAW by default: '=b' is text


def test_upsert_of_1000_rows_in_one_burst(server, writer, google) -> None:
    result = writer.upsert(BILLING, billing_rows(1000))
    assert result.added == 1000 and result.write_calls == 1
    rows = body_rows(server, "Billing")
    assert len(rows) == 1000
    assert len({(r[0], r[1]) for r in rows}) == 1000
    assert rows[0] == ["ACME-0", 40000, "Backup", 49.5, "2025-03-31", "C-0", "stopping"]
    # worksheet created, header, resize past 1000 rows, the rows themselves
    assert google.api_calls.writes == server.count("write") <= 5
    assert len(value_writes(server)) == 2


def test_resending_the_same_1000_rows_adds_none(server, writer) -> None:
    writer.upsert(BILLING, billing_rows(1000))
    writes = server.count("write")
    again = writer.upsert(BILLING, billing_rows(1000))
    writer.invalidate()  # as after a restart: the sheet is read afresh
    fresh = writer.upsert(BILLING, billing_rows(1000))
    assert again.unchanged == fresh.unchanged == 1000
    assert server.count("write") == writes
    assert len(body_rows(server, "Billing")) == 1000


def test_changed_rows_are_updated_in_place_in_one_call(server, writer) -> None:
    writer.upsert(BILLING, billing_rows(300))
    writes = server.count("write")
    result = writer.upsert(BILLING, billing_rows(300, status="stopped"))
    assert (result.updated, result.added, result.write_calls) == (300, 0, 1)
    assert server.count("write") == writes + 1
    assert {r[6] for r in body_rows(server, "Billing")} == {"stopped"}


def test_429_is_retried_honouring_retry_after(server, writer, clock) -> None:
    writer.upsert(PLANNER, [planner_row("C-1")])
    server.fail_next(2, 429, retry_after=7, only="write")
    writer.upsert(PLANNER, [planner_row("C-2")])
    assert clock.sleeps[-2:] == [7.0, 7.0]
    assert [r[0] for r in body_rows(server, "Planner")] == ["C-1", "C-2"]


def test_5xx_is_retried_a_bounded_number_of_times(server, clock) -> None:
    backend = make_backend(server, clock, max_attempts=3, base_delay=1.0, max_delay=4.0)
    writer = SheetWriter(backend, clock=clock)
    writer.upsert(PLANNER, [planner_row("C-1")])
    before, slept = len(value_writes(server)), len(clock.sleeps)
    server.fail_next(10, 503, only="write")
    with pytest.raises(SheetsUnavailable):
        writer.upsert(PLANNER, [planner_row("C-2")])
    assert len(value_writes(server)) == before + 3
    backoff = clock.sleeps[slept:]
    assert len(backoff) == 2 and 0 <= backoff[0] <= 1.0 and 0 <= backoff[1] <= 2.0
    backend.close()


def test_client_errors_are_not_retried(server, clock) -> None:
    backend = make_backend(server, clock)
    writer = SheetWriter(backend, clock=clock)
    with pytest.raises(SheetsError) as caught:
        writer.upsert(billing_mapping("no-such-key"), billing_rows(1))
    assert not isinstance(caught.value, SheetsUnavailable)
    assert server.count() == 1
    backend.close()


def test_write_that_landed_but_failed_makes_no_duplicate(server, writer) -> None:
    writer.upsert(PLANNER, [planner_row("C-1")])
    server.apply_then_fail_next(1, 500)
    writer.upsert(PLANNER, [planner_row("C-2"), planner_row("C-3")])
    assert [r[0] for r in body_rows(server, "Planner")] == ["C-1", "C-2", "C-3"]


def test_timeouts_after_landing_then_giving_up_make_no_duplicate(server, clock) -> None:
    backend = make_backend(server, clock, max_attempts=2)
    writer = SheetWriter(backend, clock=clock)
    writer.upsert(PLANNER, [planner_row("C-1")])
    with answered_after_timeout(server, backend, 2), pytest.raises(SheetsUnavailable):
        writer.upsert(PLANNER, [planner_row("C-2")])
    # The caller still holds C-2 and sends it again: found by key, not added twice.
    writer.upsert(PLANNER, [planner_row("C-2"), planner_row("C-3")])
    assert [r[0] for r in body_rows(server, "Planner")] == ["C-1", "C-2", "C-3"]
    backend.close()


def test_rate_limiter_keeps_writes_under_60_per_rolling_minute(server, clock) -> None:
    backend = make_backend(server, clock, writes_per_minute=60)
    writer = SheetWriter(backend, clock=clock)
    for n in range(150):
        writer.upsert(PLANNER, [planner_row(f"C-{n}")])
    times = [r.at for r in server.requests if r.kind == "write"]
    assert len(times) > 150
    assert max(sum(1 for u in times if t - 60 < u <= t) for t in times) <= 60
    assert clock.now - 1_000.0 >= 120  # the limiter made it wait (fake time)
    assert len(body_rows(server, "Planner")) == 150
    backend.close()


@pytest.mark.parametrize(
    "reason", ['=HYPERLINK("http://evil.example","click")', "+1", "-2", "@x", "\tz", "=1+1"]
)
def test_formula_looking_reason_stays_text(server, writer, reason) -> None:
    writer.upsert(PLANNER, [planner_row("C-1", reason=reason)])
    assert server.formulas() == []
    assert body_rows(server, "Planner")[0][5] == "'" + reason
    writes = value_writes(server)
    assert writes and all(r.body["valueInputOption"] == "RAW" for r in writes)


def test_the_fake_would_catch_a_user_entered_formula(server) -> None:
    client = client_for_base_url(server.base_url)
    try:
        client.open_by_key(KEY).sheet1.update_acell("A1", "=1+1")  # gspread: USER_ENTERED
    finally:
        client.http_client.session.close()
    assert server.formulas() == [(KEY, "Sheet1", "A1", "=1+1")]


def test_reconcile_restores_deleted_and_fixes_moved_edited_duplicate(server, writer) -> None:
    desired = [planner_row(f"C-{n}") for n in range(1, 6)]
    writer.upsert(PLANNER, desired)
    sheet = server.values(KEY, "Planner")
    header, rows = sheet[0], sheet[1:]
    server.delete_row(KEY, "Planner", 3)  # C-2 gone, rows below move up
    server.set_row(KEY, "Planner", 2, ["C-1", "ACME-1", "cancel", "2025-04-01", "", "edited", "x"])
    server.set_row(KEY, "Planner", 9, rows[4])  # C-5 copied further down: a duplicate
    result = writer.reconcile(PLANNER, desired)
    assert (result.restored, result.edited, result.cleared) == (1, 1, 1)
    assert result.moved >= 2  # C-3 .. C-5 moved up when the row was deleted
    after = [r for r in server.values(KEY, "Planner")[1:] if r]
    assert sorted(r[0] for r in after) == [f"C-{n}" for n in range(1, 6)]
    assert all(r[5] == "moving" for r in after)
    assert server.values(KEY, "Planner")[0] == header


def test_columns_are_found_by_header_text_and_others_left_alone(server, writer) -> None:
    server.add_worksheet(KEY, "Planner")
    server.set_row(KEY, "Planner", 1, ["Status", "Notes", "Case", "Account", "Kind",
                                        "Effective date", "Resume date", "Reason"])
    server.set_row(KEY, "Planner", 2, ["old", "call back", "C-1"])
    writer.upsert(PLANNER, [planner_row("C-1")])
    assert server.values(KEY, "Planner")[1] == [
        "planned", "call back", "C-1", "ACME-1", "cancel", "2025-04-01", "", "moving"]


def test_outage_of_minutes_loses_nothing_and_recovers_in_order(server, writer, clock) -> None:
    writer.upsert(PLANNER, [planner_row("C-0")])
    server.outage(True)
    pending: list[dict] = []  # what the outbox would still hold
    for minute in range(1, 6):
        pending.append(planner_row(f"C-{minute}"))
        with pytest.raises(SheetsUnavailable):
            writer.upsert(PLANNER, pending)
        clock.sleep(60)
    assert clock.now - 1_000.0 >= 300
    server.outage(False)
    result = writer.upsert(PLANNER, pending)
    assert result.added == 5
    assert [r[0] for r in body_rows(server, "Planner")] == [f"C-{n}" for n in range(6)]


def test_a_long_retry_after_is_handed_to_the_caller(server, writer, clock) -> None:
    writer.upsert(PLANNER, [planner_row("C-1")])
    server.fail_next(1, 429, retry_after=600, only="write")
    slept = len(clock.sleeps)
    with pytest.raises(SheetsUnavailable) as caught:
        writer.upsert(PLANNER, [planner_row("C-2")])
    assert caught.value.retry_after == 600 and len(clock.sleeps) == slept
    writer.upsert(PLANNER, [planner_row("C-2")])
    assert [r[0] for r in body_rows(server, "Planner")] == ["C-1", "C-2"]


# -- creates, headers and resizes that landed but were answered with an error ---------


def add_sheet_requests(server: FakeSheetsServer) -> list:
    return [r for r in server.requests if r.path.endswith(":batchUpdate")
            and not r.path.endswith("values:batchUpdate")
            and any("addSheet" in q for q in r.body.get("requests", []))]


def titles(server: FakeSheetsServer) -> list[str]:
    return [s.title for s in server.books[KEY]["sheets"]]


@pytest.mark.parametrize("fault", ["apply_then_fail", "slow"])
def test_worksheet_create_that_landed_but_failed_is_found_not_recreated(
    server, google, writer, fault
) -> None:
    # The first write of a fresh mapping is the addSheet request.
    if fault == "slow":
        with answered_after_timeout(server, google, 1):
            writer.upsert(PLANNER, [planner_row("C-1")])
    else:
        server.apply_then_fail_next(1, 500)
        writer.upsert(PLANNER, [planner_row("C-1")])
    assert titles(server) == ["Sheet1", "Planner"]
    # The retry re-read the metadata and found the sheet instead of asking again.
    assert len(add_sheet_requests(server)) == 1
    assert server.values(KEY, "Planner")[0] == list(PLANNER.headers)
    assert [r[0] for r in body_rows(server, "Planner")] == ["C-1"]


def test_worksheet_create_answered_already_exists_is_success(server, writer, monkeypatch) -> None:
    # A colleague (or our own earlier, lost request) creates the sheet between our
    # lookup and our create: Google answers 400 "already exists".
    real_lookup = gspread.Spreadsheet.worksheet
    raced: list[str] = []

    def stale_lookup(spreadsheet: gspread.Spreadsheet, title: str) -> gspread.Worksheet:
        if not raced:
            raced.append(title)
            server.add_worksheet(KEY, title, rows=50, cols=10)
            raise gspread.exceptions.WorksheetNotFound(title)
        return real_lookup(spreadsheet, title)

    monkeypatch.setattr(gspread.Spreadsheet, "worksheet", stale_lookup)
    writer.upsert(PLANNER, [planner_row("C-1")])
    assert raced == ["Planner"] and titles(server) == ["Sheet1", "Planner"]
    assert len(add_sheet_requests(server)) == 1
    assert [r[0] for r in body_rows(server, "Planner")] == ["C-1"]


def test_worksheet_create_that_landed_then_gave_up_is_found_next_time(server, clock) -> None:
    backend = make_backend(server, clock, max_attempts=1)
    writer = SheetWriter(backend, clock=clock)
    server.apply_then_fail_next(1, 503)
    with pytest.raises(SheetsUnavailable):
        writer.upsert(PLANNER, [planner_row("C-1")])
    writer.upsert(PLANNER, [planner_row("C-1")])
    assert titles(server) == ["Sheet1", "Planner"]
    assert len(add_sheet_requests(server)) == 1
    assert [r[0] for r in body_rows(server, "Planner")] == ["C-1"]
    backend.close()


@pytest.mark.parametrize("attempts", [5, 1])
def test_header_write_that_landed_but_failed_writes_it_once(server, clock, attempts) -> None:
    server.add_worksheet(KEY, "Planner")
    backend = make_backend(server, clock, max_attempts=attempts)
    writer = SheetWriter(backend, clock=clock)
    server.apply_then_fail_next(1, 500)  # the header write: the sheet already exists
    if attempts == 1:
        with pytest.raises(SheetsUnavailable):
            writer.upsert(PLANNER, [planner_row("C-1")])
    writer.upsert(PLANNER, [planner_row("C-1")])
    # Re-read before writing again: the headers are not appended a second time.
    assert server.values(KEY, "Planner")[0] == list(PLANNER.headers)
    assert [r[0] for r in body_rows(server, "Planner")] == ["C-1"]
    backend.close()


@pytest.mark.parametrize("attempts", [5, 1])
def test_grid_resize_that_landed_but_failed_is_harmless(server, clock, attempts) -> None:
    server.add_worksheet(KEY, "Planner", rows=3, cols=26)
    backend = make_backend(server, clock, max_attempts=attempts)
    writer = SheetWriter(backend, clock=clock)
    writer.upsert(PLANNER, [planner_row("C-1")])
    server.apply_then_fail_next(1, 500)  # the resize before rows 3..5
    rows = [planner_row(f"C-{n}") for n in range(1, 5)]
    if attempts == 1:
        with pytest.raises(SheetsUnavailable):
            writer.upsert(PLANNER, rows)
    writer.upsert(PLANNER, rows)
    grid = server.sheet(KEY, "Planner").props["gridProperties"]
    assert grid["rowCount"] == 5 + 1000  # one absolute size, not grown twice
    assert [r[0] for r in body_rows(server, "Planner")] == [f"C-{n}" for n in range(1, 5)]
    backend.close()

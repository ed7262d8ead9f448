"""Bench: N cases' billing, offboarding and planner rows through gspread to a fake Sheets.

    python bench/sheets.py [--cases 1000] [--flush 100] [--error-rate 0.05]

Two parts. The library path (below) drives SheetWriter directly. The daemon path
(``run_daemon``) approves the cases through ``workflow.advance`` on a SQLite desk, so
the rows are projected from the database and queued in the outbox inside each case's
transaction, then flushed by the sync's ``tick`` as the watcher's sweep does, one flush
per ``--flush`` cases with the desk's ManualClock moved by ``flush_interval_seconds``.
It reports the seconds spent queuing (inside the case transactions) and flushing.

Starts the fake Sheets server in-process and upserts the rows as the daemon's outbox
would: one flush of all three sheets every ``--flush`` cases, then a second pass that
changes every case's status (in-place updates). Runs once clean and once with a share
of requests answered 429. Backoff and rate-limit waits go to a simulated clock, so the
bench reports them as "waited" seconds instead of sleeping; "seconds" is the time the
run really took (HTTP, JSON, diffing). Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integrations.sheets.google import GoogleSheets, client_for_base_url  # noqa: E402
from integrations.sheets.mapping import default_mappings  # noqa: E402
from integrations.sheets.upsert import SheetWriter  # noqa: E402
from tests.servers.fake_sheets import FakeSheetsServer  # noqa: E402

KEY = "bench-spreadsheet"


class SimulatedWait:
    """Clock and sleep for the limiter and retries: sleeping only adds up the time."""

    def __init__(self) -> None:
        self.waited = 0.0

    def clock(self) -> float:
        return time.monotonic() + self.waited

    def sleep(self, seconds: float) -> None:
        self.waited += max(0.0, seconds)


def case_rows(n: int, status: str) -> dict[str, list[dict]]:
    day = dt.date(2025, 1, 1) + dt.timedelta(days=n % 90)
    ref, account = f"C-{n:05d}", f"ACME-{n % 400:04d}"
    billing = [{"account": account, "item_id": f"{n}-{i}", "service": service,
                "monthly_amount": 19.5 + i, "stop_date": day, "case_ref": ref, "status": status}
               for i, service in enumerate(("Mail", "Backup"))]
    offboarding = [{"case_ref": ref, "client": account, "final_day": day, "reason": "=price",
                    "owner": "dana", "data_export": status == "done"}]
    planner = [{"case_ref": ref, "account": account, "kind": ("cancel", "pause", "change")[n % 3],
                "effective_date": day, "resume_date": None, "reason": "+moving", "status": status}]
    return {"billing": billing, "offboarding": offboarding, "planner": planner}


def run(cases: int, flush: int, error_rate: float) -> dict[str, float]:
    wait = SimulatedWait()
    with FakeSheetsServer() as server:
        server.create_spreadsheet(KEY, "Sheet1")
        server.flaky(error_rate, 429, seed=1)
        backend = GoogleSheets(client_for_base_url(server.base_url), max_attempts=8,
                               sleep=wait.sleep, clock=wait.clock, rng=random.Random(1))
        writer = SheetWriter(backend, clock=wait.clock)
        mappings = default_mappings(KEY)
        started = time.perf_counter()
        for status in ("stopping", "done"):
            for first in range(0, cases, flush):
                burst = [case_rows(n, status) for n in range(first, min(cases, first + flush))]
                for name in ("billing", "offboarding", "planner"):
                    writer.upsert(mappings[name], [r for c in burst for r in c[name]])
        seconds = time.perf_counter() - started
        backend.close()
        rows = len(server.values(KEY, "Billing")) - 1
    return {"reads": backend.api_calls.reads, "writes": backend.api_calls.writes,
            "seconds_per_1000": seconds * 1000 / cases, "waited": wait.waited,
            "billing_rows": rows}


def run_daemon(cases: int, flush: int, error_rate: float) -> dict[str, float]:
    import tempfile

    from sqlalchemy import func, select

    from daemon.db import transaction
    from daemon.models import OutboxEntry, OutboxStatus
    from daemon.sheets.sync import SHEET
    from tests.sheets.helpers import KEY as DESK_KEY
    from tests.sheets.helpers import fresh_sync, google_backend
    from tests.support import build_test_desk

    with tempfile.TemporaryDirectory() as folder, FakeSheetsServer() as server:
        # The default flush interval (10 s): only the spreadsheet key is set.
        desk = build_test_desk(Path(folder), f"sqlite:///{folder}/bench.db",
                               extra=f'[sheets]\nspreadsheet = "{DESK_KEY}"\n', accounts=False)
        start = desk.clock.now()
        server.clock = lambda: desk.clock.now().timestamp()
        server.create_spreadsheet(DESK_KEY, "Sheet1")
        server.flaky(error_rate, 429, seed=1)
        backend = google_backend(desk, server, max_attempts=8)
        queued, flushed = _approve_and_flush(desk, fresh_sync(desk, backend), cases, flush)
        with transaction(desk.factory) as session:
            entries = session.scalar(select(func.count(OutboxEntry.id)).where(OutboxEntry.kind == SHEET))
            sent = session.scalar(select(func.count(OutboxEntry.id)).where(
                OutboxEntry.kind == SHEET, OutboxEntry.status == OutboxStatus.SENT))
        billing = len(server.values(DESK_KEY, "Billing")) - 1
        moved = (desk.clock.now() - start).total_seconds()
        backend.close()
        desk.engine.dispose()
    return {"reads": backend.api_calls.reads, "writes": backend.api_calls.writes, "entries": entries,
            "queue_per_1000": queued * 1000 / cases, "flush_per_1000": flushed * 1000 / cases,
            "clock_moved": moved, "sent": sent, "billing_rows": billing}


def _approve_and_flush(desk, sync, cases: int, flush: int) -> tuple[float, float]:
    """Approve `flush` cases at a time, then tick as the sweep does; (seconds queuing, seconds flushing)."""
    from datetime import timedelta

    from tests.sheets.helpers import approve_cases, sheets_only_bus

    bus = sheets_only_bus(sync)
    queued = flushed = 0.0
    for first in range(0, cases, flush):
        began = time.perf_counter()
        approve_cases(desk, bus, range(first, min(cases, first + flush)))
        queued += time.perf_counter() - began
        began = time.perf_counter()
        sync.tick()
        flushed += time.perf_counter() - began
        desk.clock.advance(timedelta(seconds=desk.config.sheets.flush_interval_seconds))
    return queued, flushed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--flush", type=int, default=100, help="cases per flush")
    parser.add_argument("--error-rate", type=float, default=0.05, help="share of 429s")
    args = parser.parse_args(argv)
    print(f"{args.cases} cases, flush every {args.flush}, two passes (create, then update)")
    for label, rate in (("clean", 0.0), (f"{args.error_rate:.0%} 429s", args.error_rate)):
        r = run(args.cases, args.flush, rate)
        print(f"{label:>10}: {r['reads']} reads, {r['writes']} writes (incl. retries), "
              f"{r['seconds_per_1000']:.2f} s per 1,000 cases, "
              f"{r['waited']:.0f} s simulated backoff/rate-limit wait, "
              f"{r['billing_rows']} billing rows")
    print(f"daemon path: {args.cases} cases approved through workflow.advance (SQLite), "
          f"a flush every {args.flush} cases")
    for label, rate in (("clean", 0.0), (f"{args.error_rate:.0%} 429s", args.error_rate)):
        r = run_daemon(args.cases, args.flush, rate)
        print(f"{label:>10}: {r['entries']} outbox rows ({r['sent']} sent), {r['billing_rows']} billing rows, "
              f"{r['reads']} reads, {r['writes']} writes (incl. retries), "
              f"{r['queue_per_1000']:.2f} s queuing + {r['flush_per_1000']:.2f} s flushing per 1,000 cases, "
              f"desk clock moved {r['clock_moved']:.0f} s (flush intervals and simulated waits)")


if __name__ == "__main__":
    main()

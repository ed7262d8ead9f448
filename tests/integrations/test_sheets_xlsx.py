"""The embedded xlsx backend: same upserts, literal text, no torn file on a crash."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from integrations.sheets import xlsx
from integrations.sheets.mapping import billing_mapping, offboarding_mapping, planner_mapping
from integrations.sheets.upsert import SheetWriter
from integrations.sheets.xlsx import XlsxSheets

PLANNER = planner_mapping()
BILLING = billing_mapping()


def planner_row(case: str, reason: str = "moving") -> dict:
    return {"case_ref": case, "account": "ACME-1", "kind": "pause",
            "effective_date": dt.date(2025, 4, 1), "resume_date": dt.date(2025, 6, 1),
            "reason": reason, "status": "planned"}


@pytest.fixture
def path(tmp_path):
    return tmp_path / "var" / "sheets.xlsx"


@pytest.fixture
def writer(path) -> SheetWriter:
    return SheetWriter(XlsxSheets(path))


def tab(path, title: str) -> list[tuple]:
    book = load_workbook(path)
    try:
        return [row for row in book[title].iter_rows(values_only=True)]
    finally:
        book.close()


def test_upsert_is_keyed_and_idempotent(path, writer) -> None:
    rows = [{"account": f"A-{n}", "item_id": n, "service": "Mail", "monthly_amount": 9,
             "stop_date": dt.date(2025, 5, 1), "case_ref": "C-1", "status": "stopping"}
            for n in range(1000)]
    assert writer.upsert(BILLING, rows).added == 1000
    writer.invalidate()
    assert writer.upsert(BILLING, rows).unchanged == 1000
    values = tab(path, "Billing")
    assert len(values) == 1001
    assert values[1] == ("A-0", 0, "Mail", 9, "2025-05-01", "C-1", "stopping")


@pytest.mark.parametrize("reason", ['=HYPERLINK("http://evil.example","x")', "+1", "-2", "@x"])
def test_formula_looking_text_is_stored_as_text(path, writer, reason) -> None:
    writer.upsert(PLANNER, [planner_row("C-1", reason)])
    cell = load_workbook(path)["Planner"]["F2"]
    assert cell.data_type == "s" and cell.value == "'" + reason


def test_even_unprefixed_equals_text_is_never_a_formula(path) -> None:
    backend = XlsxSheets(path)
    backend.ensure_header(PLANNER)
    backend.write_ranges(PLANNER, [("A2:B2", [["=1+1", "=SUM(A1:A9)"]])])
    sheet = load_workbook(path)["Planner"]
    assert [(c.data_type, c.value) for c in sheet[2][:2]] == [("s", "=1+1"), ("s", "=SUM(A1:A9)")]
    assert backend.read_values(PLANNER)[1][:2] == ["=1+1", "=SUM(A1:A9)"]


def test_crash_mid_write_leaves_the_previous_file(path, writer, monkeypatch) -> None:
    writer.upsert(PLANNER, [planner_row("C-1")])
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("killed between write and rename")

    monkeypatch.setattr(xlsx.os, "replace", crash)
    with pytest.raises(OSError):
        writer.upsert(PLANNER, [planner_row("C-2")])
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["sheets.xlsx"]  # no temp left
    monkeypatch.undo()
    writer.upsert(PLANNER, [planner_row("C-1"), planner_row("C-2")])
    assert [r[0] for r in tab(path, "Planner")] == ["Case", "C-1", "C-2"]


def test_reconcile_restores_a_row_deleted_by_hand(path, writer) -> None:
    desired = [planner_row(f"C-{n}") for n in range(1, 4)]
    writer.upsert(PLANNER, desired)
    book = load_workbook(path)
    book["Planner"].delete_rows(2)
    book["Planner"]["F2"] = "edited by hand"
    book.save(path)
    result = writer.reconcile(PLANNER, desired)
    assert (result.restored, result.edited, result.moved) == (1, 1, 2)
    assert sorted(r[0] for r in tab(path, "Planner")[1:]) == ["C-1", "C-2", "C-3"]
    assert {r[5] for r in tab(path, "Planner")[1:]} == {"moving"}


def test_each_mapping_gets_its_own_tab(path) -> None:
    writer = SheetWriter(XlsxSheets(path))
    writer.upsert(PLANNER, [planner_row("C-1")])
    offboarding = offboarding_mapping()
    writer.upsert(offboarding, [{"case_ref": "C-1", "client": "Acme", "final_day": dt.date(2025, 4, 30),
                                 "reason": "price", "owner": "dana", "data_export": True}])
    assert load_workbook(path).sheetnames == ["Planner", "Offboarding"]
    assert tab(path, "Offboarding")[1][:7] == ("C-1", "Acme", "2025-04-30", "price", "dana", True, None)

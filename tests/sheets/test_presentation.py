"""Sheets a billing person reads: real dates, amounts with the currency, client names, a frozen
header and column widths, in Google Sheets (the fake server) and in the local workbook alike."""
from __future__ import annotations

from openpyxl import load_workbook

from tests.sheets.helpers import FINAL_DAY, KEY, approve_cases, sheets_only_bus


def _columns(server, title: str) -> dict[str, int]:
    header = server.values(KEY, title)[0]
    return {name: index for index, name in enumerate(header)}


def test_google_billing_sheet_has_dates_amounts_a_frozen_header_and_widths(desk, server, sync):
    approve_cases(desk, sheets_only_bus(sync), range(3))
    sync.flush()
    sheet, columns = server.sheet(KEY, "Billing"), _columns(server, "Billing")
    assert sheet.props["gridProperties"]["frozenRowCount"] == 1
    assert sheet.formats[columns["Stop date"]] == {"type": "DATE", "pattern": "yyyy-mm-dd"}
    assert sheet.formats[columns["Monthly amount"]] == {"type": "NUMBER", "pattern": '#,##0.00 "GBP"'}
    assert "Client" not in [server.values(KEY, "Billing")[0][i] for i in sheet.formats]   # text stays text
    stored = server.raw_values(KEY, "Billing")[1]
    assert stored[columns["Stop date"]] == (FINAL_DAY - FINAL_DAY.replace(1899, 12, 30)).days   # a date serial
    assert server.values(KEY, "Billing")[1][columns["Stop date"]] == "2027-01-31"            # shown as a date
    assert server.values(KEY, "Billing")[1][columns["Client"]] == "Client 0"
    assert sheet.widths[columns["Client"]] > sheet.widths[columns["Item ID"]] > 0
    planner = server.sheet(KEY, "Planner")
    assert planner.formats[_columns(server, "Planner")["Effective date"]]["type"] == "DATE"
    sync.reconcile()                           # read back as dates: nothing looks edited
    assert server.raw_values(KEY, "Billing")[1] == stored


def test_workbook_has_the_same_look(tmp_path, desk):
    from integrations.sheets.xlsx import XlsxSheets
    from tests.sheets.helpers import fresh_sync

    sync = fresh_sync(desk, XlsxSheets(tmp_path / "look.xlsx"))
    approve_cases(desk, sheets_only_bus(sync), range(2))
    sync.flush()
    billing = load_workbook(tmp_path / "look.xlsx")["Billing"]
    header = [c.value for c in billing[1]]
    stop, amount = billing.cell(2, header.index("Stop date") + 1), billing.cell(2, header.index("Monthly amount") + 1)
    assert billing.freeze_panes == "A2"
    assert stop.is_date and stop.number_format == "yyyy-mm-dd" and stop.value.date() == FINAL_DAY
    assert amount.value == 100 and amount.number_format == '#,##0.00 "GBP"'
    assert billing.cell(2, header.index("Client") + 1).value == "Client 0"
    assert billing.column_dimensions["C"].width >= 28          # Client, beside the account's key
    assert sync.reconcile()["billing"].edited == 0

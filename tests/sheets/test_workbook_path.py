"""The embedded default, end to end: a cancellation decided and approved by mail lands in the
local workbook (`[sheets] backend = "xlsx"`), a ticked checklist item follows, a row deleted
by hand comes back with `canceldesk sheets reconcile`; accounts come from a customers sheet."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook

from daemon.config import from_text
from daemon.schema import ConfigError
from tests.playbook.helpers import PLAYBOOK_CONFIG, later, one_to, playbook_desk, run, sent_to, staff_command, text
from tests.sheets.helpers import approve_cases, sheets_only_bus
from tests.support import REPO, build_test_desk, config_text, mail

BILLING_HEADER = ["Account", "Item ID", "Client", "Service", "Monthly amount", "Stop date", "Case", "Status"]
MARCH_31 = datetime(2027, 3, 31)   # a real date cell: openpyxl reads it back as a datetime


def sheet_rows(path, title: str) -> list[list]:
    book = load_workbook(path)
    try:
        return [["" if v is None else v for v in row] for row in book[title].iter_rows(values_only=True)]
    finally:
        book.close()


def canceldesk(config_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config_path), *args],
                          capture_output=True, text=True, cwd=REPO)


@pytest.fixture
def desk(database_url, tmp_path):
    built = playbook_desk(tmp_path, database_url)
    yield built
    built.engine.dispose()


def test_a_cancellation_approved_by_mail_reaches_the_workbook_and_is_repaired(desk, tmp_path):
    run(desk, mail(body="We would like to cancel all our services with you.\n"))
    notice = sent_to(desk, "tom@agency.example")[0]
    results = staff_command(desk, notice, "#reason price: =SUM(A1:A9) is what we pay\n#keep SEO, PPC\n"
                            "#cancel Social, Content on 2027-03-31\n", sender="amy@agency.example")
    assert "partially saved" in text(results)
    for who, step in (("amy", "retention"), ("dana", "director"), ("acc", "accounting")):
        request = one_to(desk, f"{who}@agency.example", f"Approval needed ({step})")
        staff_command(desk, request, "#approve\n", sender=f"{who}@agency.example")
    later(desk, hours=0.02)
    workbook = tmp_path / "sheets.xlsx"
    reference = desk.sheets.desired_rows()["planner"][0]["case_ref"]
    billing = sheet_rows(workbook, "Billing")
    assert billing[0] == BILLING_HEADER
    assert sorted(billing[1:]) == [
        ["ACME", "B-1001", "Acme Outdoor Ltd", "SEO", 1200, "", reference, "kept"],
        ["ACME", "B-1002", "Acme Outdoor Ltd", "PPC", 800, "", reference, "kept"],
        ["ACME", "B-1003", "Acme Outdoor Ltd", "Social", 450, MARCH_31, reference, "stopping"],
        ["ACME", "B-1004", "Acme Outdoor Ltd", "Content", 600, MARCH_31, reference, "stopping"],
    ]
    offboarding = sheet_rows(workbook, "Offboarding")
    assert offboarding[1][:6] == [reference, "Acme Outdoor Ltd", MARCH_31,
                                  "'=SUM(A1:A9) is what we pay (price)", "amy@agency.example", "offboarding"]
    checklist = dict(zip(offboarding[0][6:], offboarding[1][6:]))
    assert checklist["Revoke tool access"] == "pending"
    assert checklist["Pause ad campaigns and recurring ad spend"] == "n/a"     # PPC is kept
    planner = sheet_rows(workbook, "Planner")
    assert planner[1] == [reference, "ACME", "Acme Outdoor Ltd", "cancel", MARCH_31, "", "'=SUM(A1:A9) is what we pay (price)",
                          "offboarding"]

    item = one_to(desk, "tom@agency.example", "Offboarding: Revoke tool access")
    staff_command(desk, item, "#done revoke tool access\n", sender="tom@agency.example")
    later(desk, hours=0.02)       # a ticked item is no workflow event: the sweep's catch-up finds it
    offboarding = sheet_rows(workbook, "Offboarding")
    assert dict(zip(offboarding[0], offboarding[1]))["Revoke tool access"] == "done"

    book = load_workbook(workbook)
    book["Billing"].delete_rows(3)
    book.save(workbook)
    config_path = tmp_path / "config.toml"
    config_path.write_text(desk_config_text(desk))
    done = canceldesk(config_path, "sheets", "reconcile")
    assert done.returncode == 0, done.stderr
    assert "billing: 3 rows as they should be, 1 restored" in done.stdout
    assert sorted(sheet_rows(workbook, "Billing")[1:]) == sorted(billing[1:])


def desk_config_text(desk) -> str:
    """The playbook desk's configuration as a file, for the command line."""
    text_ = config_text(desk.config.database.url, extra=PLAYBOOK_CONFIG)
    return text_.replace("[staff]\n", '[staff]\nfile = "specialists.toml"\n', 1)


CUSTOMERS = [
    ["Account ID", "Name", "Time zone", "Contract start", "Term months", "Notice days", "Account manager",
     "Team lead", "Contacts", "Team", "Billing items", "Notes"],
    ["HOOLI", "Hooli XYZ", "America/Los_Angeles", "2026-02-01", 12, 30, "amy@agency.example",
     "tom@agency.example", "Gavin <gavin@hooli.example>", "SEO: sam@agency.example", "H-1 SEO 2500.00", "big"],
    ["", "Nameless Ltd", "UTC", "", "", "", "", "", "x@nameless.example", "", "", ""],
    ["PIED", "Pied Piper", "Europe/Nowhere", "", "", "", "", "", "richard@pied.example", "", "", ""],
    ["HOOLI", "Hooli again", "UTC", "", "", "", "", "", "again@hooli.example", "", "", ""],
    ["RAVIGA", "Raviga Capital", "UTC", "2026-13-01", "", "", "", "", "monica@raviga.example", "", "", ""],
    ["BACHMAN", "Aviato", "UTC", "", "", "", "", "", "erlich@aviato.example", "", "A-1 Web 99.00", "ok"],
]


def test_accounts_from_the_customers_sheet_with_a_report_of_unreadable_rows(database_url, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Customers"
    for row in CUSTOMERS:
        sheet.append(row)
    book.save(tmp_path / "sheets.xlsx")
    config_path = tmp_path / "config.toml"
    config_path.write_text(config_text(database_url))
    done = canceldesk(config_path, "accounts", "sync")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "2 accounts imported from the customers sheet, 4 rows could not be read"
    assert lines[1:] == [
        "  skipped row 3: empty Account ID",
        "  skipped row 4: timezone: unknown time zone 'Europe/Nowhere'",
        "  skipped row 5: duplicate HOOLI (first in row 2)",
        "  skipped row 6: contract_start: '2026-13-01' is not a date (YYYY-MM-DD)",
    ]


def test_sheet_columns_are_checked_when_the_configuration_is_read():
    with pytest.raises(ConfigError, match=r"^sheets.billing_columns\[1\]: unknown field 'colour'"):
        from_text('[sheets]\nbilling_columns = ["account: Account", "colour: Colour", "item_id: Item"]\n')
    with pytest.raises(ConfigError, match=r"^sheets.planner_columns: the key field\(s\) case_ref"):
        from_text('[sheets]\nplanner_columns = ["kind: Kind"]\n')
    with pytest.raises(ConfigError, match=r"^sheets.backend: must be one of"):
        from_text('[sheets]\nbackend = "excel"\n')


def test_google_without_a_key_keeps_the_rows_waiting_and_says_which_variable(database_url, tmp_path, monkeypatch):
    monkeypatch.delenv("CD_TEST_NO_KEY", raising=False)
    desk = build_test_desk(tmp_path, database_url, extra='[sheets]\nbackend = "google"\nspreadsheet = "K"\n'
                           'service_account_env = "CD_TEST_NO_KEY"\n')
    try:
        approve_cases(desk, sheets_only_bus(desk.sheets), [1])
        report = desk.sheets.flush()
        assert "CD_TEST_NO_KEY" in report.error
        assert desk.sheets.pending_count() == 6
    finally:
        desk.engine.dispose()

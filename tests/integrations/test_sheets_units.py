"""Sheet layer pieces on their own: values, mappings, A1, records, limiter, retries."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.sheets.a1 import column_index, column_letter, range_a1, range_start
from integrations.sheets.backend import SheetsUnavailable, header_update
from integrations.sheets.google import client_from_service_account
from integrations.sheets.mapping import (
    DEFAULT_CHECKLIST,
    billing_mapping,
    customers_mapping,
    default_mappings,
    offboarding_mapping,
    SheetMapping,
)
from integrations.sheets.polite import Retrier, SlidingWindow
from integrations.sheets.records import read_records
from integrations.sheets.values import cell_text, neutralise, row_cells, to_cell
from integrations.sheets.xlsx import XlsxSheets


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (dt.date(2025, 3, 1), "2025-03-01"),
        (dt.datetime(2025, 3, 1, 9, 30), "2025-03-01 09:30:00"),
        (Decimal("49.50"), 49.5),
        (Decimal("12"), 12),
        (None, ""),
        (True, True),
        ("=1+1", "'=1+1"),
        ("-2 months early", "'-2 months early"),
        ("'=already", "'=already"),
        ("plain", "plain"),
    ],
)
def test_to_cell(value, cell) -> None:
    assert to_cell(value) == cell


def test_neutralise_is_idempotent() -> None:
    for text in ("=x", "+x", "-x", "@x", "\tx", "\rx"):
        assert neutralise(neutralise(text)) == neutralise(text) == "'" + text


def test_cell_text_reads_numbers_as_written() -> None:
    assert [cell_text(v) for v in (12, 12.0, 49.5, True, None, "x")] == ["12", "12", "49.5", "TRUE", "", "x"]


def test_mappings_and_their_defaults() -> None:
    mappings = default_mappings("KEY")
    assert sorted(mappings) == ["billing", "customers", "offboarding", "planner"]
    assert mappings["billing"].key_fields == ("account", "item_id")
    assert mappings["planner"].key_fields == ("case_ref",)
    offboarding = offboarding_mapping(checklist=DEFAULT_CHECKLIST)
    assert offboarding.headers[:5] == ("Case", "Client", "Final day", "Reason", "Owner")
    assert "Data export" in offboarding.headers
    assert billing_mapping().with_location("OTHER").location == ("OTHER", "Billing")
    with pytest.raises(ValueError):
        SheetMapping("x", "", "X", ("missing",), {"a": "A"})
    with pytest.raises(ValueError):
        row_cells(billing_mapping(), {"acount": "typo"})


def test_a1_helpers() -> None:
    assert [column_letter(n) for n in (1, 26, 27, 702)] == ["A", "Z", "AA", "ZZ"]
    assert column_index("AA") == 27
    assert range_a1(2, 1, 3, 7) == "A2:G3"
    assert range_start("C5:D9") == (5, 3)


def test_header_update_adds_missing_headers_after_the_last_one() -> None:
    mapping = customers_mapping()
    assert header_update(mapping, ["Account", "Notes", ""]) == ("C1:D1", [["Name", "Email"]])
    assert header_update(mapping, ["Email", "Name", "Account"]) is None


def test_customers_are_read_with_a_report_of_bad_rows(tmp_path) -> None:
    backend, mapping = XlsxSheets(tmp_path / "s.xlsx"), customers_mapping()
    backend.ensure_header(mapping)
    backend.write_ranges(mapping, [("A2:C6", [
        ["00123", "Acme", "ops@acme.example"],
        ["", "No account", "x@example.org"],
        ["00123", "Acme again", "dup@acme.example"],
        ["", "", ""],
        ["777", "Beta", ""],
    ])])
    report = read_records(backend, mapping, required=("account", "email"))
    assert report.records == [{"account": "00123", "name": "Acme", "email": "ops@acme.example"}]
    assert [(p.row, p.reason) for p in report.problems] == [
        (3, "empty Account"),
        (4, "duplicate 00123 (first in row 2)"),
        (6, "empty Email"),
    ]
    assert report.summary().startswith("1 rows read, 3 could not be read")


def test_sliding_window_waits_for_the_oldest_event_to_leave() -> None:
    clock = Clock()
    window = SlidingWindow(3, 60.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(7):
        window.acquire()
        stamps.append(clock.now)
        clock.now += 1
    assert stamps == [0, 1, 2, 60, 61, 62, 120]


def test_retrier_gives_up_after_max_attempts_with_capped_jitter() -> None:
    clock, calls = Clock(), []
    sleeps: list[float] = []
    retrier = Retrier(4, 1.0, 2.0, sleep=sleeps.append, rng=random.Random(1))

    def attempt():
        calls.append(clock.now)
        raise requests.ConnectionError("down")

    with pytest.raises(SheetsUnavailable):
        retrier.run(attempt, "write")
    assert len(calls) == 4 and len(sleeps) == 3
    assert all(0 <= s <= cap for s, cap in zip(sleeps, (1.0, 2.0, 2.0)))


def _service_account_info() -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "p", "private_key_id": "k",
            "private_key": pem, "client_email": "desk@p.iam.gserviceaccount.com",
            "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}


def test_service_account_from_file_or_json_text_gets_timeouts(tmp_path) -> None:
    info = _service_account_info()
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(info))
    for source in (str(key_file), json.dumps(info)):
        client = client_from_service_account(source, timeout=(3, 9))
        try:
            assert client.http_client.timeout == (3, 9)
            assert client.http_client.auth.service_account_email == info["client_email"]
        finally:
            client.http_client.session.close()

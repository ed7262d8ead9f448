"""Fixtures of the sheets tests: a desk on both databases whose sheets are a fake Google Sheets."""
from __future__ import annotations

import pytest

from tests.servers.fake_sheets import FakeSheetsServer
from tests.sheets.helpers import KEY, SHEETS_CONFIG, fresh_sync, google_backend, monotonic
from tests.support import build_test_desk


@pytest.fixture
def desk(database_url, tmp_path):
    """The test desk (SQLite and PostgreSQL) configured for the fake spreadsheet."""
    built = build_test_desk(tmp_path, database_url, extra=SHEETS_CONFIG)
    yield built
    built.engine.dispose()


@pytest.fixture
def server(desk):
    with FakeSheetsServer() as fake:
        fake.clock = monotonic(desk)
        fake.create_spreadsheet(KEY, "Sheet1")
        yield fake


@pytest.fixture
def google(desk, server):
    backend = google_backend(desk, server)
    yield backend
    backend.close()


@pytest.fixture
def sync(desk, google):
    return fresh_sync(desk, google)

"""Shared fixtures: the database on SQLite and PostgreSQL, real mail servers, a desk.

Every test that uses `desk` runs twice, once per database. Services absent on a
developer's machine are skipped with the reason; with CANCELDESK_REQUIRE_SERVICES=1 (CI)
a missing service fails the run instead.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy

from tests.servers.dovecot import dovecot, dovecot_no_idle, dovecot_no_idle_user, dovecot_user  # noqa: F401
from tests.servers.smtp import smtp_server, tls_material  # noqa: F401
from tests.support import build_test_desk

POSTGRES_URL = os.environ.get("CANCELDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def service_missing(what: str) -> None:
    if os.environ.get("CANCELDESK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what}, and CANCELDESK_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(f"{what}: skipped (set CANCELDESK_TEST_POSTGRES_URL to run it)")


@pytest.fixture(scope="session")
def postgres_engine():
    engine = sqlalchemy.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except Exception as exc:  # no server, no driver, no database: all mean "absent here"
        engine.dispose()
        service_missing(f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc.__class__.__name__})")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a throw-away schema in PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'canceldesk.db'}"
        return
    engine = request.getfixturevalue("postgres_engine")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
def desk(database_url, tmp_path):
    """A desk on the test database, Maildir inbox and file outbox under tmp_path."""
    built = build_test_desk(tmp_path, database_url)
    yield built
    built.engine.dispose()


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    path = Path(os.environ.get("CANCELDESK_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora"))
    if not path.is_dir():
        if os.environ.get("CANCELDESK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"the third-party corpora are not at {path}", pytrace=False)
        pytest.skip(f"the third-party corpora are not at {path}")
    return path

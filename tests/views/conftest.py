"""Fixtures of the view tests: one seeded desk per database, built by mail (see seed.py).

Seeding runs the whole playbook by mail (about five seconds), so the read-only tests of a
module share one seeded desk per database; tests that change the desk seed their own.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy

from tests.conftest import POSTGRES_URL
from tests.playbook.helpers import playbook_desk
from tests.views.seed import seed


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("seeded")
    if request.param == "sqlite":
        url, cleanup = f"sqlite:///{folder / 'canceldesk.db'}", None
    else:
        engine = request.getfixturevalue("postgres_engine")
        schema = f"v_{uuid.uuid4().hex[:12]}"
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
        url, cleanup = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", (engine, schema)
    desk = playbook_desk(folder, url)
    seed(desk)
    yield desk
    desk.engine.dispose()
    if cleanup:
        with cleanup[0].begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {cleanup[1]} CASCADE"))


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run `canceldesk ARGS` against a given desk; returns (exit code, stdout, stderr)."""
    from daemon import app
    from daemon import cli as cli_module

    def run(desk, *args: str):
        monkeypatch.setattr(app, "open_desk", lambda path, **kwargs: desk)
        code = cli_module.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run

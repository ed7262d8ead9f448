"""`[database] url` as people write it: `postgres://` and `postgresql://` reach PostgreSQL through psycopg 3."""
from __future__ import annotations

import pytest

from daemon.db import make_engine, normalise_url
from tests.support import EXAMPLE_ACCOUNTS, config_text, run_cli


@pytest.mark.parametrize("written, meant", [
    ("postgres://desk@db.example/canceldesk", "postgresql+psycopg://desk@db.example/canceldesk"),
    ("postgresql://desk@127.0.0.1:5432/canceldesk?sslmode=require",
     "postgresql+psycopg://desk@127.0.0.1:5432/canceldesk?sslmode=require"),
    ("PostgreSQL://desk@db.example/canceldesk", "postgresql+psycopg://desk@db.example/canceldesk"),
    ("postgresql+psycopg://desk@db.example/canceldesk", "postgresql+psycopg://desk@db.example/canceldesk"),
    ("sqlite:////srv/canceldesk/canceldesk.db", "sqlite:////srv/canceldesk/canceldesk.db"),
])
def test_postgres_urls_mean_the_installed_driver(written, meant):
    assert normalise_url(written) == meant
    engine = make_engine(written)   # nothing connects yet: the driver is loaded, the URL resolved
    assert engine.url.render_as_string() == meant
    engine.dispose()


# The machine's PostgreSQL, in a fresh schema, named the way its own tools and hosts write it.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_postgres_url_works_end_to_end(tmp_path, database_url, scheme, capsys):
    url = scheme + database_url[database_url.index("://"):]
    config = tmp_path / "config.toml"
    config.write_text(config_text(url), encoding="utf-8")
    assert run_cli("--config", str(config), "accounts", "import", str(EXAMPLE_ACCOUNTS)) == 0
    assert capsys.readouterr().out.startswith("imported 3 accounts (3 created)")


def test_a_driver_that_is_not_installed_is_a_configuration_error(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(config_text("postgresql+nosuchdriver://desk@127.0.0.1/canceldesk"), encoding="utf-8")
    assert run_cli("--config", str(config), "accounts", "import", str(EXAMPLE_ACCOUNTS)) == 2
    err = capsys.readouterr().err
    assert err.startswith("configuration error: database.url: no database driver for 'postgresql+nosuchdriver'")
    assert "Traceback" not in err

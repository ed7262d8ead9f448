"""Fixtures for the command tests: a desk that trusts mx.agency.example, on both databases."""
from __future__ import annotations

import pytest

from tests.commands.helpers import command_desk


@pytest.fixture
def desk(database_url, tmp_path):
    built = command_desk(tmp_path, database_url)
    yield built
    built.engine.dispose()

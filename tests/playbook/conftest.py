"""Fixtures of the playbook tests: a desk that trusts our own server's authentication, a webhook."""
from __future__ import annotations

import pytest

from tests.playbook.helpers import WebhookReceiver, playbook_desk


@pytest.fixture
def desk(database_url, tmp_path):
    """The playbook desk on the test database (SQLite and PostgreSQL), Maildir in, .eml out."""
    built = playbook_desk(tmp_path, database_url)
    yield built
    built.engine.dispose()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()

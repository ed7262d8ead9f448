"""`canceldesk demo` (what `make run` starts from): it works twice, and the demo agrees with itself."""
from __future__ import annotations

import logging

from daemon import demo
from daemon.app import build_desk, make_source
from daemon.clock import ManualClock
from daemon.config import load
from daemon.watcher import Watcher
from tests.support import START, database_rows


def _handle_inbox(config_path):
    desk = build_desk(load(config_path), clock=ManualClock(START))
    try:
        report = Watcher(desk, make_source(desk.config)).run_once()
        return report, database_rows(desk)
    finally:
        desk.engine.dispose()


def test_a_second_demo_after_its_mail_was_handled_changes_nothing(tmp_path, caplog):
    folder = tmp_path / "var"
    config_path = demo.set_up(folder)
    first, handled = _handle_inbox(config_path)
    assert (first.stored, first.processed) == (5, 5) and first.sent > 0
    outbox = sorted(p.name for p in (folder / "outbox").iterdir())

    with caplog.at_level(logging.INFO, logger="daemon.demo"):
        assert demo.set_up(folder) == config_path
    assert "imported 3 accounts (3 unchanged)" in caplog.text
    assert not list((folder / "inbox" / "new").iterdir())  # the demo mail is not dropped in again

    again, after = _handle_inbox(config_path)
    assert (again.stored, again.processed, again.sent) == (0, 0, 0)
    assert after == handled
    assert sorted(p.name for p in (folder / "outbox").iterdir()) == outbox

"""Progress bars on long work: drawn on a terminal, silent when the output is a pipe or a journal."""
from __future__ import annotations

import io
import sys

from daemon.cli import main
from integrations.maildir import deliver
from tests.support import config_text, mail


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _backlog(tmp_path, count: int):
    config = tmp_path / "config.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'canceldesk.db'}"))
    for number in range(count):
        deliver(tmp_path / "inbox", mail(sender=f"Customer {number} <c{number}@example.org>",
                                         message_id=f"<backlog-{number}@example.org>"))
    return config


def test_run_once_shows_the_backlog_being_caught_up_on_a_terminal(tmp_path, monkeypatch):
    config = _backlog(tmp_path, 3)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["--config", str(config), "run", "--once"]) == 0
    drawn = terminal.getvalue()
    assert "processing mail [" in drawn and "] 3/3" in drawn and "] 1/3" in drawn


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path, monkeypatch):
    config = _backlog(tmp_path, 3)
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    assert main(["--config", str(config), "run", "--once"]) == 0
    assert "processing mail [" not in piped.getvalue() and "3 processed" in piped.getvalue()


def test_accounts_import_shows_its_progress_on_a_terminal(tmp_path, monkeypatch):
    from tests.support import EXAMPLE_ACCOUNTS

    config = _backlog(tmp_path, 0)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["--config", str(config), "accounts", "import", str(EXAMPLE_ACCOUNTS)]) == 0
    assert "importing accounts [" in terminal.getvalue() and "] 3/3" in terminal.getvalue()

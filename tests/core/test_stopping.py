"""Stopping `canceldesk run`: SIGTERM or Ctrl-C ends it soon in every state, losing nothing.

A real daemon process watches Dovecot with `poll_seconds` far above the bound each test
waits, so only a stop request that is really seen during the wait, the backlog or the
relay's refusals lets it end in time. Whatever the stop interrupted is done at the next
start: every customer gets an answer, and nothing stays in the INBOX.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import REPO, config_text, mail

# Far longer than any wait below: a daemon that waits for its poll interval fails the test.
POLL_SECONDS = 300
# Generous on a loaded machine; the daemon itself aims at about a second.
STOP_BOUND = 10


class Daemon:
    """`canceldesk run` in its own process, with its output kept in files."""

    def __init__(self, folder: Path, user, smtp) -> None:
        self.folder, self.user, self.smtp = folder, user, smtp
        self.config = folder / "config.toml"
        text = config_text(f"sqlite:///{folder / 'canceldesk.db'}",
                           mailbox_url=f"imap://{user.name}@127.0.0.1:{user.server.port}/INBOX?starttls=no",
                           smtp_url=f"smtp://127.0.0.1:{smtp.port}?starttls=no")
        self.config.write_text(text.replace("poll_seconds = 30", f"poll_seconds = {POLL_SECONDS}"))
        self.process: subprocess.Popen | None = None

    def start(self, *args: str) -> subprocess.Popen:
        env = {**os.environ, "CANCELDESK_IMAP_PASSWORD": self.user.password}
        with open(self.folder / "stdout", "ab") as out, open(self.folder / "stderr", "ab") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(self.config), "run", *args],
                                            cwd=REPO, env=env, stdout=out, stderr=err)
        return self.process

    def stop_with(self, *signals: signal.Signals, gap: float = 0.0) -> int:
        for sig in signals:
            if self.process.poll() is None:
                self.process.send_signal(sig)
            time.sleep(gap)
        try:
            return self.process.wait(timeout=STOP_BOUND)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"still running {STOP_BOUND} s after {[s.name for s in signals]}\n{self.stderr()}")

    def finish_with_run_once(self) -> None:
        assert self.start("--once").wait(timeout=120) == 0, self.stderr()

    def stderr(self) -> str:
        return (self.folder / "stderr").read_text(errors="replace")

    def outbox(self) -> list[tuple[str, int]]:
        try:
            with sqlite3.connect(f"file:{self.folder / 'canceldesk.db'}?mode=ro", uri=True) as db:
                return db.execute("SELECT status, attempts FROM outbox ORDER BY id").fetchall()
        except sqlite3.OperationalError:
            return []  # not created (or migrated) yet


@pytest.fixture
def daemon(tmp_path, dovecot_user, smtp_server):
    made = Daemon(tmp_path, dovecot_user, smtp_server)
    yield made
    if made.process is not None and made.process.poll() is None:
        made.process.kill()
        made.process.wait()


def customers(count: int) -> list[tuple[str, bytes]]:
    writers = [("Marta Nowak", "pl", "Proszę o anulowanie mojej subskrypcji.\n"),
               ("Jean Dupont", "fr", "Merci de résilier mon abonnement.\n"),
               ("Ann Lee", "en", "Please cancel my account, thanks.\n")]
    made = []
    for n in range(count):
        name, lang, body = writers[n % len(writers)]
        address = f"{lang}.customer{n}@freemail.example"
        made.append((address, mail(sender=f"{name} <{address}>", subject="Cancel", body=body)))
    return made


def answered(smtp, address: str) -> int:
    return sum(address in m.rcpt_tos for m in smtp.messages)


def inbox_is_empty(user) -> bool:
    return not list(user.maildir().glob("new/*")) and not list(user.maildir().glob("cur/*"))


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_while_idling(daemon, dovecot_user, smtp_server, sig):
    (address, raw), = customers(1)
    dovecot_user.append(raw)
    daemon.start()
    wait_until(lambda: answered(smtp_server, address), "the acknowledgment")
    time.sleep(1)  # past the sweep: the daemon now waits in IDLE
    assert daemon.stop_with(sig) == 0, daemon.stderr()
    assert "Traceback" not in daemon.stderr()


def started_on_a_backlog(daemon, user, smtp, count: int = 40) -> list[tuple[str, bytes]]:
    """The daemon started with `count` requests waiting, once the first is answered."""
    backlog = customers(count)
    for _address, raw in backlog:
        user.append(raw)
    daemon.start()
    wait_until(lambda: any(answered(smtp, a) for a, _ in backlog), "a first answer")
    return backlog


def test_stop_during_a_backlog_loses_nothing(daemon, dovecot_user, smtp_server):
    backlog = started_on_a_backlog(daemon, dovecot_user, smtp_server)
    assert daemon.stop_with(signal.SIGTERM) == 0, daemon.stderr()
    daemon.finish_with_run_once()
    assert [answered(smtp_server, address) for address, _ in backlog] == [1] * len(backlog)
    assert inbox_is_empty(dovecot_user)


def test_stop_while_the_relay_refuses_keeps_the_mail_for_later(daemon, dovecot_user, smtp_server):
    smtp_server.fail_next(1000, 451)
    (address, raw), = customers(1)
    dovecot_user.append(raw)
    daemon.start()
    wait_until(lambda: any(attempts for _status, attempts in daemon.outbox()), "a refused delivery")
    assert daemon.stop_with(signal.SIGTERM) == 0, daemon.stderr()
    assert {status for status, _ in daemon.outbox()} == {"pending"}
    assert answered(smtp_server, address) == 0
    assert inbox_is_empty(dovecot_user)


def test_second_ctrl_c_exits_at_once_without_a_traceback(daemon, dovecot_user, smtp_server):
    backlog = started_on_a_backlog(daemon, dovecot_user, smtp_server)
    # 0: the first signal's stop finished first; 130: the second signal's exit; -SIGINT: the
    # second came while the interpreter was already shutting down (its handlers gone), the
    # same outcome a shell reports as 130.
    assert daemon.stop_with(signal.SIGINT, signal.SIGINT, gap=0.05) in (0, 128 + signal.SIGINT, -signal.SIGINT)
    assert "Traceback" not in daemon.stderr()
    daemon.finish_with_run_once()
    # Cut short at any point, nobody is forgotten.
    assert all(answered(smtp_server, address) for address, _ in backlog)
    assert inbox_is_empty(dovecot_user)

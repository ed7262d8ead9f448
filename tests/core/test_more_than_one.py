"""More than one process: SQLite refuses a second, PostgreSQL shares the work with nothing doubled."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from daemon import timers
from daemon.intake import leader
from daemon.intake import pipeline
from daemon.app import build_desk, ensure_dirs, make_source
from daemon.clock import ManualClock
from daemon.config import from_text
from daemon.db import transaction
from daemon.models import (Case, CaseEvent, InboundMessage, MessageStatus, OutboxEntry, OutboxStatus, Timer,
                           TimerStatus)
from daemon.intake.watcher import Watcher
from integrations.maildir import deliver
from tests.pipeline.mailkit import sent
from tests.support import REPO, START, config_text, load_example_accounts, mail

CUSTOMERS = ["jane@acme.example", "bob@acme.example"]


def test_a_second_process_on_sqlite_is_refused_naming_the_first(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'desk.db'}"))
    held = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from daemon.config import load; from daemon.app import build_desk, ensure_dirs;"
        "from daemon.intake import leader; c = load(sys.argv[1]); ensure_dirs(c); d = build_desk(c);"
        "h = leader.single_process(d.engine); print('held', flush=True); time.sleep(60)"), str(config)],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert held.stdout.readline().strip() == "held"
        second = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "run", "--once"],
                                cwd=REPO, capture_output=True, text=True, timeout=120)
    finally:
        held.kill()
        held.wait()
        held.stdout.close()
    assert second.returncode == 1
    lines = [line for line in second.stderr.splitlines() if "another canceldesk" in line]
    assert len(lines) == 1 and f"(pid {held.pid})" in lines[0] and "desk.db" in lines[0]


def test_the_sqlite_lock_goes_with_its_holder(tmp_path):
    engine = build_desk(_config(tmp_path, f"sqlite:///{tmp_path / 'desk.db'}")).engine
    first = leader.single_process(engine)
    with pytest.raises(leader.AlreadyRunning, match=f"pid {os.getpid()}"):
        leader.single_process(engine)
    first.close()
    again = leader.single_process(engine)
    assert again is not None
    again.close()


def _config(tmp_path, url):
    config = from_text(config_text(url), tmp_path)
    ensure_dirs(config)
    return config


@pytest.fixture
def postgres_url(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("claims between processes are PostgreSQL's")
    return database_url


def test_one_leader_at_a_time_and_a_follower_takes_over(postgres_url, tmp_path):
    engine = build_desk(_config(tmp_path, postgres_url)).engine
    first, second = leader.Leadership(engine), leader.Leadership(engine)
    try:
        assert first.try_acquire() and not second.try_acquire()
        first._connection.invalidate()  # the leader's process dies: the server drops its connection
        first.release()
        # The server ends the dead connection's backend a moment later; a follower asks again.
        deadline = time.monotonic() + 20
        while not second.try_acquire():
            assert time.monotonic() < deadline, "the lock outlived its holder's connection"
            time.sleep(0.1)
        second.release()
    finally:
        engine.dispose()


def test_two_desks_on_one_database_double_nothing(postgres_url, tmp_path, request):
    """Two processes' worth of desks work through the same stored mail and outbox at once."""
    desks = [build_desk(_config(tmp_path / name, postgres_url)) for name in ("a", "b")]
    for desk in desks:
        request.addfinalizer(desk.engine.dispose)
    load_example_accounts(desks[0])
    requests = [mail(sender=f"Jane Doe <{CUSTOMERS[n % 2]}>", subject=f"Cancel {n}",
                     body=f"Please cancel our SEO service, reference {n}.\n") for n in range(16)]
    for raw in requests:
        deliver(desks[0].config.path("inbox"), raw)
    watcher = Watcher(desks[0], make_source(desks[0].config))
    watcher.connect()
    watcher._intake()  # stored, not processed: both desks now race for the same rows
    _at_once(lambda desk: pipeline.process_pending(desk), desks)
    _at_once(lambda desk: desk.dispatcher.deliver_due(), desks)
    with transaction(desks[0].factory) as session:
        statuses = Counter(session.scalars(select(InboundMessage.status)))
        cases = session.scalar(select(func.count(Case.id)))
        sent_entries = set(session.scalars(select(OutboxEntry.message_id).where(
            OutboxEntry.status == OutboxStatus.SENT)))
    assert statuses == {MessageStatus.PROCESSED: 16}
    assert cases == len(set(CUSTOMERS))  # one case per customer: later requests join it
    message_ids = [m["Message-ID"] for desk in desks for m in sent(desk)]
    assert sent_entries and sorted(message_ids) == sorted(sent_entries)  # each sent once, by one of them


def _at_once(work, desks) -> None:
    start = threading.Barrier(len(desks))
    errors = []

    def run(desk):
        start.wait()
        try:
            work(desk)
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(desk,)) for desk in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_two_schedulers_fire_each_due_timer_once(postgres_url, tmp_path, request):
    """A `run --once` next to the leader (or a leader that has not noticed it lost the lock): timers fire once."""
    clock = ManualClock(START)
    desks = [build_desk(_config(tmp_path / name, postgres_url), clock=clock) for name in ("a", "b")]
    for desk in desks:
        request.addfinalizer(desk.engine.dispose)
    load_example_accounts(desks[0])
    for n, sender in enumerate(CUSTOMERS):
        deliver(desks[0].config.path("inbox"), mail(sender=f"Jane Doe <{sender}>", subject=f"Cancel {n}",
                                                   body="Please cancel our SEO service.\n"))
    watcher = Watcher(desks[0], make_source(desks[0].config))
    watcher.connect()
    watcher._intake()
    pipeline.process_pending(desks[0])
    with transaction(desks[0].factory) as session:
        pending = set(session.scalars(select(Timer.id).where(Timer.status == TimerStatus.PENDING)))
    assert pending
    clock.advance(timedelta(days=400))  # everything pending is due
    fired: list = []
    _at_once(lambda desk: fired.extend(timers.run_due_timers(desk)), desks)
    ids = [f.timer_id for f in fired]
    assert len(ids) == len(set(ids)) and pending <= set(ids)
    with transaction(desks[0].factory) as session:
        events = Counter(data.get("timer_id") for data in session.scalars(
            select(CaseEvent.data).where(CaseEvent.kind == "timer")))
    assert events and set(events.values()) == {1}


def test_a_failure_elsewhere_never_overwrites_a_processed_mail(postgres_url, tmp_path, request):
    """One process processed the mail; another, whose try failed, must not turn it into a failure."""
    desk = build_desk(_config(tmp_path, postgres_url))
    request.addfinalizer(desk.engine.dispose)
    load_example_accounts(desk)
    deliver(desk.config.path("inbox"), mail(body="Please cancel our SEO service.\n"))
    watcher = Watcher(desk, make_source(desk.config))
    watcher.connect()
    watcher._intake()
    pipeline.process_pending(desk)
    with transaction(desk.factory) as session:
        (row,) = session.scalars(select(InboundMessage)).all()
    assert row.status is MessageStatus.PROCESSED
    assert pipeline._record_failure(desk, row.id, "Traceback ...\nRuntimeError: the other process's try") is None
    assert pipeline._record_failure(desk, row.id, "set aside: too deep", give_up=True) is None
    with transaction(desk.factory) as session:
        again = session.get(InboundMessage, row.id)
        assert (again.status, again.attempts, again.error) == (MessageStatus.PROCESSED, row.attempts, row.error)


def test_the_leaders_session_finds_a_vanished_machine_within_the_takeover_time(postgres_url, tmp_path):
    """A machine that loses power closes nothing: the server's keepalive on the lock's session must end it."""
    engine = build_desk(_config(tmp_path, postgres_url)).engine
    leadership = leader.Leadership(engine)
    try:
        assert leadership.try_acquire()
        rows = leadership._connection.exec_driver_sql(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN ('tcp_keepalives_idle', "
            "'tcp_keepalives_interval', 'tcp_keepalives_count', 'tcp_user_timeout')").all()
        leadership.release()
    finally:
        engine.dispose()
    seconds = {name: int(setting) / (1000 if unit == "ms" else 1) for name, setting, unit in rows}
    if seconds["tcp_keepalives_idle"] == 0 and "127.0.0.1" not in postgres_url and "localhost" not in postgres_url:
        pytest.skip("a Unix socket has no TCP keepalive")
    noticed = seconds["tcp_keepalives_idle"] + seconds["tcp_keepalives_interval"] * seconds["tcp_keepalives_count"]
    assert 0 < noticed + leader.FOLLOW_SECONDS <= 30
    assert 0 < seconds["tcp_user_timeout"] + leader.FOLLOW_SECONDS <= 30


def test_a_busy_follower_still_asks_for_the_lock_between_small_batches(postgres_url, tmp_path, monkeypatch, request):
    """A follower working through a backlog must not sit on it past the takeover bound."""
    desk = build_desk(_config(tmp_path, postgres_url))
    request.addfinalizer(desk.engine.dispose)
    load_example_accounts(desk)
    total = 3 * leader.FOLLOW_BATCH
    for n in range(total):
        deliver(desk.config.path("inbox"), mail(sender=f"Jane Doe <{CUSTOMERS[n % 2]}>", subject=f"Cancel {n}",
                                               body="Please cancel our SEO service.\n"))
    watcher = Watcher(desk, make_source(desk.config))
    watcher.connect()
    watcher._intake()
    watcher.source.close()
    holder = leader.Leadership(desk.engine)
    assert holder.try_acquire()
    events: list[str] = []
    real_try, real_one = leader.Leadership.try_acquire, pipeline.process_one

    def asking(self):
        if events.count("mail") >= leader.FOLLOW_BATCH:
            holder.release()  # the leader dies once the follower is busy
        events.append("ask")
        return real_try(self)

    def one(desk, message_id, answer=None):
        events.append("mail")
        return real_one(desk, message_id, answer)

    monkeypatch.setattr(leader.Leadership, "try_acquire", asking)
    monkeypatch.setattr(pipeline, "process_one", one)
    leader.serve(desk, lambda: events.append("lead"))
    assert "lead" in events
    assert events[:events.index("lead")].count("mail") < total  # it led before it had worked through it all

"""The APScheduler wiring: one job per pending timer, with its id and run date; re-registered
at start-up without duplicates; the SQLAlchemy job store in the desk's own database; a
timer that fell due while the daemon was stopped runs once when it starts again.

The schedulers here really run (their thread on the wall clock) while the desk's clock
stands at START, whatever today's date: only what is due by the desk's clock may fire."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, func, select, update

from daemon import scheduler
from daemon.clock import SystemClock
from daemon.db import transaction
from daemon.models import SchedulerJob, Timer, TimerStatus
from daemon.workflow import Trigger
from tests.support import START
from tests.commands.helpers import command_desk
from tests.timers.helpers import BUSINESS, fire, mails, pending, request, step, timer_desk

LONG_AGO = datetime(2000, 1, 3, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def desk(tmp_path, database_url):
    built = timer_desk(tmp_path, database_url, START)
    yield built
    scheduler.stop(built)
    built.engine.dispose()


def _jobs(sched) -> dict[str, datetime]:
    """Each job's moment on the desk's clock."""
    return {job.id: job.trigger.run_date - sched.offset for job in sched.get_jobs()}


def _timer_ids(desk) -> dict[str, datetime]:
    with transaction(desk.factory) as session:
        rows = session.scalars(select(Timer).where(Timer.status == TimerStatus.PENDING))
        return {scheduler.job_id(t.id): t.due_at for t in rows}


def test_jobs_follow_the_pending_timers_and_restart_without_duplicates(desk):
    first = request(desk)
    sched = scheduler.start(desk, scheduler.make_scheduler(desk, persistent=False))
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 2
    request(desk, "GLOBEX")
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 4, "added once the rows were committed"
    step(desk, first, Trigger.SAVED)
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 2, "ended timers leave no job behind"
    scheduler.stop(desk)
    again = scheduler.start(desk, scheduler.make_scheduler(desk, persistent=False))
    assert _jobs(again) == _timer_ids(desk) and len(again.get_jobs()) == 2


def test_sqlalchemy_job_store_in_the_desks_database_survives_a_restart(desk):
    request(desk)
    scheduler.start(desk)
    scheduler.stop(desk)
    with transaction(desk.factory) as session:
        stored = set(session.scalars(select(SchedulerJob.id)))
        # A job left over from a timer that ended while the daemon was down.
        session.add(SchedulerJob(id="timer:999999", next_run_time=0.0, job_state=b"stale"))
    assert stored == set(_timer_ids(desk))
    sched = scheduler.start(desk)
    assert _jobs(sched) == _timer_ids(desk)
    with transaction(desk.factory) as session:
        assert session.scalar(select(func.count()).select_from(SchedulerJob)) == 2


def test_a_timer_due_while_stopped_fires_once_when_the_daemon_starts(desk):
    ref = request(desk)
    request(desk, "GLOBEX")
    with transaction(desk.factory) as session:
        # The daemon was down over ACME's SLA deadline: that timer's moment is long gone.
        overdue = session.scalar(select(Timer.id).where(Timer.kind == "sla_call_scheduled").order_by(Timer.id))
        session.execute(update(Timer).where(Timer.id == overdue).values(due_at=LONG_AGO))
    done, ran = threading.Event(), []
    sched = scheduler.make_scheduler(desk)
    sched.add_listener(lambda event: (ran.append(event.job_id), done.set()), mask=_executed())
    scheduler.start(desk, sched)
    assert done.wait(15), "the overdue timer did not run"
    # Jobs due together are submitted in one pass: had any other been due, it ran with this one.
    assert ran == [scheduler.job_id(overdue)], "only the timer due by the desk's clock"
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 3
    scheduler.stop(desk)
    fire(desk)
    assert len(mails(desk, to="amy@agency.example", subject="no call scheduled")) == 1
    assert ("sla_call_scheduled", 0) not in pending(desk, ref)
    restarted = scheduler.start(desk, paused=True)
    assert _jobs(restarted) == _timer_ids(desk), "only the timers still pending"
    fire(desk)
    assert len(mails(desk, to="amy@agency.example", subject="no call scheduled")) == 1


def _executed() -> int:
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

    return EVENT_JOB_EXECUTED | EVENT_JOB_ERROR


@pytest.fixture
def wall_clock_desk(tmp_path, database_url):
    # On the system clock the jobs' offset is zero at every start; a hand-set clock standing
    # still would give each start a new offset (the wall clock moved on), so every job.
    built = command_desk(tmp_path, database_url, clock=SystemClock(), extra=BUSINESS)
    yield built
    scheduler.stop(built)
    built.engine.dispose()


def test_a_restart_writes_only_the_jobs_that_differ(wall_clock_desk):
    """Start-up reads the store in one pass: a restart over an unchanged store writes
    nothing, a timer moved while stopped is re-timed, a job without a timer goes."""
    desk = wall_clock_desk
    request(desk)
    request(desk, "GLOBEX")
    scheduler.start(desk, paused=True)
    scheduler.stop(desk)
    moved, gone = sorted(_timer_ids(desk))[:2]
    with transaction(desk.factory) as session:
        session.execute(update(Timer).where(Timer.id == int(moved.split(":")[1]))
                        .values(due_at=datetime(2027, 2, 1, 9, 0, tzinfo=timezone.utc)))
        session.execute(update(Timer).where(Timer.id == int(gone.split(":")[1]))
                        .values(status=TimerStatus.DONE))
    writes = []

    def count_writes(conn, cursor, statement, *args):
        verb = statement.split()[0].upper()
        if "apscheduler_jobs" in statement and verb in ("INSERT", "UPDATE", "DELETE"):
            writes.append(verb)

    event.listen(desk.engine, "before_cursor_execute", count_writes)
    try:
        sched = scheduler.start(desk, paused=True)
    finally:
        event.remove(desk.engine, "before_cursor_execute", count_writes)
    # The moved job: an INSERT refused as a duplicate, then its UPDATE; the gone one: a DELETE.
    # The two unchanged jobs cost nothing (every job was written again before).
    assert sorted(writes) == ["DELETE", "INSERT", "UPDATE"]
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 3

"""The APScheduler wiring: one job per pending timer, with its id and run date; re-registered
at start-up without duplicates; told of a timer only when its transaction commits, not
when a savepoint is released; a timer that fell due while the daemon was stopped runs
once when it starts again.

The schedulers here really run (their thread on the wall clock) while the desk's clock
stands at START, whatever today's date: only what is due by the desk's clock may fire."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, update

from daemon import timers
from daemon.timers import scheduler
from daemon.db import transaction
from daemon.models import Case, Timer, TimerStatus
from daemon.cases.workflow import Trigger
from tests.support import START
from tests.timers.helpers import fire, mails, pending, request, step, timer_desk

LONG_AGO = datetime(2000, 1, 3, 9, 0, tzinfo=timezone.utc)


class LineFailed(Exception):
    """A #command line that fails after changing timers."""


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
    sched = scheduler.start(desk, scheduler.make_scheduler(desk))
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 2
    request(desk, "GLOBEX")
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 4, "added once the rows were committed"
    step(desk, first, Trigger.SAVED)
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 2, "ended timers leave no job behind"
    scheduler.stop(desk)
    again = scheduler.start(desk, scheduler.make_scheduler(desk))
    assert _jobs(again) == _timer_ids(desk) and len(again.get_jobs()) == 2


def test_a_savepoint_schedules_nothing_until_its_transaction_commits(desk):
    sched = scheduler.start(desk, scheduler.make_scheduler(desk))
    reference = request(desk)
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        with session.begin_nested():   # as each #command line runs
            kept = timers.schedule(desk, session, case, "winback", START + timedelta(days=90))
        assert scheduler.job_id(kept.id) not in _jobs(sched), "released, but the transaction may still roll back"
        with pytest.raises(LineFailed), session.begin_nested():
            timers.schedule(desk, session, case, "winback", START + timedelta(days=180), seq=1)
            timers.cancel_pending(desk, session, case, "a line that failed", kinds=("sla_call_scheduled",))
            raise LineFailed("its savepoint rolls back")
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 3, "the kept timer, and the two it did not end"


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
    assert done.wait(60), "the overdue timer did not run"   # a bound for a failing test only
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


def test_a_restart_registers_the_timers_as_they_are_and_writes_nothing(desk):
    """The jobs live in memory: start-up reads the timers and writes no row (a job store
    in the database would be a second writer beside the watcher); a timer moved while the
    daemon was stopped is registered at its new moment, one that ended has no job."""
    request(desk)
    request(desk, "GLOBEX")
    scheduler.start(desk)
    scheduler.stop(desk)
    moved, gone = sorted(_timer_ids(desk))[:2]
    with transaction(desk.factory) as session:
        session.execute(update(Timer).where(Timer.id == int(moved.split(":")[1]))
                        .values(due_at=datetime(2027, 2, 1, 9, 0, tzinfo=timezone.utc)))
        session.execute(update(Timer).where(Timer.id == int(gone.split(":")[1]))
                        .values(status=TimerStatus.DONE))
    writes = []

    def count_writes(conn, cursor, statement, *args):
        if statement.split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(desk.engine, "before_cursor_execute", count_writes)
    try:
        sched = scheduler.start(desk)
    finally:
        event.remove(desk.engine, "before_cursor_execute", count_writes)
    assert writes == []
    assert _jobs(sched) == _timer_ids(desk) and len(_jobs(sched)) == 3
    assert _jobs(sched)[moved] == datetime(2027, 2, 1, 9, 0, tzinfo=timezone.utc)


def test_many_timers_taken_at_once_are_jobs_like_any_other(desk):
    """Start-up hands the store all pending timers in one pass; the jobs are the ones
    `add_job` would make, kept in the store's order, so finding and removing one works."""
    sched = scheduler.start(desk, scheduler.make_scheduler(desk), paused=True)
    due = {n: START + timedelta(days=1 + n % 7, minutes=n) for n in range(1, 301)}
    for timer_id in (5, 17, 400):  # one at a time first, as new timers come in after commits
        scheduler.add_job(sched, timer_id, START + timedelta(days=30))
    store = sched._lookup_jobstore("default")
    store.put_timers({n: sched.run_date(moment) for n, moment in due.items()})

    jobs = sched.get_jobs()
    assert [job.id for job in jobs] == [scheduler.job_id(n) for n in sorted({*due, 400},
                                        key=lambda n: (due.get(n, START + timedelta(days=30)), scheduler.job_id(n)))]
    assert _jobs(sched) == {**{scheduler.job_id(n): d for n, d in due.items()},
                            scheduler.job_id(400): START + timedelta(days=30)}
    job = sched.get_job(scheduler.job_id(17))
    assert (job.func, job.args, job.misfire_grace_time, job.coalesce) == (scheduler.fire, (17,), None, True)
    for n in [*due, 400]:
        scheduler.remove_job(sched, n)
        assert sched.get_job(scheduler.job_id(n)) is None
    assert sched.get_jobs() == []

"""The clock for timers: APScheduler 3 wakes the daemon when a timer falls due.

The `timers` table is the truth; a job only says "at due_at, run timer N". Jobs have
stable ids (`timer:N`), are one-off `date` jobs in UTC (never cron: across a DST change a
wall-clock trigger fires twice or never) that call the module-level `fire` with the timer id,
and have no misfire limit, so a timer due while the daemon was down runs when it comes
back. They live in memory: at every start-up the pending timers are registered afresh,
so a job store in the database would only be a second writer racing the daemon's own
threads (SQLite says "database is locked"). New and ended timers reach the scheduler
once their transaction commits. One scheduler per database: two would each fire every job.

APScheduler only knows the wall clock, the desk may run on another (a test's hand-moved
one): a job's run date is its timer's due moment moved by the difference between the two,
taken when the jobs are synced. So a job wakes the daemon when the desk's clock reaches
its timer, never because the wall clock ran ahead; with the system clock the difference
is zero. Whether a timer is due is decided by `timers.run_timer`, on the desk's clock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import event

from daemon import timers
from daemon.db import transaction

if TYPE_CHECKING:
    from daemon.desk import Desk


log = logging.getLogger(__name__)

JOB_PREFIX = "timer:"

# The desk the running scheduler serves: jobs carry only ids, so `fire` finds it here.
_desk = None


def job_id(timer_id: int) -> str:
    return f"{JOB_PREFIX}{timer_id}"


class TimerScheduler(BackgroundScheduler):
    """A BackgroundScheduler whose job run dates are given on the desk's clock."""

    def __init__(self, clock, **options) -> None:
        super().__init__(**options)
        self.clock = clock
        self.offset = timedelta(0)

    def align(self) -> None:
        """Take the difference between the wall clock and the desk's, as it is now."""
        # Whole seconds: the system clock read twice differs by microseconds, which must not
        # wake a job a moment before its timer is due.
        drift = datetime.now(UTC) - self.clock.now()
        self.offset = timedelta(seconds=round(drift.total_seconds()))

    def run_date(self, due_at: datetime) -> datetime:
        """The wall-clock moment at which the desk's clock reaches `due_at`."""
        return due_at + self.offset


class TimerJobStore(MemoryJobStore):
    """APScheduler's memory job store, able to take thousands of timer jobs in one pass.

    `add_job` checks the function's signature and inserts into a sorted list for every
    job: seconds for ten thousand timers at start-up. `put_timers` builds the jobs as
    APScheduler's own persistent stores restore theirs (`Job.__setstate__`), then sorts
    once, in the order the memory store keeps (run time, then id).
    """

    _jobs: list[tuple[Job, float | None]]  # the memory store's own: (job, run timestamp), sorted

    def put_timers(self, run_dates: dict[int, datetime]) -> None:
        keep = [(job, stamp) for job, stamp in self._jobs if _timer_of(job.id) not in run_dates]
        made = [
            (job, datetime_to_utc_timestamp(job.next_run_time))
            for job in (self._timer_job(timer_id, when) for timer_id, when in run_dates.items())
        ]
        self._jobs = sorted(keep + made, key=lambda pair: (math.inf if pair[1] is None else pair[1], pair[0].id))
        self._jobs_index = {job.id: (job, stamp) for job, stamp in self._jobs}

    def _timer_job(self, timer_id: int, run_date: datetime) -> Job:
        job = Job.__new__(Job)
        job.__setstate__(
            {
                "version": 1,
                "id": job_id(timer_id),
                "func": _FIRE,
                "trigger": DateTrigger(run_date),
                "executor": "default",
                "args": (timer_id,),
                "kwargs": {},
                "name": f"timer {timer_id}",
                "next_run_time": run_date,
                **_JOB_OPTIONS,
            }
        )
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job


def _timer_of(job_name: str) -> int | None:
    return int(job_name[len(JOB_PREFIX) :]) if job_name.startswith(JOB_PREFIX) else None


# A late one-off job still runs, once: the default grace of 1 s would drop it silently.
_JOB_OPTIONS = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


def make_scheduler(desk: Desk) -> TimerScheduler:
    return TimerScheduler(
        desk.clock,
        timezone=UTC,
        jobstores={"default": TimerJobStore()},
        job_defaults=_JOB_OPTIONS,
    )


def start(desk: Desk, scheduler: TimerScheduler | None = None, *, paused: bool = False) -> TimerScheduler:
    """Start serving `desk`: follow new timers as they commit, register the pending ones."""
    global _desk
    scheduler = scheduler or make_scheduler(desk)
    _desk = desk
    # The commit listeners change only while no timer job runs (added before the scheduler's
    # threads start, removed after they stop): SQLAlchemy's event registry is not made to
    # change while another thread opens sessions.
    _follow_commits(desk, scheduler)
    scheduler.start(paused=paused)
    sync(desk, scheduler)
    desk.scheduler = scheduler
    return scheduler


def stop(desk: Desk) -> None:
    global _desk
    scheduler, desk.scheduler = desk.scheduler, None
    if scheduler is not None:
        scheduler.shutdown(wait=True)
    _unfollow_commits(desk)
    _desk = None


_FIRE = f"{__name__}:fire"


def fire(timer_id: int) -> None:
    """The one job function: run timer `timer_id` if it still applies."""
    if _desk is None:
        log.error("timer %s fired with no desk to serve it", timer_id)
        return
    timers.run_timer(_desk, timer_id)


def sync(desk: Desk, scheduler: TimerScheduler) -> int:
    """Make the job store match the pending timers: add or move each, drop the rest.

    Also after the desk's clock jumped (a test moving its hand-set clock): every job is
    re-timed, and what is now due runs at once.
    """
    scheduler.align()
    with transaction(desk.factory) as session:
        pending = timers.pending_due(session)
    registered = {job.id: getattr(job.trigger, "run_date", None) for job in scheduler.get_jobs()}
    moved = {
        i: scheduler.run_date(due) for i, due in pending.items() if registered.get(job_id(i)) != scheduler.run_date(due)
    }
    store = scheduler._lookup_jobstore("default")
    if moved and isinstance(store, TimerJobStore):
        with scheduler._jobstores_lock:
            store.put_timers(moved)
        scheduler.wakeup()
    else:  # a scheduler built elsewhere: one job at a time
        for timer_id, run_date in moved.items():
            add_job(scheduler, timer_id, run_date - scheduler.offset)
    wanted = {job_id(i) for i in pending}
    for stale in [i for i in registered if i.startswith(JOB_PREFIX) and i not in wanted]:
        remove_job(scheduler, int(stale[len(JOB_PREFIX) :]))
    log.info("scheduler: %s pending timers registered (%s added or moved)", len(pending), len(moved))
    return len(pending)


def add_job(scheduler: TimerScheduler, timer_id: int, due_at: datetime) -> None:
    scheduler.add_job(
        fire,
        "date",
        run_date=scheduler.run_date(due_at),
        args=[timer_id],
        id=job_id(timer_id),
        name=f"timer {timer_id}",
        replace_existing=True,
    )


def remove_job(scheduler: TimerScheduler, timer_id: int) -> None:
    try:
        scheduler.remove_job(job_id(timer_id))
    except JobLookupError:
        pass  # already run, or never registered: either way nothing is left to remove


def _follow_commits(desk: Desk, scheduler: TimerScheduler) -> None:
    """Tell the scheduler about timers only once their rows are committed.

    A savepoint's release is not a commit (the transaction around it may still roll
    back), and a savepoint rolled back takes its timers' changes with it.
    """

    def after_commit(session) -> None:
        if session.in_nested_transaction():
            return
        for timer, due_at in timers.committed(session, timers.SCHEDULED_KEY):
            add_job(scheduler, timers.timer_id(timer), due_at)
        for timer_id in timers.committed(session, timers.ENDED_KEY):
            remove_job(scheduler, timer_id)

    def after_soft_rollback(session, previous) -> None:
        timers.forget(session, previous)

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("after_commit", after_commit),
        ("after_soft_rollback", after_soft_rollback),
    ]
    for name, listener in listeners:
        event.listen(desk.factory, name, listener)
    desk.scheduler_listeners = listeners


def _unfollow_commits(desk: Desk) -> None:
    listeners, desk.scheduler_listeners = desk.scheduler_listeners, []
    for name, listener in listeners:
        event.remove(desk.factory, name, listener)

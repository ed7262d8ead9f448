"""Every kind of timer the desk schedules has a job that runs when it fires."""

from __future__ import annotations

from daemon import timers
from daemon.timers import jobs


def test_every_timer_kind_has_a_job():
    assert set(jobs.JOBS) == set(timers.LABELS)


def test_the_desk_holds_the_jobs(desk):
    assert desk.timer_jobs is jobs.JOBS

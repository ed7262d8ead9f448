"""The weekly digest: due on the desk's clock, once a week, to the managers, through real SMTP."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from daemon import timers
from daemon.views import digest
from tests.playbook.helpers import playbook_desk
from tests.views.seed import seed

MANAGERS = '[report]\ndigest_roles = ["director", "general_manager"]\n'


def test_digest_goes_to_the_managers_once_a_week_with_the_seeded_figures(database_url, tmp_path, smtp_server):
    (tmp_path / "seed").mkdir()
    (tmp_path / "daemon").mkdir()
    seeded = playbook_desk(tmp_path / "seed", database_url)
    seed(seeded)                        # ends on Tuesday 8 December 2026, 18:00
    desk = playbook_desk(tmp_path / "daemon", database_url, clock=seeded.clock, extra=MANAGERS,
                         smtp_url=f"smtp://127.0.0.1:{smtp_server.port}?starttls=no")
    end = datetime(2026, 12, 22, 12, 0, tzinfo=timezone.utc)
    while desk.clock.now() < end:       # two weeks, hour by hour, as the running daemon would
        desk.clock.advance(timedelta(hours=1))
        timers.run_due_timers(desk)
        digest.run_due(desk)
        desk.dispatcher.deliver_due()
    digests = [m for m in smtp_server.messages if "Cancellations this week" in str(m.message["Subject"])]
    assert sorted((m.rcpt_tos[0], str(m.message["Subject"]).rsplit("(", 1)[1]) for m in digests) == [
        ("dana@agency.example", "2026-W51)"), ("dana@agency.example", "2026-W52)"),
        ("gary@agency.example", "2026-W51)"), ("gary@agency.example", "2026-W52)")]   # not W50: a day late
    first = next(m.message for m in digests if "W51" in str(m.message["Subject"]))
    # The week of 7 to 14 December: CX-2026-0004 (partially saved) and CX-2026-0005 (waiting) came in.
    assert str(first["Subject"]) == "Cancellations this week: 2 new, 1 saved, 0 lost (2026-W51)"
    assert first["Date"] and "14 Dec 2026 08:00:00" in str(first["Date"])       # Monday 08:00 in London
    body = first.get_body(("plain",)).get_content()
    assert "Requests: 5   saved 1, partially saved 1, paused 1, changed 0, lost 1" in body
    assert "Top reasons: results (2), budget (1), price (1)" in body
    page, = [p for p in first.iter_attachments() if p.get_content_type() == "text/html"]
    assert page.get_filename() == "cancellations-2026-W51.html"
    assert 'data-value="' in page.get_content() and "Initech Plumbing (CX-2026-0003)" in page.get_content()
    assert digest.run_due(desk) is None and digest.send_if_due(desk).recipients == ()   # once: already sent
    seeded.engine.dispose()
    desk.engine.dispose()


def test_the_running_daemon_wakes_the_digest_at_the_next_slot_on_the_desks_clock(database_url, tmp_path):
    from daemon.timers import scheduler
    from tests.support import build_test_desk

    desk = build_test_desk(tmp_path, database_url, extra=MANAGERS)
    clock_scheduler = scheduler.make_scheduler(desk)
    clock_scheduler.start(paused=True)
    try:
        digest.schedule(desk, clock_scheduler)      # the desk's clock: Monday 23 November 2026, 09:00
        job = clock_scheduler.get_job(digest.JOB_ID)
        due = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)   # next Monday 08:00, London = UTC in winter
        translate = getattr(clock_scheduler, "run_date", lambda moment: moment)
        assert job.func is digest.fire and job.trigger.run_date == translate(due)
        assert digest.run_due(desk) is None                  # the slot's digest went out with the start
    finally:
        clock_scheduler.shutdown(wait=False)
        desk.engine.dispose()


def test_no_digest_unless_managers_are_configured(desk):
    assert digest.recipients(desk) == () and digest.run_due(desk) is None

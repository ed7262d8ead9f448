"""The weekly digest: headline figures mailed to managers, the HTML report attached.

When it is due is decided on the desk's clock: the digest of a week goes out at the first
chance at or after `[report] digest_day` and `digest_time` in the desk's time zone. Each
week's mail to each manager has a dedupe key in the outbox (`digest:2026-W49:ADDRESS`), so
however often `send_if_due` is called, and however the daemon restarts, a manager gets one
digest a week. A digest more than a day late (the daemon was down all Monday, or was
installed mid-week) is skipped rather than sent out of the blue; the next comes on time.
The running daemon wakes `run_due` at each slot (see `schedule`); `run --once` calls it
too, and `report --send-digest` sends this week's by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from daemon.db import transaction
from daemon.mail import outbox
from daemon.mail.compose import compose
from daemon.models import OutboxEntry
from daemon.timers import scheduler
from daemon.views import report_render
from daemon.views.caseviews import case_row, load_cases
from daemon.views.report import NO_REASON, SAVED_OUTCOMES, build_report

if TYPE_CHECKING:
    from daemon.desk import Desk

log = logging.getLogger(__name__)
TEMPLATE = "weekly_digest"
GRACE = timedelta(days=1)
JOB_ID = "digest"


@dataclass(frozen=True)
class DigestSent:
    week: str
    recipients: tuple[str, ...]
    reason: str = ""

    def describe(self) -> str:
        if self.recipients:
            return f"digest {self.week} queued for {', '.join(self.recipients)}"
        return f"digest {self.week} not sent: {self.reason}"


def slot(desk: Desk, now: datetime) -> datetime:
    """The latest digest moment at or before `now` (aware UTC), in the desk's zone's calendar."""
    zone = ZoneInfo(desk.config.desk.timezone)
    local = now.astimezone(zone)
    hour, minute = desk.config.report.digest_hour_minute
    days_back = (local.weekday() - desk.config.report.digest_weekday) % 7
    day = (local - timedelta(days=days_back)).date()
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    if moment > local:
        moment -= timedelta(days=7)
    return moment.astimezone(ZoneInfo("UTC"))


def week_name(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def recipients(desk: Desk) -> tuple[str, ...]:
    found = [m.email for role in desk.config.report.digest_roles for m in desk.staff.with_role(role)]
    return tuple(dict.fromkeys(found))


def run_due(desk: Desk) -> DigestSent | None:
    """Send the digest of the current slot if it is due on the desk's clock and not yet sent."""
    now = desk.clock.now()
    start = slot(desk, now)
    if now - start > GRACE:
        return None
    week = week_name(start.astimezone(ZoneInfo(desk.config.desk.timezone)))
    with transaction(desk.factory) as session:
        sent = set(
            session.scalars(
                select(OutboxEntry.dedupe_key).where(
                    OutboxEntry.dedupe_key.in_([_dedupe(week, a) for a in recipients(desk)])
                )
            )
        )
    if len(sent) == len(recipients(desk)):
        return None
    return send_if_due(desk)


def send_if_due(desk: Desk) -> DigestSent:
    """Queue this slot's digest for every manager who has not had it yet."""
    now = desk.clock.now()
    start = slot(desk, now)
    week = week_name(start.astimezone(ZoneInfo(desk.config.desk.timezone)))
    to = recipients(desk)
    if not to:
        return DigestSent(week, (), f"nobody has the roles {', '.join(desk.config.report.digest_roles)}")
    with transaction(desk.factory) as session:
        report = build_report(desk, session)
        context = _context(desk, session, report, start, week)
        rendered = desk.renderer.render(TEMPLATE, context)
        page = report_render.html_page(report, f"Cancellations: what we learned ({week})").encode("utf-8")
        queued = tuple(
            address for address in to if _queue(desk, session, rendered, address, page, week, now) is not None
        )
    if queued:
        log.info("weekly digest %s queued for %s", week, ", ".join(queued))
    return DigestSent(week, queued, "" if queued else "already sent this week")


def _queue(desk: Desk, session, rendered, address: str, page: bytes, week: str, now: datetime):
    msg = compose(desk.config.desk, rendered, [address], now=now)
    msg.add_attachment(page, maintype="text", subtype="html", filename=f"cancellations-{week}.html")
    return outbox.enqueue_mail(session, msg, dedupe_key=_dedupe(week, address), now=now)


def _dedupe(week: str, address: str) -> str:
    return f"digest:{week}:{address}"


def _context(desk: Desk, session, report, start: datetime, week: str) -> dict:
    this_week = [f for f in report.cases if start - timedelta(days=7) <= f.opened_at < start]
    rows = [case_row(session, case, desk.clock.now()) for case in load_cases(session)]
    in_progress = [r for r in rows if r["waiting_for"]]
    named = [r for r in report.reasons() if r["category"] != NO_REASON]
    reasons = ", ".join(f"{r['category']} ({r['cases']})" for r in named[:3])
    end = start.astimezone(ZoneInfo(desk.config.desk.timezone))
    style = desk.renderer.staff_sentences
    return {
        "desk": desk.config.desk,
        "week": week,
        "period": f"{style.day(end - timedelta(days=7))} to {style.day(end)}",
        "week_requests": len(this_week),
        "week_saved": sum(f.outcome in SAVED_OUTCOMES for f in this_week),
        "week_lost": sum(f.outcome == "lost" for f in this_week),
        "open_cases": len(in_progress),
        "overdue_cases": sum(r["overdue"] for r in in_progress),
        "headline": report_render.headline_lines(report),
        "top_reasons": reasons,
    }


def next_slot(desk: Desk, now: datetime) -> datetime:
    return slot(desk, now) + timedelta(days=7)


def schedule(desk: Desk, scheduler) -> None:
    """Send what is due now, and have the scheduler wake `fire` at the next slot.

    The slot is a moment on the desk's clock; a scheduler that runs on another clock says
    how to translate it (`run_date`), as for every timer.
    """
    run_due(desk)
    due = next_slot(desk, desk.clock.now())
    run_date = scheduler.run_date(due) if hasattr(scheduler, "run_date") else due
    scheduler.add_job(fire, "date", run_date=run_date, id=JOB_ID, name="weekly digest", replace_existing=True)


def fire() -> None:
    """The scheduler's job: send the digest, deliver it, and wake again next week."""

    desk = scheduler._desk  # the desk the running scheduler serves (jobs carry no objects)
    if desk is None:
        log.error("the weekly digest fired with no desk to serve it")
        return
    schedule(desk, desk.scheduler)
    desk.dispatcher.deliver_due()

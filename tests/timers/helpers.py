"""Helpers for the timer tests: a desk on a hand-moved clock, requests, staff steps, mail out.

Staff steps are driven with `workflow.advance` and the decision rows the playbook's
commands write, so these tests depend on the timetable, not on command parsing; the
whole-life test drives the same steps with real #commands through real servers.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from daemon import timers
from daemon.clock import ManualClock
from daemon.db import transaction
from daemon.models import Case, OffboardingItem, ServiceDecision, Timer, TimerStatus
from daemon.cases.workflow import Trigger, advance, can_advance
from tests.commands.helpers import command_desk, run, sent
from tests.support import mail

BUSINESS = """
[business]
timezone = "Europe/London"
holidays_country = "GB"
holidays_subdivision = "ENG"
"""
CUSTOMERS = {"ACME": "Jane Doe <jane@acme.example>", "GLOBEX": "Hank Scorpio <hank@globex.example>"}


def timer_desk(tmp_path, database_url, start: datetime, *, extra: str = "", **kwargs):
    return command_desk(tmp_path, database_url, clock=ManualClock(start), extra=BUSINESS + extra, **kwargs)


def request(desk, account: str = "ACME", body: str = "Please cancel our SEO service.\n") -> str:
    """A written request from the account's contact, sent now; returns the case reference."""
    run(desk, mail(sender=CUSTOMERS[account], body=body, date=desk.clock.now()))
    with transaction(desk.factory) as session:
        return session.scalars(select(Case.reference).order_by(Case.id.desc())).first()


def step(desk, reference: str, trigger: Trigger, actor: str = "amy@agency.example") -> None:
    """One staff step, as the playbook's commands take it."""
    with transaction(desk.factory) as session:
        case = _case(session, reference)
        if can_advance(case, trigger):
            advance(session, desk.bus, case, trigger, actor=actor, at=desk.clock.now())


def cancel_services(desk, reference: str, final_days: dict[str, date], actor: str = "amy@agency.example") -> None:
    """#cancel SERVICE on DAY for each service, then the decision is complete (DECIDED)."""
    with transaction(desk.factory) as session:
        case = _case(session, reference)
        for service, day in final_days.items():
            session.add(ServiceDecision(case_id=case.id, service=service, decision="cancel", day=day,
                                        decided_by=actor, decided_at=desk.clock.now()))
        session.flush()
        advance(session, desk.bus, case, Trigger.DECIDED, actor=actor, at=desk.clock.now())


def pause_until(desk, reference: str, day: date, actor: str = "amy@agency.example") -> None:
    with transaction(desk.factory) as session:
        case = _case(session, reference)
        for service in case.requested_services or ["SEO"]:
            session.add(ServiceDecision(case_id=case.id, service=service, decision="pause", day=day,
                                        decided_by=actor, decided_at=desk.clock.now()))
        session.flush()
        advance(session, desk.bus, case, Trigger.DECIDED, actor=actor, at=desk.clock.now())


def approve_and_offboard(desk, reference: str) -> None:
    """The approval chain said yes, and offboarding started (as #approve does at the last step)."""
    step(desk, reference, Trigger.APPROVED, actor="dana@agency.example")
    step(desk, reference, Trigger.OFFBOARDING_STARTED)


def tick_all_items(desk, reference: str) -> int:
    """#done for every open offboarding item."""
    with transaction(desk.factory) as session:
        items = session.scalars(select(OffboardingItem).join(Case).where(
            Case.reference == reference, OffboardingItem.status != "done")).all()
        for item in items:
            item.status, item.done_by, item.done_at = "done", "amy@agency.example", desk.clock.now()
        return len(items)


def state(desk, reference: str) -> str:
    with transaction(desk.factory) as session:
        return _case(session, reference).state


def pending(desk, reference: str) -> dict[tuple[str, int], datetime]:
    with transaction(desk.factory) as session:
        return {(t.kind, t.seq): t.due_at for t in timers.pending_of(session, _case(session, reference))}


def timer_rows(desk, reference: str) -> list[Timer]:
    with transaction(desk.factory) as session:
        return list(session.scalars(select(Timer).join(Case).where(Case.reference == reference).order_by(Timer.id)))


def fire(desk) -> list[timers.Fired]:
    """What the daemon does at this moment: run due timers, deliver the outbox."""
    fired = timers.run_due_timers(desk)
    desk.dispatcher.deliver_due()
    return fired


def mails(desk, *, to: str, subject: str = "") -> list:
    return [m for m in sent(desk) if to in str(m["To"]) and subject in str(m["Subject"])]


def done_kinds(desk, reference: str) -> list[str]:
    return [t.kind for t in timer_rows(desk, reference) if t.status is TimerStatus.DONE]


def _case(session, reference: str) -> Case:
    return session.scalars(select(Case).where(Case.reference == reference)).one()

"""The sheets tests' world: approved cases made straight in the database, and gspread on a fake clock.

Time is the desk's ManualClock throughout: the Google backend's rate limiter and retries
"sleep" by advancing it, and the fake Sheets server stamps each request with it, so a
test counts writes per minute of that clock and never waits for real.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from daemon.db import transaction
from daemon.models import Account, BillingItem, Case, ServiceDecision
from daemon.sheets.sync import SheetSync
from daemon.cases.workflow import EventBus, Trigger, advance
from integrations.sheets.google import GoogleSheets, client_for_base_url

KEY = "1SheetsDaemonTestKey"
FINAL_DAY = date(2027, 1, 31)
PAUSE_END = date(2027, 4, 30)
SHEETS_CONFIG = f"""
[sheets]
spreadsheet = "{KEY}"
flush_interval_seconds = 1.0
"""


class Killed(BaseException):
    """The process dies here: what SIGKILL would do, as far as the code after it can tell."""


class DiesAfterWrite:
    """A backend whose first data write lands on the server, then the process is killed."""

    def __init__(self, inner) -> None:
        self.inner, self.api_calls = inner, inner.api_calls

    def read_values(self, mapping):
        return self.inner.read_values(mapping)

    def ensure_header(self, mapping):
        self.inner.ensure_header(mapping)

    def write_ranges(self, mapping, updates):
        self.inner.write_ranges(mapping, updates)
        raise Killed()


def monotonic(desk):
    return lambda: desk.clock.now().timestamp()


def google_backend(desk, server, **options) -> GoogleSheets:
    # A read timeout no answer reaches on a busy machine: a spurious retry would change the write counts.
    client = client_for_base_url(server.base_url, timeout=(2.0, 30.0))
    return GoogleSheets(client, sleep=lambda s: desk.clock.advance(timedelta(seconds=max(0.0, s))),
                        clock=monotonic(desk), rng=random.Random(5), **options)


def fresh_sync(desk, backend) -> SheetSync:
    """A SheetSync as a newly started daemon has it: nothing cached, writing through `backend`."""
    sync = SheetSync(desk, lambda: backend)
    desk.sheets = sync
    return sync


def sheets_only_bus(sync: SheetSync) -> EventBus:
    """A bus with only the sheets subscribed: a thousand approvals without a thousand mails."""
    bus = EventBus()
    for trigger in Trigger:
        bus.subscribe(trigger, lambda session, case, event: sync.enqueue_case(session, case))
    return bus


def make_account(session, i: int) -> Account:
    account = Account(key=f"ACC-{i:04d}", name=f"Client {i}", account_manager="amy@agency.example",
                      team_lead="tom@agency.example")
    account.billing_items = [
        BillingItem(item_key=f"B-{i}-1", service="SEO", monthly_amount=Decimal("100.00") + i),
        BillingItem(item_key=f"B-{i}-2", service="PPC", monthly_amount=Decimal("50.50")),
    ]
    session.add(account)
    session.flush()
    return account


def approve_cases(desk, bus, numbers, *, reason: str = "too expensive", pause: bool = False) -> list[str]:
    """Cases decided (SEO and PPC cancelled, or paused) and approved through workflow.advance."""
    now = desk.clock.now()
    refs = []
    with transaction(desk.factory) as session:
        for i in numbers:
            account = make_account(session, i)
            case = Case(reference=f"CX-T-{i:05d}", token=f"token-{i}", kind="pause" if pause else "cancel",
                        state="pending_approval", account_id=account.id, requester=f"boss@client{i}.example",
                        opened_at=now, requested_services=[],
                        outcome="paused" if pause else "lost", reasons=[{"category": "price", "text": reason}])
            session.add(case)
            session.flush()
            decision, day = ("pause", PAUSE_END) if pause else ("cancel", FINAL_DAY)
            session.add_all([ServiceDecision(case_id=case.id, service=s, decision=decision, day=day,
                                             decided_by="amy@agency.example", decided_at=now) for s in ("SEO", "PPC")])
            advance(session, bus, case, Trigger.APPROVED, actor="acc@agency.example", at=now)
            advance(session, bus, case, Trigger.PAUSE_STARTED if pause else Trigger.OFFBOARDING_STARTED,
                    actor="acc@agency.example", at=now)
            refs.append(case.reference)
    return refs


def move(desk, bus, reference: str, trigger: Trigger) -> None:
    with transaction(desk.factory) as session:
        case = session.query(Case).filter_by(reference=reference).one()
        advance(session, bus, case, trigger, actor="tom@agency.example", at=desk.clock.now())


def expected_billing(i: int, status: str = "stopping", stop: str = FINAL_DAY.isoformat()) -> list[list]:
    ref = f"CX-T-{i:05d}"
    return [[f"ACC-{i:04d}", f"B-{i}-1", f"Client {i}", "SEO", 100 + i, stop, ref, status],
            [f"ACC-{i:04d}", f"B-{i}-2", f"Client {i}", "PPC", 50.5, stop, ref, status]]


def by_key(rows: list[list], width: int) -> dict[tuple, list]:
    """Sheet rows (header dropped) by their key columns; a duplicate key fails the test."""
    found: dict[tuple, list] = {}
    for row in rows[1:]:
        if not any(row):
            continue
        key = tuple(row[:width])
        assert key not in found, f"duplicate row for {key}"
        found[key] = row
    return found

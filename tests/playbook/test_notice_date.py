"""The notice period runs from the day the customer wrote, whichever way the writing came."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from daemon.playbook.contract import notice_date
from daemon.models import Account, Case, CaseEvent


def _case(*events: tuple[str, datetime]) -> Case:
    case = Case(opened_at=datetime(2026, 11, 2, 10, tzinfo=timezone.utc),
                account=Account(key="A", name="A", timezone="Europe/London"))
    case.events = [CaseEvent(kind=kind, at=at) for kind, at in events]
    return case


@pytest.mark.parametrize("written", ["state:written_request_received", "state:written_request_unverified"])
def test_a_verbal_request_counts_from_the_writing(written):
    case = _case(("state:verbal_reported", datetime(2026, 11, 2, 10, tzinfo=timezone.utc)),
                 (written, datetime(2026, 11, 9, 23, 30, tzinfo=timezone.utc)))
    assert notice_date(case) == date(2026, 11, 9)


def test_a_written_request_counts_from_opening_in_the_accounts_zone():
    case = _case()
    case.opened_at = datetime(2026, 7, 1, 23, 30, tzinfo=timezone.utc)   # 00:30 on 2 July in London (BST)
    assert notice_date(case) == date(2026, 7, 2)

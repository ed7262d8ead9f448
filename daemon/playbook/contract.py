"""Contract review: what the account's agreement says about a cancellation notice.

From the contract on file (start, term in months, notice days) and the day the written
notice arrived: when the committed term ends, the earliest final day of service the
notice period allows, the final day to propose (the later of that and the day the
customer asked for), and whether a final day is an early termination (before the term
ends), which the approval chain then sends to whoever `[approvals]` names for it.
After the term the agreement is taken to run month to month: no early termination.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from daemon.cases.workflow import DomainEvent, Trigger
from daemon.mail.style import Style
from daemon.models import Account, Case

if TYPE_CHECKING:
    from daemon.desk import Desk


@dataclass(frozen=True)
class ContractReview:
    notice_date: date
    notice_days: int
    notice_end: date  # the earliest final day of service the notice allows
    term_end: date | None  # the last day of the committed term; None: no term on file
    requested_final_day: date | None
    final_day: date  # the day proposed: the later of notice_end and the request
    early_termination: bool

    def as_dict(self) -> dict[str, Any]:
        # Its fields are days, numbers and flags: read as they are (dataclasses.asdict deep-copies each).
        return {
            field.name: value.isoformat() if isinstance(value := getattr(self, field.name), date) else value
            for field in fields(self)
        }


def add_months(day: date, months: int) -> date:
    """Same day of the month `months` later, or the month's last day (31 Jan + 1 -> 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_end(account: Account) -> date | None:
    if account.contract_start is None or not account.term_months:
        return None
    return add_months(account.contract_start, account.term_months) - timedelta(days=1)


def is_early(account: Account, final_day: date) -> bool:
    """A final day before the committed term ends."""
    end = term_end(account)
    return end is not None and final_day < end


def earliest_final_day(account: Account, notice_date: date) -> date:
    return notice_date + timedelta(days=account.notice_days or 0)


def review(account: Account, notice_date: date, requested: date | None = None) -> ContractReview:
    notice_end = earliest_final_day(account, notice_date)
    final_day = max(notice_end, requested) if requested else notice_end
    return ContractReview(
        notice_date,
        account.notice_days or 0,
        notice_end,
        term_end(account),
        requested,
        final_day,
        is_early(account, final_day),
    )


def notice_date(case: Case) -> date:
    """The day the written notice reached us, in the account's zone: a verbal request counts from the writing.

    'Reached us' is the mail's received moment kept on the event (`requests.received_moment`),
    not when the daemon got round to it: a daemon stopped over a weekend moves no notice.
    """
    moment = _arrival(next((e for e in case.events if e.kind.startswith("state:")), None)) or case.opened_at
    # Written from an address on file, or from an unknown one (verified later): either way
    # the notice is the day they wrote, not the day staff reported the call.
    written = {f"state:{t.value}" for t in (Trigger.WRITTEN_REQUEST_RECEIVED, Trigger.WRITTEN_UNVERIFIED)}
    for event in case.events:
        if event.kind in written:
            moment = _arrival(event) or event.at
    # Asked 'how do I cancel?' and then said yes: the request counts from the question.
    moment = case.asked_at or moment
    zone = ZoneInfo(case.account.timezone) if case.account and case.account.timezone else None
    return _local_date(moment, zone)


def _arrival(event) -> datetime | None:
    value = (event.data or {}).get("received_at") if event is not None else None
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def review_case(case: Case) -> ContractReview | None:
    """The review for a case, or None when it has no account on file (not yet verified).

    'When our contract ends' asks for the term's last day: that is the day requested.
    """
    if case.account is None:
        return None
    requested = case.requested_final_day
    if requested is None and (case.scope or {}).get("until_term_end"):
        requested = term_end(case.account)
    return review(case.account, notice_date(case), requested)


def template_values(desk: Desk, case: Case) -> dict[str, Any] | None:
    """What the team notice shows of the contract; None when there is no account to review."""
    found = review_case(case)
    if found is None:
        return None
    approvers = [role for role, condition in desk.config.approvals.steps() if condition == "early_termination"]
    return {
        **found.as_dict(),
        "term_line": term_line(found, desk.renderer.staff_sentences),
        "approvers": ", ".join(approvers) or "nobody configured",
    }


def term_line(found: ContractReview, style: Style) -> str:
    """The contract as it stands on the day of the notice: in its term, or running month to month since it ended."""
    if found.term_end is None:
        return "no fixed term on file"
    if found.notice_date <= found.term_end:
        return f"in its initial term until {style.day(found.term_end)}"
    return (
        f"month to month since {style.day(found.term_end + timedelta(days=1))}, with {found.notice_days} days' notice"
    )


def keep_review(desk: Desk, session: Session, case: Case, event: DomainEvent) -> None:
    """A case that becomes active keeps the review of its contract as it stands then."""
    store(case)


def store(case: Case) -> None:
    """Keep the review on the case (a new dict: JSON columns do not track changes in place)."""
    found = review_case(case)
    if found is not None:
        case.details = {**(case.details or {}), "contract": found.as_dict()}


def _local_date(moment: datetime, zone: ZoneInfo | None) -> date:
    return moment.astimezone(zone).date() if zone else moment.date()

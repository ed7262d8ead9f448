"""A change by mail, end to end: a downgrade or budget cut opens a case of kind change, staff
record what changes (#change SERVICE to AMOUNT, #keep, #cancel for a service dropped), the
approval chain runs, and the case ends *changed*: the customer's summary says what changes
and from when, the billing sheet shows the new amount, and only a dropped service is
offboarded. Also: a cancellation saved by a downgrade, amendments, and refusals."""
from __future__ import annotations

from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select

from daemon.db import transaction
from daemon.models import Account, ApprovalStep, InboundMessage, OffboardingItem, Timer, TimerStatus
from tests.playbook.helpers import later, one_to, run, sent, sent_to, staff_command, text, the_case
from tests.support import mail

ACME = "Acme Outdoor Ltd"   # the client's name beside its key in the billing and planner sheets
CHAIN = [("amy", "retention"), ("dana", "director"), ("acc", "accounting")]


def _request(desk, body: str, subject: str = "Our budget"):
    """Jane's request; returns the team notice Tom got (staff reply to it with commands)."""
    run(desk, mail(subject=subject, body=body))
    return one_to(desk, "tom@agency.example", "request from Acme Outdoor Ltd")


def _approve_all(desk, approvers: list[tuple[str, str]] = CHAIN) -> None:
    for who, step in approvers:
        request = one_to(desk, f"{who}@agency.example", f"Approval needed ({step})")
        assert f"approved as {step}" in text(staff_command(desk, request, "#approve\n", sender=f"{who}@agency.example"))


def _sheet(desk, title: str) -> list[tuple]:
    """The rows of one sheet of the local workbook, header first, once the pending rows are flushed."""
    later(desk, hours=0.02)
    book = load_workbook(desk.config.path(desk.config.sheets.path))
    try:
        return [tuple("" if v is None else v for v in row) for row in book[title].iter_rows(values_only=True)]
    finally:
        book.close()


def _offboarding_items(desk) -> list[tuple[str, list[str]]]:
    with transaction(desk.factory) as session:
        return [(i.name, i.owners) for i in session.scalars(select(OffboardingItem).order_by(OffboardingItem.position))]


def _set_webhook(desk, url: str) -> None:
    with transaction(desk.factory) as session:
        session.scalars(select(Account).where(Account.key == "ACME")).one().links = {"slack_webhook": url}


def test_a_downgrade_ends_changed_billed_anew_with_no_offboarding(desk, webhook):
    notice = _request(desk, "We need to cut our budget, please downgrade PPC to the basic plan.\n")
    case = the_case(desk)
    assert (case.kind, case.state, case.requested_services) == ("change", "open", ["PPC"])
    with transaction(desk.factory) as session:
        assert session.scalars(select(InboundMessage.label)).one() == "request:change"
    assert "contract change request" in str(one_to(desk, "jane@acme.example", "We received")["Subject"])
    assert one_to(desk, "pia@agency.example", "Contract change request from Acme Outdoor Ltd")  # PPC's specialist

    results = staff_command(desk, notice, "#reason budget: cutting spend for next year\n#change PPC to 400.00\n",
                            sender="amy@agency.example")
    assert "PPC changes from £800.00 to £400.00 a month from 1 January 2027; outcome: changed; " \
           "the case is now pending approval" in text(results)
    retention = text(one_to(desk, "amy@agency.example", "Approval needed (retention)"))
    assert "Changed: PPC, £800.00 → £400.00 a month from 1 January 2027" in retention
    _set_webhook(desk, webhook.url)
    _approve_all(desk)

    case = the_case(desk)
    assert (case.state, case.outcome) == ("changed", "changed")
    assert "state:change_applied" in [e.kind for e in case.events]
    summary = text(one_to(desk, "jane@acme.example", "Summary of your contract change request"))
    assert "Services you keep: - SEO - Social - Content" in summary
    assert "Services that continue at a new monthly amount: - PPC: £400.00 a month from 1 January 2027 (was £800.00)" \
        in summary
    assert "cancelled" not in summary
    assert _offboarding_items(desk) == []
    assert [m for m in sent(desk) if "Offboarding" in str(m["Subject"])] == []
    assert sent_to(desk, "rep@ads-vendor.example") == []        # PPC goes on: its vendor has nothing to hear
    assert "PPC £800.00 → £400.00 a month from 1 January 2027" in webhook.bodies[0]["text"]
    with transaction(desk.factory) as session:   # a customer who stays gets no closure, thank-you or win-back
        assert session.scalars(select(Timer.kind).where(Timer.status == TimerStatus.PENDING)).all() == []

    reference = case.reference
    assert sorted(_sheet(desk, "Billing")[1:]) == [
        ("ACME", "B-1001", ACME, "SEO", 1200, "", reference, "kept"),
        ("ACME", "B-1002", ACME, "PPC", 400, "", reference, "new amount from 2027-01-01 (was 800.00)"),
        ("ACME", "B-1003", ACME, "Social", 450, "", reference, "kept"),
        ("ACME", "B-1004", ACME, "Content", 600, "", reference, "kept"),
    ]
    assert _sheet(desk, "Offboarding")[1:] == []
    assert _sheet(desk, "Planner")[1:] == [
        (reference, "ACME", ACME, "change", datetime(2027, 1, 1), "", "cutting spend for next year (budget)",
         "changed")]


def test_a_budget_cut_that_drops_a_service_offboards_only_that_service(desk):
    notice = _request(desk, "We have to reduce our monthly spend: downgrade PPC and drop Social.\n")
    assert the_case(desk).requested_services == ["PPC", "Social"]
    results = staff_command(desk, notice, "#change PPC to 450 from 2027-02-01\n#cancel Social on 2027-02-28\n",
                            sender="amy@agency.example")
    assert "PPC changes from £800.00 to £450.00 a month from 1 February 2027; still to decide: Social" in text(results)
    assert "cancel Social, final day 28 February 2027; outcome: changed" in text(results)
    _approve_all(desk)

    assert the_case(desk).state == "changed"
    summary = text(one_to(desk, "jane@acme.example", "Summary"))
    assert "Services you keep: - SEO - Content" in summary
    assert "- Social: final day of service 28 February 2027" in summary
    assert "- PPC: £450.00 a month from 1 February 2027 (was £800.00)" in summary
    items = _offboarding_items(desk)
    assert [name for name, _ in items] == ["Revoke tool access", "Close open projects",
                                           "Settle outstanding payments", "Refunds and final invoice"]
    assert items[0][1] == ["tom@agency.example", "sol@agency.example"]   # Social's team only, not PPC's
    assert sent_to(desk, "pia@agency.example", "Offboarding") == []
    assert sent_to(desk, "rep@ads-vendor.example") == []                  # PPC's vendor: PPC goes on

    revoke = one_to(desk, "sol@agency.example", "Offboarding: Revoke tool access")
    assert "ticked 'Revoke tool access'" in text(staff_command(desk, revoke, "#done 1\n", sender="sol@agency.example"))
    reference = the_case(desk).reference
    billing = {row[1]: row for row in _sheet(desk, "Billing")[1:]}
    assert billing["B-1002"][4:] == (450, "", reference, "new amount from 2027-02-01 (was 800.00)")
    assert billing["B-1003"][4:] == (450, datetime(2027, 2, 28), reference, "stopping")
    offboarding = _sheet(desk, "Offboarding")
    assert offboarding[1][:6] == (reference, ACME, datetime(2027, 2, 28), "", "amy@agency.example", "changed")
    assert dict(zip(offboarding[0][6:], offboarding[1][6:]))["Revoke tool access"] == "done"
    assert _sheet(desk, "Planner")[1][3:5] == ("change", datetime(2027, 2, 28))   # in full effect once Social has ended


def test_a_cancellation_saved_by_a_downgrade_ends_changed(desk):
    notice = _request(desk, "Please cancel our PPC service, it is too expensive.\n", subject="Cancelling PPC")
    assert the_case(desk).kind == "cancel"
    results = staff_command(desk, notice, "#reason price: too expensive\n#offer downgrade basic plan\n"
                            "#offer downgrade accepted\n#change PPC to 500\n", sender="amy@agency.example")
    assert "outcome: changed" in text(results)
    _approve_all(desk)
    assert the_case(desk).state == "changed"
    summary = text(one_to(desk, "jane@acme.example", "Summary of your cancellation request"))
    assert "- PPC: £500.00 a month from 1 January 2027 (was £800.00)" in summary
    assert "Agreed with you: a smaller package at a lower fee (basic plan)" in summary
    assert _offboarding_items(desk) == []
    assert _sheet(desk, "Planner")[1][3:5] == ("change", datetime(2027, 1, 1))


def test_amending_a_change_starts_a_new_round_and_keeping_it_forgets_the_amount(desk):
    notice = _request(desk, "Could you downgrade our PPC package please?\n")
    staff_command(desk, notice, "#change PPC to 400\n", sender="amy@agency.example")
    amended = staff_command(desk, notice, "#change PPC to 550.50 from 2027-03-01\n", sender="amy@agency.example")
    assert "PPC changes from £800.00 to £550.50 a month from 1 March 2027" in text(amended)
    with transaction(desk.factory) as session:
        rounds = {s.round: s.status for s in session.scalars(select(ApprovalStep).where(ApprovalStep.position == 0))}
    assert rounds == {1: "void", 2: "asked"}
    assert "Changed: PPC, £800.00 → £550.50 a month from 1 March 2027" in text(
        sent_to(desk, "amy@agency.example", "Approval needed (retention)")[-1])

    kept = staff_command(desk, notice, "#keep PPC\n", sender="amy@agency.example")
    assert "outcome: saved" in text(kept)
    case = the_case(desk)
    assert (case.state, case.changes) == ("saved", {})
    summary = text(one_to(desk, "jane@acme.example", "Summary"))
    assert "Services you keep: - SEO - PPC - Social - Content" in summary
    assert "new monthly amount" not in summary


def test_change_lines_that_cannot_apply_are_refused_and_change_nothing(desk):
    notice = _request(desk, "We need to reduce our monthly spend.\n")
    refused = text(staff_command(desk, notice, "#change PPC 400\n#change PPC, SEO to 400\n#change PPC to cheap\n"
                                 "#change PPC to 0\n#change PPC to 800\n#change Email to 100\n"
                                 "#change PPC to 400 from 2026-12-01\n#change PPC to 400 from 01/02/2027\n",
                                 sender="amy@agency.example"))
    assert "write #change SERVICE to AMOUNT [from YYYY-MM-DD], e.g. #change PPC to 400.00 from 2027-01-01" in refused
    assert "one service a line: each has its own amount" in refused
    assert "cheap is not an amount: write it like 400.00" in refused
    assert "0 ends PPC: write #cancel PPC to drop it" in refused
    assert "PPC is already billed £800.00 a month: write #keep PPC to leave it as it is" in refused
    assert "unknown service Email for Acme Outdoor Ltd" in refused
    assert "1 December 2026 is within the notice period: the new amount may start from 24 December 2026 " \
           "(30 days' notice from 23 November 2026): write from 2026-12-24 or later" in refused
    assert "01/02/2027 is not a date: write it YYYY-MM-DD" in refused
    not_a_decider = text(staff_command(desk, notice, "#change PPC to 400\n", sender="sol@agency.example"))
    assert "#change may be run by account_manager, retention or team_lead (your roles: specialist)" in not_a_decider
    case = the_case(desk)
    assert (case.state, case.changes) == ("open", {})

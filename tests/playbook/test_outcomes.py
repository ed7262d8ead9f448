"""Each outcome of the playbook by mail: a save with a discount, a partial save, a pause, early
termination (the general manager), a credit (finance), a rejection, and a withdrawal."""
from __future__ import annotations

from sqlalchemy import select

from daemon.db import transaction
from daemon.models import ApprovalStep, OffboardingItem
from tests.playbook.helpers import (calendar_of, calendar_reply, later, one_to, run, sent, sent_to,
                                    staff_command, text, the_case)
from tests.support import mail


def _request(desk, body: str):
    """Jane's request; returns the team notice Tom got (staff reply to it with commands)."""
    run(desk, mail(body=body))
    return sent_to(desk, "tom@agency.example")[0]


def _approve_all(desk, approvers: list[tuple[str, str]]) -> None:
    for who, step in approvers:
        request = one_to(desk, f"{who}@agency.example", f"Approval needed ({step})")
        assert f"approved as {step}" in text(staff_command(desk, request, "#approve\n", sender=f"{who}@agency.example"))


def test_save_with_a_discount_keeps_everything_and_needs_no_approval(desk):
    notice = _request(desk, "Please cancel our SEO service, it is too expensive for us.\n")
    later(desk)
    results = staff_command(desk, notice, "#reason price: too expensive\n#offer discount 20% for 3 months\n"
                            "#offer discount accepted\n#saved\n", sender="tom@agency.example")
    assert "outcome: saved" in text(results)
    case = the_case(desk)
    assert (case.state, case.outcome) == ("saved", "saved")
    summary = one_to(desk, "jane@acme.example", "Summary")
    assert "Services you keep: - SEO - PPC - Social - Content" in text(summary)
    assert "Agreed with you: a discount on your monthly fee (20% for 3 months)" in text(summary)
    assert "cancelled" not in text(summary)
    assert [m for m in sent(desk) if "Approval needed" in str(m["Subject"])] == []
    later(desk)   # the proposed call is called off for everyone invited
    cancelled = one_to(desk, "jane@acme.example", "Cancelled: our call")
    assert str(calendar_of(cancelled)["method"]) == "CANCEL"
    assert calendar_of(cancelled).walk("VEVENT")[0]["sequence"] == 1


def test_partial_save_keeps_two_services_and_offboards_the_two_cancelled(desk):
    notice = _request(desk, "We would like to cancel all our services with you.\n")
    results = staff_command(desk, notice, "#keep SEO, PPC\n#cancel Social, Content on 2027-03-31\n",
                            sender="amy@agency.example")
    assert "kept SEO, PPC; still to decide: Social, Content" in text(results)
    assert "outcome: partially saved" in text(results)
    _approve_all(desk, [("amy", "retention"), ("dana", "director"), ("acc", "accounting")])
    summary = text(one_to(desk, "jane@acme.example", "Summary"))
    assert "Services you keep: - SEO - PPC" in summary
    assert "- Social: final day of service 31 March 2027 - Content: final day of service 31 March 2027" in summary
    assert the_case(desk).state == "offboarding"
    with transaction(desk.factory) as session:
        names = [i.name for i in session.scalars(select(OffboardingItem))]
    assert "Pause ad campaigns and recurring ad spend" not in names   # PPC is kept
    assert sent_to(desk, "rep@ads-vendor.example") == []               # PPC's vendor is not told


def test_pause_keeps_the_client_in_every_tool(desk):
    notice = _request(desk, "We need to pause our services for a few months, budget is tight.\n")
    later(desk)
    invite = one_to(desk, "jane@acme.example", "A call about")
    run(desk, calendar_reply(invite, "jane@acme.example", "DECLINED"))
    declined = one_to(desk, "amy@agency.example", "declined the save call")
    assert "the request goes on without it" in text(declined)
    staff_command(desk, notice, "#pause until 2027-03-01\n", sender="amy@agency.example")
    _approve_all(desk, [("amy", "retention"), ("dana", "director"), ("acc", "accounting")])
    assert the_case(desk).state == "paused"
    assert "- SEO: paused until 1 March 2027" in text(one_to(desk, "jane@acme.example", "Summary"))
    with transaction(desk.factory) as session:
        assert session.scalars(select(OffboardingItem)).all() == []
    assert [m for m in sent(desk) if "Offboarding" in str(m["Subject"])] == []


def test_early_termination_needs_the_general_manager_and_a_rejection_sends_it_back(desk):
    notice = _request(desk, "Please cancel our SEO service.\n")
    assert "EARLY TERMINATION: this final day is before the term ends (28 February 2027); it needs the approval of: " \
           "general_manager." in text(notice)
    refused = staff_command(desk, notice, "#cancel SEO on 2026-12-01\n#keep Email\n#cancel SEO on 31/12/2026\n",
                            sender="amy@agency.example")
    assert ("1 December 2026 is before the earliest final day of service, 23 December 2026 (30 days' notice from "
            "23 November 2026): write it 2026-12-23 or later") in text(refused)
    assert "unknown service Email for Acme Outdoor Ltd (services on file: SEO, PPC, Social, Content)" in text(refused)
    assert "31/12/2026 is not a date: write it YYYY-MM-DD" in text(refused)
    assert the_case(desk).state == "open"

    staff_command(desk, notice, "#cancel SEO on 2026-12-31\n", sender="amy@agency.example")
    early = one_to(desk, "amy@agency.example", "Approval needed (retention)")
    too_soon = staff_command(desk, early, "#approve\n", sender="gary@agency.example")
    assert "the chain waits for the retention step: only staff with that role (amy@agency.example)" in text(too_soon)
    _approve_all(desk, [("amy", "retention"), ("dana", "director")])
    gm = one_to(desk, "gary@agency.example", "Approval needed (general_manager)")
    assert "EARLY TERMINATION" in text(gm)
    assert "rejected as general_manager" in text(staff_command(desk, gm, "#reject the term runs to February\n",
                                                               sender="gary@agency.example"))
    assert the_case(desk).state == "save_attempted"
    assert "the term runs to February" in text(one_to(desk, "tom@agency.example", "Approval rejected"))

    staff_command(desk, notice, "#cancel SEO on 2027-02-28\n", sender="amy@agency.example")
    with transaction(desk.factory) as session:
        second = [s.role for s in session.scalars(select(ApprovalStep).where(ApprovalStep.round == 2)
                                                          .order_by(ApprovalStep.position))]
    assert second == ["retention", "director", "accounting"]   # the term's last day is not early


def test_credit_needs_finance_and_only_finance_may_approve_it(desk):
    notice = _request(desk, "Please cancel all our services at the end of March.\n")
    staff_command(desk, notice, "#credit 250.00\n#lost\n", sender="amy@agency.example")
    _approve_all(desk, [("amy", "retention"), ("dana", "director")])
    finance = one_to(desk, "fin@agency.example", "Approval needed (finance)")
    assert "Credit or refund: £250.00" in text(finance)
    not_finance = staff_command(desk, finance, "#approve\n", sender="dana@agency.example")
    assert "only staff with that role (fin@agency.example)" in text(not_finance)
    _approve_all(desk, [("fin", "finance"), ("acc", "accounting")])
    assert "A credit of £250.00 will be applied" in text(one_to(desk, "jane@acme.example", "Summary"))
    assert the_case(desk).state == "offboarding"


def test_withdrawal_stops_approvals_and_withdraws_the_unsent_invitation(desk):
    notice = _request(desk, "Please cancel all our services at the end of March.\n")
    staff_command(desk, notice, "#lost\n", sender="amy@agency.example")
    staff_command(desk, notice, "#withdrawn the customer changed their mind\n", sender="tom@agency.example")
    assert the_case(desk).state == "withdrawn"
    with transaction(desk.factory) as session:
        assert {s.status for s in session.scalars(select(ApprovalStep))} == {"void"}
    request = one_to(desk, "amy@agency.example", "Approval needed (retention)")
    refused = staff_command(desk, request, "#approve\n", sender="amy@agency.example")
    assert "withdrawn" in text(refused)
    later(desk)   # the proposed invitation had not gone out: it is withdrawn, so no cancellation either
    assert sent_to(desk, "jane@acme.example", "call") == []
    assert sent_to(desk, "pia@agency.example", "call") == []

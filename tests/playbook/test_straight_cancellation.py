"""A straight cancellation, mail in and mail out: contract review, the call, approvals, offboarding."""
from __future__ import annotations

from sqlalchemy import select

from daemon.db import transaction
from daemon.models import Account, CallInvite, OffboardingItem, OutboxEntry
from tests.playbook.helpers import (calendar_of, calendar_reply, later, one_to, run, sent_to, staff_command,
                                    text, the_case)
from tests.support import mail


def test_straight_cancellation_from_request_to_offboarding(desk, webhook):
    with transaction(desk.factory) as session:
        acme = session.scalars(select(Account).where(Account.key == "ACME")).one()
        acme.links = {"slack_webhook": webhook.url}
    run(desk, mail(body="Please cancel all our services with you at the end of March.\n"))

    notice = one_to(desk, "tom@agency.example", "Cancellation request")
    assert "Earliest final day of service: 23 December 2026" in text(notice)          # 23 Nov + 30 days' notice
    assert "Term: in its initial term until 28 February 2027" in text(notice)
    assert "Final day to propose: 31 March 2027" in text(notice)
    assert "EARLY TERMINATION" not in text(notice)
    assert the_case(desk).details["contract"]["early_termination"] is False
    assert sent_to(desk, "jane@acme.example", "A call") == []                    # not with the acknowledgment

    later(desk, hours=2)
    invite = one_to(desk, "jane@acme.example", "A call about your cancellation request")
    event = calendar_of(invite).walk("VEVENT")[0]
    assert str(calendar_of(invite)["method"]) == "REQUEST"
    # One business day after Monday's notice, at 11:00 London time (GMT in November).
    assert event.decoded("dtstart").isoformat() == "2026-11-24T11:00:00+00:00"
    attendees = sorted(str(a).lower() for a in event["attendee"])
    assert attendees == sorted(f"mailto:{a}" for a in ["jane@acme.example", "tom@agency.example", "amy@agency.example",
                                                       "sam@agency.example", "pia@agency.example",
                                                       "sol@agency.example", "cora@agency.example"])
    assert one_to(desk, "pia@agency.example", "A call about")

    run(desk, calendar_reply(invite, "jane@acme.example", "ACCEPTED"))
    case = the_case(desk)
    assert case.state == "call_scheduled"
    with transaction(desk.factory) as session:
        assert session.scalars(select(CallInvite)).one().status == "accepted"

    results = staff_command(desk, notice, "#reason price: the budget is gone\n#lost on 2027-03-31\n",
                            sender="Tom <tom@agency.example>")
    assert "outcome: lost" in text(results), text(results)
    assert the_case(desk).state == "pending_approval"

    for approver, step in (("amy", "retention"), ("dana", "director"), ("acc", "accounting")):
        request = one_to(desk, f"{approver}@agency.example", f"Approval needed ({step})")
        assert "SEO, final day of service 31 March 2027" in text(request)
        assert f"approved as {step}" in text(staff_command(desk, request, "#approve\n",
                                                           sender=f"{approver}@agency.example"))
    assert the_case(desk).state == "offboarding"
    assert sent_to(desk, "fin@agency.example", "Approval needed") == []          # no credit: finance not asked
    assert sent_to(desk, "gary@agency.example", "Approval needed") == []         # not early: no general manager

    summary = one_to(desk, "jane@acme.example", "Summary of your cancellation request")
    for service in ("SEO", "PPC", "Social", "Content"):
        assert f"{service}: final day of service 31 March 2027" in text(summary)
    vendor = one_to(desk, "rep@ads-vendor.example", "will cancel PPC")
    assert "Acme Outdoor Ltd will cancel PPC, effective 31 March 2027, for this reason: price: the budget is gone" \
        in text(vendor)
    assert webhook.bodies and "Reasons: price: the budget is gone" in webhook.bodies[0]["text"]

    with transaction(desk.factory) as session:
        items = {i.name: sorted(i.owners) for i in session.scalars(select(OffboardingItem))}
    assert items["Pause ad campaigns and recurring ad spend"] == ["pia@agency.example"]
    assert items["Settle outstanding payments"] == ["acc@agency.example"]
    ads = one_to(desk, "pia@agency.example", "Offboarding: Pause ad campaigns")
    assert "ticked 'Pause ad campaigns and recurring ad spend'" in text(
        staff_command(desk, ads, "#done pause ad campaigns\n", sender="pia@agency.example"))
    with transaction(desk.factory) as session:
        assert session.scalar(select(OutboxEntry).where(OutboxEntry.kind == "webhook")).status.value == "sent"

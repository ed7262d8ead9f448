"""A verbal request turned written, a forwarded request, and an unverified sender verified by staff."""
from __future__ import annotations

from sqlalchemy import func, select

from daemon.db import transaction
from daemon.models import Case
from tests.commands.helpers import results_for, run, sent_to, staff_mail, text, the_case
from tests.support import mail

FORWARD = """Jane rang about this too, please handle.

---------- Forwarded message ---------
From: Jane Doe <jane@acme.example>
Date: Mon, 23 Nov 2026 at 08:12
Subject: Our services
To: Amy <amy@agency.example>

Hi Amy, we have decided to cancel our SEO service at the end of the year.

Jane
"""


def _asked_to_write(desk):
    asks = [m for m in sent_to(desk, "jane@acme.example") if "in writing" in str(m["Subject"])]
    assert len(asks) == 1
    return asks[0]


def test_verbal_request_then_written_request_opens_the_case(desk):
    body = text(results_for(desk, staff_mail("#verbal jane@acme.example called to cancel SEO\n")))
    assert "CX-2026-0001 opened for jane@acme.example; they are asked to confirm in writing" in body
    assert the_case(desk)["state"] == "awaiting_written"
    ask = _asked_to_write(desk)
    run(desk, mail(subject=f"Re: {ask['Subject']}", body="Yes, please cancel SEO.\n",
                   headers={"In-Reply-To": ask["Message-ID"], "References": ask["Message-ID"]}))
    assert the_case(desk)["state"] == "open"


def test_lines_after_verbal_apply_to_the_new_case(desk):
    body = text(results_for(desk, staff_mail("#verbal jane@acme.example on the phone\n#reason price: too dear\n")))
    assert "reason recorded: price" in body and "Case: CX-2026-0001 (now awaiting_written)" in body
    assert the_case(desk)["reasons"][0]["category"] == "price"


def test_verbal_for_a_colleague_is_refused(desk):
    body = text(results_for(desk, staff_mail("#verbal tom@agency.example\n")))
    assert "tom@agency.example is one of us, not a customer" in body


def test_a_forwarded_request_opens_a_verbal_case(desk):
    run(desk, staff_mail(FORWARD, subject="Fwd: Our services"))
    case = the_case(desk)
    assert case["state"] == "awaiting_written"
    with transaction(desk.factory) as session:
        assert session.scalars(select(Case)).one().requester == "jane@acme.example"
    _asked_to_write(desk)


def test_an_unverified_forward_opens_nothing(desk):
    body = text(results_for(desk, staff_mail(FORWARD, subject="Fwd: Our services", auth=None)))
    assert "could not be verified as coming from you" in " ".join(body.split())
    assert "forward of jane@acme.example's request  ->  no case opened" in body
    with transaction(desk.factory) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_unverified_sender_verified_by_staff(desk):
    run(desk, mail(sender="Jane <jane.doe@gmail.example>", body="Please cancel all our services, Acme Outdoor.\n"))
    assert the_case(desk)["state"] == "awaiting_identity"
    body = text(results_for(desk, staff_mail("#verify NOSUCH\n#verify ACME\n", subject="Re: CX-2026-0001")))
    assert "\"#verify NOSUCH\"  ->  no account with that key on file" in body
    assert "jane.doe@gmail.example verified; CX-2026-0001 is now open" in body
    assert the_case(desk)["state"] == "open"
    acks = [m for m in sent_to(desk, "jane.doe@gmail.example") if "Cancellation request" in str(m["Subject"])
            or "received" in str(m["Subject"]).lower()]
    assert acks, [m["Subject"] for m in sent_to(desk, "jane.doe@gmail.example")]


def test_verbal_reads_what_the_customer_said_below_it_up_to_end(desk):
    body = ("#verbal jane@acme.example\n"
            "She only wants to stop PPC, from 31 January 2027.\n"
            "Reason: they are moving their advertising in-house.\n"
            "#end\n"
            "Thanks, Amy\n")
    assert "opened for jane@acme.example" in text(results_for(desk, staff_mail(body)))
    case = the_case(desk)
    with transaction(desk.factory) as session:
        found = session.scalars(select(Case)).one()
        scope, final_day = list(found.requested_services), found.requested_final_day.isoformat()
    assert (case["state"], scope, final_day) == ("awaiting_written", ["PPC"], "2027-01-31")

"""The written-request and identity rules, through the whole pipeline.

A request staff heard waits for the customer's own words; the customer's reply is the
written request. A request from an address not on file waits for identity; a contact on
file confirming it (by reply, inline forward or forward as attachment) or staff verify it.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from daemon.db import transaction
from daemon.models import Case, InboundMessage
from daemon.cases.opening import open_verbal_case, verify_case
from daemon.cases.workflow import TransitionRefused
from tests.pipeline.mailkit import JANE, TEAM, cases, events, fixture, mails_of, readers, run, sent, sent_to, stored, text_of

STRANGER = "jane.doe.private@gmail.example"


def _verbal(desk, raw: bytes, customer: str = JANE, note: str = "Jane called: cancel PPC at the end of January.") -> Case:
    run(desk, raw)   # staff's mail is stored (and handled by staff mail) first; then the verbal case is opened from it
    with transaction(desk.factory) as session:
        inbound = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        inbound.case_id = None
        case = open_verbal_case(desk, session, customer=customer, staff_address="amy@agency.example",
                                inbound=inbound, note=note)
        reference = case.reference
    desk.dispatcher.deliver_due()
    return next(c for c in cases(desk) if c.reference == reference)


def test_verbal_request_asks_the_customer_to_write_and_tells_the_team(desk):
    case = _verbal(desk, fixture("thunderbird_reply", From="Amy <amy@agency.example>", Subject="call notes"))
    assert (case.state, case.kind, case.verified, case.account.key) == ("awaiting_written", "cancel", False, "ACME")
    assert case.requested_services == ["PPC"] and case.requested_final_day.isoformat() == "2027-01-31"
    (asked,) = mails_of(desk, "written_request_needed")
    assert asked["To"] == JANE and case.reference in asked["Subject"] and asked["Auto-Submitted"] == "auto-generated"
    assert "in writing" in text_of(asked) and asked["Reply-To"].startswith("cancel+")
    assert readers(mails_of(desk, "verbal_notice")) == TEAM
    assert mails_of(desk, "acknowledgment") == [] and mails_of(desk, "team_notice") == []


def test_verbal_forward_reads_the_customers_forwarded_words(desk):
    case = _verbal(desk, fixture("gmail_forward_inline", From="Amy <amy@agency.example>"),
                   customer="peter@initech.example", note="Customer wrote to me directly, please handle.")
    # Klaus's forwarded German: "hiermit kündigen wir SEO zum Ende März"
    assert (case.kind, case.requested_services, case.account.key) == ("cancel", ["SEO"], "INITECH")
    assert case.requested_final_day.isoformat() == "2027-03-31"


def test_the_customers_outlook_reply_is_the_written_request(desk):
    case = _verbal(desk, fixture("thunderbird_reply", From="Amy <amy@agency.example>", Subject="call notes"))
    (asked,) = mails_of(desk, "written_request_needed")
    run(desk, fixture("outlook_reply_from_sent_block", From=f'"Doe, Jane" <{JANE}>', To=asked["Reply-To"],
                      In_Reply_To=asked["Message-ID"]))
    (after,) = cases(desk)
    assert (after.state, after.verified) == ("open", True)
    assert after.requested_final_day.isoformat() == "2026-12-31"   # her written words overrule the note
    assert stored(desk)[-1].label == "case-reply:written"
    (ack,) = mails_of(desk, "acknowledgment")
    assert ack["To"] == JANE and ack["In-Reply-To"] == stored(desk)[-1].message_key
    assert readers(mails_of(desk, "team_notice")) == TEAM


def test_a_no_thanks_reply_is_not_taken_for_the_written_request(desk):
    case = _verbal(desk, fixture("thunderbird_reply", From="Amy <amy@agency.example>", Subject="call notes"))
    (asked,) = mails_of(desk, "written_request_needed")
    run(desk, fixture("iphone_sent_from_my_iphone", From=f"Jane <{JANE}>", In_Reply_To=asked["Message-ID"]))
    assert cases(desk)[0].state == "awaiting_written"
    assert stored(desk)[-1].case_id == case.id and mails_of(desk, "acknowledgment") == []


def _unverified(desk) -> tuple[Case, object]:
    run(desk, fixture("html_only_reply", From=f"Jane <{STRANGER}>"))   # "we want to cancel ... Social"
    (case,) = cases(desk)
    (asked,) = mails_of(desk, "verification_request")
    return case, asked


def test_unknown_sender_gets_only_a_verification_request_and_nothing_irreversible(desk):
    case, asked = _unverified(desk)
    assert (case.state, case.verified, case.account_id, case.requested_services) == (
        "awaiting_identity", False, None, ["Social"])
    assert [str(m["To"]) for m in sent(desk)] == [STRANGER]   # no team notice, no acknowledgment, no invite
    assert case.reference in asked["Subject"] and case.reference in text_of(asked)
    run(desk, fixture("html_only_reply", From=f"Jane <{STRANGER}>", Subject="Contract, again"))
    assert len(cases(desk)) == 1 and len(sent(desk)) == 1     # the same case, still waiting


@pytest.mark.parametrize("scenario", ["reply", "inline_forward", "attached_forward"])
def test_a_contact_on_file_confirming_verifies_the_case(desk, scenario):
    case, asked = _unverified(desk)
    subject = f"Fwd: {asked['Subject']}"
    raw = {
        "reply": fixture("gmail_reply_above_quote", From=f"Jane Doe <{JANE}>", To=asked["Reply-To"],
                         Subject=f"Re: {asked['Subject']}", In_Reply_To=asked["Message-ID"], References=None),
        "inline_forward": fixture("outlook_forward_inline", From=f"Jane Doe <{JANE}>", Subject=subject,
                                  Auto_Submitted=None, X_MS_Exchange_Generated_Message_Source=None),
        "attached_forward": fixture("forward_as_rfc822_attachment", From=f"Jane Doe <{JANE}>", Subject=subject),
    }[scenario]
    run(desk, raw)
    (after,) = cases(desk)
    assert (after.state, after.verified, after.account.key, after.details["verified_by"]) == ("open", True, "ACME", JANE)
    assert stored(desk)[-1].label == "case-reply:verified"
    (ack,) = mails_of(desk, "acknowledgment")
    assert ack["To"] == JANE and ack["In-Reply-To"] == stored(desk)[-1].message_key
    assert readers(mails_of(desk, "team_notice")) == TEAM
    assert "Social" in text_of(mails_of(desk, "team_notice")[0])   # the original request's words


def test_a_contact_of_no_account_cannot_confirm_and_a_guess_does_not_attach(desk):
    case, asked = _unverified(desk)
    run(desk, fixture("iphone_sent_from_my_iphone", Subject=f"Fwd: {asked['Subject']}"))   # bob@: not on file
    assert cases(desk)[0].state == "awaiting_identity" and stored(desk)[-1].case_id is None


def test_staff_verify_names_the_account(desk):
    case, _ = _unverified(desk)
    with transaction(desk.factory) as session:
        row = session.get(Case, case.id)
        with pytest.raises(TransitionRefused, match="not on file: name the account"):
            verify_case(desk, session, row, actor="amy@agency.example")
        with pytest.raises(TransitionRefused, match="no account with that key"):
            verify_case(desk, session, row, actor="amy@agency.example", account="NOPE")
        verify_case(desk, session, row, actor="amy@agency.example", account="acme")
        with pytest.raises(TransitionRefused, match="only a case waiting for identity"):
            verify_case(desk, session, row, actor="amy@agency.example", account="ACME")
    desk.dispatcher.deliver_due()
    (after,) = cases(desk)
    assert (after.state, after.verified, after.account.key) == ("open", True, "ACME")
    (ack,) = mails_of(desk, "acknowledgment")
    assert ack["To"] == STRANGER   # staff vouched for the requester: they are answered, in their thread
    assert [e.kind for e in events(desk, case.id)].count("state:identity_verified") == 1
    assert sent_to(desk, "tom@agency.example")

"""Requests from addresses not on file, through the whole pipeline, staff commands included.

Staff reporting a request (`#verbal`) for an address not on file does not make its writer
the account holder: their written request waits for identity like any other from an
address not on file. A verified request from a customer whose lookalike still waits for
identity is opened as usual, and the team is told in the waiting case's own thread, so
that `#withdrawn` or `#verify` in a reply acts on that case.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from daemon.db import transaction
from daemon.models import Timer
from tests.commands.helpers import AUTH, staff_mail
from tests.pipeline.mailkit import JANE, TEAM, cases, events, fixture, mails_of, readers, run, sent, stored, text_of

UNKNOWN = "someone@unknown.example"
STRANGER = "jane.doe.private@gmail.example"   # Jane Doe of ACME, from an address not on file


@pytest.fixture
def staffed(desk):
    """The desk trusting our receiving server's Authentication-Results, as staff commands need."""
    desk.config = replace(desk.config, auth=replace(desk.config.auth, authserv_ids=("mx.agency.example",)))
    desk.dns = lambda name, timeout=5: None   # no test reaches real DNS
    assert "mx.agency.example" in AUTH
    return desk


def _verbal_unknown(desk):
    run(desk, staff_mail(f"#verbal {UNKNOWN} called: cancel everything\n"))
    (case,) = cases(desk)
    (asked,) = mails_of(desk, "written_request_needed")
    assert (case.state, case.account_id, asked["To"]) == ("awaiting_written", None, UNKNOWN)
    return case, asked


def _written(asked, how: str) -> bytes:
    """The unknown person's request in writing: a reply to our mail, or a new mail of their own."""
    if how == "reply":
        return fixture("gmail_reply_above_quote", From=f"Some One <{UNKNOWN}>", To=asked["Reply-To"],
                       Subject=f"Re: {asked['Subject']}", In_Reply_To=asked["Message-ID"], References=None)
    return fixture("gmail_reply_above_quote", From=f"Some One <{UNKNOWN}>", To="cancel@agency.example",
                   Subject="Cancelling", In_Reply_To=None, References=None)


@pytest.mark.parametrize("how", ["reply", "new_mail"])
def test_the_written_request_of_an_unknown_address_waits_for_identity(staffed, how):
    desk = staffed
    case, asked = _verbal_unknown(desk)
    before = len(sent(desk))
    run(desk, _written(asked, how))
    (after,) = cases(desk)
    assert (after.id, after.state, after.verified, after.account_id) == (case.id, "awaiting_identity", False, None)
    assert {"SEO", "PPC"} <= set(after.requested_services)   # their written words, not staff's note
    assert stored(desk)[-1].label == "case-reply:written-unverified" and stored(desk)[-1].case_id == case.id
    new = sent(desk)[before:]
    (verify,) = mails_of(desk, "verification_request")
    assert [m["Message-ID"] for m in new] == [verify["Message-ID"]]   # no acknowledgment, no team notice
    assert verify["To"] == UNKNOWN and verify["In-Reply-To"] == stored(desk)[-1].message_key
    assert case.reference in verify["Subject"]
    assert "state:written_request_unverified" in [e.kind for e in events(desk, case.id)]
    with transaction(desk.factory) as session:
        assert session.scalars(select(Timer).where(Timer.case_id == case.id)).all() == []   # no SLA, no call


def test_a_contact_on_file_confirms_it_and_the_written_words_count(staffed):
    desk = staffed
    case, asked = _verbal_unknown(desk)
    run(desk, _written(asked, "reply"))
    (verify,) = mails_of(desk, "verification_request")
    run(desk, fixture("forward_as_rfc822_attachment", From=f"Jane Doe <{JANE}>", Subject=f"Fwd: {verify['Subject']}"))
    (after,) = cases(desk)
    assert (after.state, after.verified, after.account.key) == ("open", True, "ACME")
    (ack,) = mails_of(desk, "acknowledgment")
    assert ack["To"] == JANE
    notice = mails_of(desk, "team_notice")
    assert readers(notice) == TEAM
    assert "Please cancel SEO and PPC" in text_of(notice[0])   # the written request, not staff's note


def test_staff_verify_answers_the_writer_in_the_thread_of_their_written_request(staffed):
    desk = staffed
    case, asked = _verbal_unknown(desk)
    run(desk, _written(asked, "new_mail"))
    written = stored(desk)[-1]
    (verify,) = mails_of(desk, "verification_request")
    run(desk, staff_mail("#verify ACME\n", subject=f"Re: {verify['Subject']}"))
    (after,) = cases(desk)
    assert (after.state, after.account.key) == ("open", "ACME")
    (ack,) = mails_of(desk, "acknowledgment")
    assert ack["To"] == UNKNOWN and ack["In-Reply-To"] == written.message_key


def test_a_new_mail_from_a_contact_on_file_is_the_written_request_of_their_verbal_case(staffed):
    desk = staffed
    run(desk, staff_mail(f"#verbal {JANE} rang to cancel PPC\n"))
    run(desk, fixture("gmail_reply_above_quote", From=f"Jane Doe <{JANE}>", To="cancel@agency.example",
                      Subject="Cancelling", In_Reply_To=None, References=None))
    (case,) = cases(desk)   # not a second case
    assert (case.state, case.verified) == ("open", True) and "SEO" in case.requested_services
    assert stored(desk)[-1].label == "case-reply:written"
    assert [m["To"] for m in mails_of(desk, "acknowledgment")] == [JANE]


# -- a verified request beside a case waiting for identity -------------------------------------


def _stranger_then_jane(desk, stranger: str):
    run(desk, fixture("html_only_reply", From=stranger))   # "we want to cancel ... Social"
    run(desk, fixture("gmail_reply_above_quote", From=f"Jane Doe <{JANE}>", To="cancel@agency.example",
                      Subject="Cancelling", In_Reply_To=None, References=None))
    waiting, active = cases(desk)
    return waiting, active


@pytest.mark.parametrize("stranger, why", [
    (f"Jane <{STRANGER}>", "bears the name of Jane Doe <jane@acme.example> on file"),
    ('"Doe, Jane" <jd1984@mailbox.example>', "bears the name of Jane Doe"),
    ("New Colleague <new.colleague@acme.example>", "writes from acme.example, like jane@acme.example on file"),
])
def test_the_team_is_told_of_a_lookalike_waiting_for_identity(staffed, stranger, why):
    desk = staffed
    waiting, active = _stranger_then_jane(desk, stranger)
    assert (waiting.state, active.state, active.account.key) == ("awaiting_identity", "open", "ACME")
    notices = mails_of(desk, "unverified_lookalike_notice")
    assert readers(notices) == TEAM
    body = text_of(notices[0])
    assert waiting.reference in notices[0]["Subject"] and active.reference in body and why in body
    assert f"#withdrawn duplicate of {active.reference}" in body and "#verify ACME" in body
    assert "Social" in body   # the waiting request's own words
    assert any(waiting.reference in e.summary for e in events(desk, active.id) if e.kind == "note")
    assert any(active.reference in e.summary for e in events(desk, waiting.id) if e.kind == "note")
    assert len(mails_of(desk, "acknowledgment")) == 1 and readers(mails_of(desk, "team_notice")) == TEAM


def test_withdrawn_in_reply_to_the_notice_ends_the_waiting_case_not_the_new_one(staffed):
    desk = staffed
    waiting, active = _stranger_then_jane(desk, f"Jane <{STRANGER}>")
    notice = next(m for m in mails_of(desk, "unverified_lookalike_notice") if "amy@agency.example" in readers([m]))
    run(desk, staff_mail(f"#withdrawn duplicate of {active.reference}\n", answering=notice))
    assert [(c.reference, c.state) for c in cases(desk)] == [(waiting.reference, "withdrawn"),
                                                            (active.reference, "open")]


def test_an_unrelated_stranger_is_not_mentioned_and_nothing_changes_by_itself(staffed):
    desk = staffed
    waiting, active = _stranger_then_jane(desk, "Dana White <dana@white-law.example>")
    assert mails_of(desk, "unverified_lookalike_notice") == []
    assert (waiting.state, active.state) == ("awaiting_identity", "open")

"""Threading: a mail finds its case by our Message-IDs, then the reply token, then the subject.

The subject's reference counts only for someone already on the case: a stranger who
guesses a reference opens nothing on it. Replies after closure follow `[desk] after_closure`.
Each scenario is written by a real client (Gmail, Outlook, Apple Mail, iPhone, Thunderbird).
"""
from __future__ import annotations

from dataclasses import replace

from daemon.db import transaction
from daemon.models import Case
from daemon.cases.workflow import Trigger, advance
from tests.pipeline.mailkit import JANE, cases, events, fixture, mails_of, open_request, run, stored


def test_gmail_reply_with_in_reply_to_joins_the_case(desk):
    case, ack = open_request(desk)
    run(desk, fixture("thunderbird_reply", From=f"Jane <{JANE}>", Subject=f"Re: {ack['Subject']}",
                      In_Reply_To=ack["Message-ID"], References=f"<x@client.example> {ack['Message-ID']}"))
    reply = stored(desk)[-1]
    assert (reply.label, reply.case_id) == ("case-reply", case.id)
    assert "our Message-ID" in reply.label_reason
    assert len(cases(desk)) == 1


def test_outlook_reply_without_threading_headers_finds_the_case_by_its_token(desk):
    case, ack = open_request(desk)
    # Outlook's reply keeps neither In-Reply-To nor our subject, but answers our Reply-To.
    run(desk, fixture("outlook_reply_from_sent_block", From=f'"Doe, Jane" <{JANE}>', To=ack["Reply-To"]))
    reply = stored(desk)[-1]
    assert (reply.label, reply.case_id) == ("case-reply", case.id)
    assert "case token" in reply.label_reason
    assert len(cases(desk)) == 1


def test_iphone_mail_citing_the_reference_in_the_subject_joins_when_the_sender_is_on_the_case(desk):
    case, _ = open_request(desk)
    run(desk, fixture("apple_mail_reply", From=f"Ops <ops@acme.example>", Subject=f"Re: {case.reference} pausing"))
    reply = stored(desk)[-1]   # ops@ is another contact of the same account
    assert (reply.label, reply.case_id) == ("case-reply", case.id)
    assert "reference in its subject" in reply.label_reason


def test_a_guessed_reference_from_a_stranger_does_not_attach(desk):
    case, _ = open_request(desk)
    # Bob is on file for no account; Hank is on file for another one (Globex).
    run(desk, fixture("iphone_sent_from_my_iphone", Subject=f"Re: {case.reference} cancellation received"))
    run(desk, fixture("apple_mail_reply", From="Hank <hank@globex.example>", Subject=f"Re: {case.reference}"))
    bob, hank = stored(desk)[-2:]
    assert bob.case_id is None and hank.case_id != case.id
    assert [e.kind for e in events(desk, case.id)].count("mail_in") == 1
    assert hank.label == "request:pause"   # judged as Globex's own request
    assert {c.account.key for c in cases(desk)} == {"ACME", "GLOBEX"}


def test_the_token_proves_a_stranger_saw_our_mail_but_only_on_our_domain(desk):
    case, ack = open_request(desk)
    elsewhere = ack["Reply-To"].replace("@agency.example", "@elsewhere.example")
    run(desk, fixture("iphone_sent_from_my_iphone", To=elsewhere, Subject="Re: our cancellation"))
    assert stored(desk)[-1].case_id is None
    run(desk, fixture("iphone_sent_from_my_iphone", To=ack["Reply-To"], Subject="Re: our cancellation"))
    assert stored(desk)[-1].case_id == case.id   # whoever Jane forwarded our mail to may write to the case


def _saved(desk, case):
    with transaction(desk.factory) as session:
        row = session.get(Case, case.id)
        advance(session, desk.bus, row, Trigger.SAVED, actor="amy@agency.example", at=desk.clock.now())


def test_new_request_after_closure_opens_a_linked_case_by_default(desk):
    case, ack = open_request(desk)
    _saved(desk, case)
    run(desk, fixture("gmail_reply_above_quote", From=f"Jane Doe <{JANE}>", To=ack["Reply-To"],
                      Subject=f"Re: {ack['Subject']}", In_Reply_To=ack["Message-ID"], References=ack["Message-ID"]))
    old, new = cases(desk)
    assert (old.state, new.state, new.kind) == ("saved", "open", "cancel")
    assert new.details["follows"] == old.reference and old.details["followed_by"] == [new.reference]
    assert stored(desk)[-1].case_id == new.id
    acks = [m for m in mails_of(desk, "acknowledgment") if new.reference in m["Subject"]]
    assert len(acks) == 1 and acks[0]["To"] == JANE
    # the next reply in the thread answers the new case's acknowledgment: it lands there
    run(desk, fixture("thunderbird_reply", From=f"Jane <{JANE}>", In_Reply_To=acks[0]["Message-ID"],
                      References=f"{ack['Message-ID']} {acks[0]['Message-ID']}"))
    assert stored(desk)[-1].case_id == new.id


def test_thanks_after_closure_is_kept_on_the_case_and_opens_nothing(desk):
    case, ack = open_request(desk)
    _saved(desk, case)
    run(desk, fixture("thunderbird_reply", From=f"Jane <{JANE}>", In_Reply_To=ack["Message-ID"], Subject="Re: thanks")
        .replace(b"We need to reduce the budget for Content from January.", b"Thank you for your help!"))
    assert [c.state for c in cases(desk)] == ["saved"]
    assert stored(desk)[-1].case_id == case.id


def test_new_request_after_closure_reopens_when_configured(desk):
    desk.config = replace(desk.config, desk=replace(desk.config.desk, after_closure="reopen"))
    case, ack = open_request(desk)
    _saved(desk, case)
    run(desk, fixture("apple_mail_reply", From=f"Jane <{JANE}>", In_Reply_To=ack["Message-ID"],
                      Subject=f"Re: {ack['Subject']}"))
    (only,) = cases(desk)
    assert (only.state, only.kind) == ("open", "pause")
    assert [e.kind for e in events(desk, only.id)].count("state:reopened") == 1
    reopened_acks = [m for m in mails_of(desk, "acknowledgment") if m["In-Reply-To"] != ack["In-Reply-To"]]
    assert len(reopened_acks) == 1 and "pause" in reopened_acks[0]["Subject"]


def test_a_stranger_in_a_finished_thread_cannot_reopen_it(desk):
    desk.config = replace(desk.config, desk=replace(desk.config.desk, after_closure="reopen"))
    case, ack = open_request(desk)
    _saved(desk, case)
    run(desk, fixture("html_only_reply", To=ack["Reply-To"], In_Reply_To=ack["Message-ID"]))   # dana@white-law
    old, new = cases(desk)
    assert (old.state, new.state, new.requester) == ("saved", "awaiting_identity", "dana@white-law.example")
    assert "follows" not in new.details and stored(desk)[-1].case_id == new.id

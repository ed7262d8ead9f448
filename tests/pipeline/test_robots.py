"""Robots through the whole pipeline: recorded on their case, never answered, bounces noted.

A DSN for one of our own acknowledgments marks that outbox entry and the contact as
bouncing; out-of-office replies from real clients are kept on the case they answer; our
own mail coming back is recorded and not answered; the per-recipient cap holds back
every automatic mail, the refusal of a customer's #commands included.
"""
from __future__ import annotations

from sqlalchemy import select

from daemon.db import transaction
from daemon.models import Case, Contact
from daemon.cases.workflow import Trigger, advance
from tests.pipeline.mailkit import (JANE, cases, events, fixture, open_request, outbox_entry, rewrite, run, sent,
                                    sent_to, stored)
from tests.support import mail


def our_dsn(original: bytes, failed: str, *, status: str = "5.1.1") -> bytes:
    """A Postfix-style RFC 3464 report for `original`, a mail we sent."""
    return (
        "Return-Path: <>\r\n"
        "From: MAILER-DAEMON@mx.acme.example (Mail Delivery System)\r\n"
        "To: cancel@agency.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Mon, 23 Nov 2026 09:01:00 +0000\r\n"
        "Message-ID: <20261123090100.DSN1@mx.acme.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
        "--dsn\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.acme.example.\r\n\r\n"
        f"<{failed}>: host mx.acme.example said: 550 5.1.1 User unknown\r\n\r\n"
        "--dsn\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acme.example\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nOriginal-Recipient: rfc822;{failed}\r\n"
        f"Action: failed\r\nStatus: {status}\r\nDiagnostic-Code: smtp; 550 {status} User unknown\r\n\r\n"
        "--dsn\r\nContent-Type: message/rfc822\r\n\r\n"
    ).encode() + original + b"\r\n--dsn--\r\n"


def test_bounce_of_our_acknowledgment_marks_the_mail_and_the_contact(desk):
    case, ack = open_request(desk)
    before = len(sent(desk))
    run(desk, our_dsn(bytes(ack), JANE))
    assert len(sent(desk)) == before                      # nothing answers a bounce
    entry = outbox_entry(desk, ack["Message-ID"])
    assert entry.last_error == f"bounced: {JANE} 5.1.1"
    with transaction(desk.factory) as session:
        assert session.scalars(select(Contact).where(Contact.email == JANE)).one().bouncing
    bounce = stored(desk)[-1]
    assert (bounce.label, bounce.case_id) == ("robot:bounce", case.id)
    assert f"our mail {ack['Message-ID']}" in bounce.label_reason
    assert [e.kind for e in events(desk, case.id)][-1] == "robot:bounce"


def test_bounce_of_someone_elses_mail_marks_nothing_of_ours(desk):
    case, ack = open_request(desk)
    foreign = mail(sender="Jane Doe <jane@acme.example>", message_id="<not-ours@acme.example>")
    run(desk, our_dsn(foreign, JANE))
    assert outbox_entry(desk, ack["Message-ID"]).last_error == ""
    bounce = stored(desk)[-1]
    assert bounce.label == "robot:bounce" and "not a mail of ours" in bounce.label_reason
    assert bounce.case_id is None


def test_out_of_office_in_the_thread_is_recorded_on_the_case_and_not_answered(desk):
    case, ack = open_request(desk)
    before = len(sent(desk))
    run(desk, fixture("out_of_office_auto_reply", From=f"Jane Doe <{JANE}>",
                      Subject=f"Automatische Antwort: {ack['Subject']}", In_Reply_To=ack["Message-ID"]))
    run(desk, fixture("out_of_office_subject_only", From=f"Jane Doe <{JANE}>", To=ack["Reply-To"]))
    assert len(sent(desk)) == before
    ooo = stored(desk)[-2:]
    assert [(m.label, m.case_id) for m in ooo] == [("robot:auto-reply", case.id)] * 2
    assert [e.kind for e in events(desk, case.id)].count("robot:auto-reply") == 2
    assert len(cases(desk)) == 1


def test_list_and_noreply_mail_with_cancel_words_opens_nothing(desk):
    run(desk, fixture("list_mail"), fixture("noreply_sender"))
    assert [m.label for m in stored(desk)] == ["robot:list", "robot:noreply"]
    assert cases(desk) == [] and sent(desk) == []


def test_our_own_acknowledgment_coming_back_is_recorded_not_answered(desk):
    case, ack = open_request(desk)
    before = len(sent(desk))
    run(desk, bytes(ack))                                    # a forwarding rule sends it back to us
    run(desk, rewrite(bytes(ack), Message_ID="<copy-1@acme.example>", Auto_Submitted=None,
                      From=f"Desk <{ack['Reply-To']}>"))   # and a copy from our case address, marker stripped
    assert len(sent(desk)) == before
    assert [(m.label, m.case_id) for m in stored(desk)[-2:]] == [("own-mail", case.id)] * 2


def test_mail_without_a_usable_sender_is_left_for_a_person(desk):
    run(desk, rewrite(mail(body="Please cancel everything.\n"), From="undisclosed-recipients:;"))
    row = stored(desk)[-1]
    assert (row.label, row.label_reason) == ("for-a-person", "no usable sender address: left for a person")
    assert cases(desk) == [] and sent(desk) == []


def test_per_recipient_cap_holds_back_refusals_of_customers_commands(desk):
    cap = desk.config.desk.max_automatic_mails_per_recipient_per_day
    run(desk, *(mail(sender="Pest <pest@freemail.example>", subject=f"try {n}", body="#approve\n#cancel SEO\n")
                for n in range(cap + 3)))
    assert 0 < len(sent_to(desk, "pest@freemail.example")) <= cap
    assert cases(desk) == []


def test_per_recipient_cap_holds_back_verification_requests_and_written_request_mail(desk):
    cap = desk.config.desk.max_automatic_mails_per_recipient_per_day
    for n in range(cap + 2):   # each mail closes the previous case so a new one opens and asks again
        run(desk, mail(sender="someone@freemail.example", subject=f"Cancel {n}", body=f"Cancel my account ({n}).\n"))
        _withdraw_open_cases(desk)
    assert len(cases(desk)) == cap + 2
    assert len(sent_to(desk, "someone@freemail.example")) == cap
    suppressed = [e for c in cases(desk) for e in events(desk, c.id) if e.kind == "mail_suppressed"]
    assert len(suppressed) == 2 and "daily limit" in suppressed[0].summary


def _withdraw_open_cases(desk):
    with transaction(desk.factory) as session:
        for case in session.scalars(select(Case).where(Case.state == "awaiting_identity")):
            advance(session, desk.bus, case, Trigger.WITHDRAWN, actor="amy@agency.example", at=desk.clock.now())

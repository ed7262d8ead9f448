"""A written request that joins the account's case in progress, through the whole pipeline.

Initech has two contacts on file (Peter and Joanna). Peter's request opens the case; a
later mail from either of them that is not a reply to it joins that case: its writer is
acknowledged in their own thread, the team is told what it adds, and the case's services,
kind and final day grow to cover it.
"""
from __future__ import annotations

from datetime import date

from daemon.app import make_source
from daemon.intake.watcher import Watcher
from tests.core.test_imap_e2e import imap_desk  # noqa: F401 (fixture: Dovecot in, aiosmtpd out)
from tests.pipeline.mailkit import cases, events, mails_of, readers, run, text_of
from tests.support import mail

PETER = "Peter Gibbons <peter@initech.example>"
JOANNA = "Joanna <joanna@initech.example>"
INITECH_TEAM = {"bob@agency.example", "tom@agency.example", "pia@agency.example", "eve@agency.example"}

PETERS_REQUEST = "Hi,\n\nplease cancel our PPC campaign at the end of January.\n\nRegards,\nPeter\n"
# Joanna writes in German, in a new thread: "please also cancel our e-mail service, on 28 February 2027".
JOANNAS_REQUEST = ("Hallo,\n\nbitte kündigen Sie zusätzlich unseren Email-Service zum 28.02.2027.\n\n"
                   "Viele Grüße\nJoanna\n")


def test_a_second_contact_cancelling_another_service_joins_the_case_and_everyone_hears(desk):
    run(desk, mail(sender=PETER, subject="Cancellation", body=PETERS_REQUEST))
    run(desk, mail(sender=JOANNA, subject="Kündigung E-Mail", body=JOANNAS_REQUEST,
                   message_id="<joanna-1@initech.example>"))

    (case,) = cases(desk)
    assert (case.kind, case.requested_services) == ("cancel", ["PPC", "Email"])
    assert case.requested_final_day == date(2027, 2, 28)
    assert case.details["contract"]["requested_final_day"] == "2027-02-28"   # the review follows the new day

    (ack,) = mails_of(desk, "join_acknowledgment")
    assert ack["To"] == "joanna@initech.example" and case.reference in ack["Subject"]
    assert ack["In-Reply-To"] == "<joanna-1@initech.example>" and ack["Auto-Submitted"] == "auto-replied"
    assert "You asked about: Email." in text_of(ack) and "The case now covers: PPC and Email." in text_of(ack)

    notices = mails_of(desk, "join_notice")
    assert readers(notices) == INITECH_TEAM
    notice = text_of(notices[0])
    assert "joanna@initech.example" in notices[0]["Subject"] and "Email" in notices[0]["Subject"]
    assert "Services added: Email" in notice and "Final day asked: 31 January 2027 → 28 February 2027" in notice
    assert "Email-Service zum 28.02.2027" in notice
    [joined] = [e for e in events(desk, case.id) if e.kind == "request_joined"]
    assert joined.actor == "joanna@initech.example" and "services + Email" in joined.summary
    assert len(mails_of(desk, "acknowledgment")) == 1   # Peter's, once: no second case, no second opening


def test_a_cancellation_joining_a_pause_makes_the_case_a_cancellation(desk):
    run(desk, mail(sender=PETER, subject="Budget", body="Hello,\n\ncould you pause our PPC until the end of "
                                                       "February? Budget is tight this winter.\n\nPeter\n"))
    run(desk, mail(sender=JOANNA, subject="PPC", body="Hi,\n\nwe have decided to cancel PPC altogether, "
                                                      "at the end of March.\n\nJoanna\n"))

    (case,) = cases(desk)
    assert (case.kind, case.requested_services, case.requested_final_day) == ("cancel", ["PPC"], date(2027, 3, 31))
    notice = text_of(mails_of(desk, "join_notice")[0])
    assert "Kind: pause → cancellation" in notice and "Services added" not in notice
    assert mails_of(desk, "join_acknowledgment")[0]["To"] == "joanna@initech.example"


def test_the_requester_writing_again_with_nothing_new_is_answered_but_the_team_not_bothered(desk):
    run(desk, mail(sender=PETER, subject="Cancellation", body=PETERS_REQUEST))
    run(desk, mail(sender=PETER, subject="Cancellation (resent)", body=PETERS_REQUEST))

    (case,) = cases(desk)
    assert (case.requested_services, case.requested_final_day) == (["PPC"], date(2027, 1, 31))
    assert [m["To"] for m in mails_of(desk, "join_acknowledgment")] == ["peter@initech.example"]
    assert mails_of(desk, "join_notice") == []
    [joined] = [e for e in events(desk, case.id) if e.kind == "request_joined"]
    assert joined.summary.endswith("nothing new for the case")


def test_a_join_through_dovecot_and_aiosmtpd(imap_desk, dovecot_user, smtp_server):
    for sender, body in ((PETER, PETERS_REQUEST), (JOANNA, JOANNAS_REQUEST)):
        dovecot_user.append(mail(sender=sender, subject="Kündigung", body=body))
        Watcher(imap_desk, make_source(imap_desk.config)).run_once()

    to_joanna = [m.message for m in smtp_server.messages if m.rcpt_tos == ("joanna@initech.example",)]
    assert [str(m["Subject"]).startswith("We added your message") for m in to_joanna] == [True]
    to_team = {a for m in smtp_server.messages if "adds to the case" in str(m.message["Subject"]) for a in m.rcpt_tos}
    assert to_team == INITECH_TEAM
    (case,) = cases(imap_desk)
    assert case.requested_services == ["PPC", "Email"]

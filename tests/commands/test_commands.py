"""Each simple command end to end: Maildir in, .eml results out, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import func, select

from daemon.db import transaction
from daemon.models import Case
from tests.commands.helpers import open_case, results_for, run, sent_to, staff_mail, text, the_case


def test_help_lists_only_the_commands_the_sender_may_run(desk):
    amy = text(results_for(desk, staff_mail("#help\n")))
    gary = text(results_for(desk, staff_mail("#help\n", sender="Gary <gary@agency.example>"), "gary@agency.example"))
    assert "#verbal customer@example.com [note]" in amy and "#withdrawn [note]" in amy
    assert "#note TEXT" in gary and "#status" in gary
    assert "#verbal" not in gary and "#withdrawn" not in gary  # general_manager has neither role


def test_results_mail_answers_the_command_mail(desk):
    notice = open_case(desk)
    results = results_for(desk, staff_mail("#note Jane sounded unhappy about reporting\n", answering=notice,
                                           message_id="<cmd-1@agency.example>"))
    assert results["In-Reply-To"] == "<cmd-1@agency.example>"
    assert "CX-2026-0001" in results["Subject"]
    assert "Done:" in text(results) and "note added to CX-2026-0001" in text(results)
    case = the_case(desk)
    assert ("note", "Jane sounded unhappy about reporting") in case["events"]
    assert any(kind == "commands" for kind, _ in case["events"])  # the command mail is on the timeline


def test_case_found_by_reference_in_a_staff_subject(desk):
    open_case(desk)
    results = results_for(desk, staff_mail("#note spoke to Jane\n", subject="About CX-2026-0001"))
    assert "note added to CX-2026-0001" in text(results)


def test_reason_suggests_the_offers_that_answer_it(desk):
    notice = open_case(desk)
    body = text(results_for(desk, staff_mail("#reason price: says we cost twice the competition\n", answering=notice)))
    assert "reason recorded: price" in body
    assert "discount: A discount on the monthly fee" in body and "free_month:" in body and "downgrade:" in body
    assert "strategy_review" not in body  # answers results and service, not price
    reasons = the_case(desk)["reasons"]
    assert [(r["category"], r["text"], r["by"]) for r in reasons] == [
        ("price", "says we cost twice the competition", "amy@agency.example")]


def test_offer_made_then_accepted(desk):
    notice = open_case(desk)
    results_for(desk, staff_mail("#offer discount 20% for three months\n", answering=notice))
    body = text(results_for(desk, staff_mail("#offer discount accepted on the call\n", answering=notice)))
    assert "offer discount accepted" in body
    offers = the_case(desk)["offers"]
    assert [(o["name"], o["details"], o["outcome"]) for o in offers] == [("discount", "20% for three months", "accepted")]


def test_status_shows_the_case(desk):
    notice = open_case(desk)
    desk.pending_timers = lambda desk, session, case: [f"SLA check for {case.reference} on Tuesday"]
    body = text(results_for(desk, staff_mail("#reason results: no new leads\n#offer strategy_review Friday\n#status\n",
                                             answering=notice)))
    assert "State:      open" in body and "Requester:  jane@acme.example" in body
    assert "Services:   SEO, PPC" in body and "results: no new leads" in body
    assert "strategy_review (made) Friday" in body and "SLA check for CX-2026-0001 on Tuesday" in body


def test_withdrawn_ends_the_case(desk):
    notice = open_case(desk)
    body = text(results_for(desk, staff_mail("#withdrawn Jane called back: they stay\n", answering=notice)))
    assert "CX-2026-0001 is now withdrawn" in body
    assert the_case(desk)["state"] == "withdrawn"


def test_end_stops_the_reading(desk):
    notice = open_case(desk)
    body = text(results_for(desk, staff_mail("#note first\n#end\nAmy Smith\n#note from the signature\n",
                                             answering=notice)))
    notes = [summary for kind, summary in the_case(desk)["events"] if kind == "note"]
    assert notes == ["first"]
    assert "2 line(s) below #end were not read." in body


def test_plain_staff_reply_on_a_case_is_a_note(desk):
    notice = open_case(desk)
    before = len(sent_to(desk, "amy@agency.example"))
    run(desk, staff_mail("I will call Jane tomorrow morning.\n", answering=notice))
    assert len(sent_to(desk, "amy@agency.example")) == before  # no commands: no results mail
    assert ("note", "I will call Jane tomorrow morning.") in the_case(desk)["events"]


def test_commands_without_a_case_that_need_one_are_refused(desk):
    body = text(results_for(desk, staff_mail("#note lost\n")))
    assert "#note needs a case" in body
    with transaction(desk.factory) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0

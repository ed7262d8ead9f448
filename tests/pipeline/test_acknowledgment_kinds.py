"""The acknowledgment and the team notice say what is true for the kind of request and the contract as it stands."""
from __future__ import annotations

from tests.pipeline.mailkit import cases, run, sent_to, text_of
from tests.support import mail


def _ack(desk, address: str) -> str:
    [ack] = [m for m in sent_to(desk, address) if "We received" in str(m["Subject"])]
    return text_of(ack)


def test_a_pause_request_is_acknowledged_as_a_pause(desk):
    run(desk, mail(subject="Pausing SEO over the winter",
                   body="Hi,\n\nbusiness is slow in winter, so we would like to pause our SEO until "
                        "1 March 2027 and pick it up again then.\n\nBest,\nJane\n"))
    assert [c.kind for c in cases(desk)] == ["pause"]
    ack = _ack(desk, "jane@acme.example")
    assert "pause request" in ack and "You asked to pause: SEO." in ack
    assert "resume on 1 March 2027" in ack and "2027-03-01" not in ack
    assert "nothing is closed or deleted" in ack and "7 days before" in ack
    for cancellation_words in ("what ends", "final day of service", "understand your reasons"):
        assert cancellation_words not in ack


def test_a_change_request_is_acknowledged_as_a_change(desk):
    run(desk, mail(subject="Our PPC budget",
                   body="Hello,\n\nwe need to reduce the budget for PPC from January, can we change "
                        "the package to a smaller one?\n\nThanks\nJane\n"))
    assert [c.kind for c in cases(desk)] == ["change"]
    ack = _ack(desk, "jane@acme.example")
    assert "You asked to change: PPC." in ack and "new monthly amount" in ack
    assert "what ends" not in ack and "final day of service" not in ack


def test_the_notice_names_a_contract_past_its_term_as_month_to_month(desk):
    # Globex's twelve months from 15 June 2025 ended on 14 June 2026; the request is in November.
    run(desk, mail(sender="Hank Scorpio <hank@globex.example>", body="Please cancel our SEO.\n"))
    notice = text_of(next(m for m in sent_to(desk, "amy@agency.example") if "request from" in str(m["Subject"])))
    assert "Term: month to month since 15 June 2026, with 30 days' notice" in notice
    assert "2026-06-14" not in notice and "14 June 2026" not in notice


def test_the_notice_names_a_contract_in_its_term_as_such(desk):
    run(desk, mail(body="Please cancel our SEO.\n"))
    notice = text_of(next(m for m in sent_to(desk, "amy@agency.example") if "request from" in str(m["Subject"])))
    assert "Term: in its initial term until 28 February 2027" in notice

"""The robot corpus through the whole pipeline: as the robots sent it, and from a contact's mailbox.

tests/fixtures/robots holds one folder per family (DSN and plain-text bounces, mail
systems with no address, feedback reports and receipts, auto-replies in several languages,
helpdesk acknowledgments). Sent as is, and again with From and Return-Path rewritten to
Jane (a contact on file), which is how a customer's own auto-reply arrives: no mail goes
out, no case opens, every one is labelled robot with its reason. On Jane's open case each
is kept as robot mail, never as her reply.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.mailkit import JANE, cases, events, open_request, rewrite, run, sent, stored

ROBOTS = Path(__file__).resolve().parents[1] / "fixtures" / "robots"
CORPUS = sorted(ROBOTS.glob("*/*.eml"))


def as_contact(raw: bytes, **headers: str) -> bytes:
    return rewrite(raw, From=f"Jane Doe <{JANE}>", Return_Path=f"<{JANE}>", Sender=None, **headers)


def _labels(desk) -> dict[str, tuple[str, str]]:
    return {row.message_key: (row.label, row.label_reason) for row in stored(desk)}


def _unrecognised(desk) -> list[str]:
    return [f"{key}: {label} ({reason})" for key, (label, reason) in _labels(desk).items()
            if not label.startswith("robot:") or not reason]


def test_the_corpus_covers_every_family():
    assert {p.parent.name for p in CORPUS} == {"auto-reply", "bounce-dsn", "bounce-plain", "feedback", "helpdesk",
                                              "mailer-daemon"}
    assert all(len(list((ROBOTS / family).glob("*.eml"))) >= 2 for family in {p.parent.name for p in CORPUS})


@pytest.mark.parametrize("from_contact", [False, True], ids=["as-is", "from-a-contact"])
def test_robots_are_never_answered_and_open_no_case(desk, from_contact):
    raws = [as_contact(p.read_bytes()) if from_contact else p.read_bytes() for p in CORPUS]
    run(desk, *raws)
    assert len(stored(desk)) == len(CORPUS)
    assert _unrecognised(desk) == []
    assert sent(desk) == [] and cases(desk) == []


def test_robots_on_a_contacts_open_case_are_robot_mail_not_her_reply(desk):
    case, ack = open_request(desk)
    before = len(sent(desk))
    raws = [as_contact(p.read_bytes(), In_Reply_To=ack["Message-ID"], References=ack["Message-ID"]) for p in CORPUS]
    run(desk, *raws)
    assert len(sent(desk)) == before and len(cases(desk)) == 1
    robots = stored(desk)[1:]
    assert [r.label for r in robots if not r.label.startswith("robot:")] == []
    added = [e for e in events(desk, case.id) if e.message_id in {r.id for r in robots}]
    assert len(added) == len(CORPUS) and all(e.kind.startswith("robot:") for e in added)

"""Robots known by what they say: the robot corpus read with nothing but its body as evidence.

Each fixture under tests/fixtures/robots is rewritten to come from a contact's mailbox
(From and Return-Path), with every marker header and subject a rule could lean on taken
away, so the verdict must come from the body (flufl.bounce or our own sentences). People
who mention a holiday, a bounce or a helpdesk in passing stay people.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from parsers.message import parse_message
from parsers.robots import detect_robot
from tests.pipeline.mailkit import rewrite

ROBOTS = Path(__file__).resolve().parents[1] / 'fixtures' / 'robots'
# Families whose evidence is a multipart/report or a header by design, not a sentence.
BODY_FAMILIES = ('auto-reply', 'bounce-plain', 'helpdesk', 'mailer-daemon')
MARKERS = ('Auto-Submitted', 'X-Failed-Recipients', 'X-Mailer', 'X-Zendesk-From-Account-Id', 'X-Zendesk-Email-Id',
           'X-Powered-By', 'In-Reply-To')


def body_only(raw: bytes) -> bytes:
    stripped = {name.replace('-', '_'): None for name in MARKERS}
    return rewrite(raw, From='Jane Doe <jane@acme.example>', Return_Path='<jane@acme.example>',
                   Subject='Re: your mail', **stripped)


@pytest.mark.parametrize('path', sorted(p for family in BODY_FAMILIES for p in (ROBOTS / family).glob('*.eml')),
                         ids=lambda p: f'{p.parent.name}/{p.stem}')
def test_robot_is_known_by_its_body_alone(path: Path) -> None:
    raw = body_only(path.read_bytes())
    verdict = detect_robot(parse_message(raw), raw)
    assert verdict is not None, path.name
    expected = 'bounce' if path.parent.name in ('bounce-plain', 'mailer-daemon') else 'auto-reply'
    assert verdict.kind == expected and verdict.reason


def test_feedback_report_behind_a_byte_order_mark() -> None:
    raw = (ROBOTS / 'feedback' / 'aol_arf_with_bom.eml').read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf')
    parsed = parse_message(raw)
    assert parsed.from_.addr == 'scomp@aol.net'
    assert detect_robot(parsed, raw).kind == 'feedback-report'


@pytest.mark.parametrize('header', ['MAILER-DAEMON <>', '"Postmaster" <>', 'Mail Delivery Subsystem <MAILER-DAEMON>'])
def test_mail_system_names_without_an_address(header: str) -> None:
    raw = (f'From: {header}\nTo: cancel@agency.example\nSubject: Re: your mail\n\n'
           'Your request to cancel was noted.\n').encode()
    verdict = detect_robot(parse_message(raw), raw)
    assert verdict is not None and verdict.kind == 'bounce'


PEOPLE = {
    'away in passing': "Hi,\n\nWe have been going through the budget for next year and decided to stop.\n"
                       "I am on holiday from Friday and will reply to questions when I return, so please "
                       "cancel our PPC at the end of December.\n\nJane",
    'holiday first': "I'm out of the office next week, so please cancel our SEO from 1 December.\n\nJane",
    'quoted bounce': "Your last mail bounced, see below. Please cancel the Social service.\n\n"
                     "> Hi. This is the qmail-send program at mail.acme.example.\n"
                     "> I'm afraid I wasn't able to deliver your message to the following addresses.\n",
    'mentions a bounce': "Our old address gave a 'Mail delivery failed' error, so write to me here.\n"
                         "Please cancel our SEO service at the end of March.",
    'mentions a helpdesk': "Your helpdesk said our request has been received, but nothing happened.\n"
                           "Please cancel everything now.",
    'automated in passing': "We no longer need the automated reports. Is this an automated response you send "
                            "to everyone? Please pause the PPC campaign.",
}


@pytest.mark.parametrize('text', PEOPLE.values(), ids=PEOPLE.keys())
def test_people_who_mention_robots_are_people(text: str) -> None:
    raw = ('From: Jane Doe <jane@acme.example>\nTo: cancel@agency.example\nSubject: Our services\n'
           'Message-ID: <p1@acme.example>\nContent-Type: text/plain; charset=utf-8\n\n' + text + '\n').encode()
    assert detect_robot(parse_message(raw), raw) is None

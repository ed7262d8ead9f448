"""Third-party mail from ../shared/corpora through parse_message, detect_robot and bounce_info.

Proves the parsers survive mail from the wild, and checks real values by hand-read facts:
flanker's bounces, talon's replies.
"""
from __future__ import annotations

import mailbox
import os
from pathlib import Path

import pytest

from bench.corpora import DEFAULT_CORPORA, corpus_messages
from parsers.message import parse_message
from parsers.robots import bounce_info, detect_robot


CORPORA = Path(os.environ.get('CANCELDESK_CORPORA') or DEFAULT_CORPORA)


@pytest.fixture(scope='module')
def corpora() -> Path:
    if not (CORPORA / 'MANIFEST.tsv').is_file():
        if os.environ.get('CANCELDESK_REQUIRE_SERVICES') == '1':
            pytest.fail(f'corpora not found at {CORPORA} (CANCELDESK_REQUIRE_SERVICES=1)')
        pytest.skip(f'corpora not found at {CORPORA}; set CANCELDESK_CORPORA to run these')
    return CORPORA


def test_every_corpus_message_parses_and_classifies(corpora: Path) -> None:
    """rfc822 and mbox files as messages; 'other' and the binary Outlook .msg only must not crash."""
    counts: dict[str, int] = {}
    for source, items in corpus_messages(corpora).items():
        for _name, raw in items:
            parsed = parse_message(raw)
            detect_robot(parsed, raw)
            bounce_info(parsed, raw)
            counts[source] = counts.get(source, 0) + 1
    assert counts['mailgun-flanker'] > 60 and counts['cpython-test_email'] > 40


def test_the_bounce_scan_finds_what_flufl_bounce_finds_on_the_stock_message(corpora: Path) -> None:
    """`scanned_failures` hands flufl.bounce a message that reads each payload once: every
    corpus mail gives the same addresses as flufl.bounce on the email package's own message."""
    from email import message_from_bytes, policy

    from flufl.bounce import all_failures

    from parsers.bounces import SCAN_LIMIT, _text, scanned_failures, without_bom

    found = 0
    for _source, items in corpus_messages(corpora).items():
        for _name, raw in items:
            try:
                temporary, permanent = all_failures(
                    message_from_bytes(without_bom(raw)[:SCAN_LIMIT], policy=policy.compat32))
            except Exception:
                continue  # no verdict from flufl.bounce either way (scanned_failures gives ())
            stock = {_text(a).lower() for a in (*temporary, *permanent)} - {''}
            assert scanned_failures(raw) == tuple(sorted(stock)), _name
            found += bool(stock)
    assert found >= 10  # the corpora hold bounces: the comparison is not between empty sets


def test_outlook_msg_binary_yields_defects_not_an_exception(corpora: Path) -> None:
    parsed = parse_message((corpora / 'spamscope-mail-parser/tests/mails/mail_outlook_1').read_bytes())
    assert 'missing From header' in parsed.defects


FLANKER = 'mailgun-flanker/tests/fixtures/messages/'


def _read(root: Path, relative: str):
    raw = (root / relative).read_bytes()
    return parse_message(raw), raw


@pytest.mark.parametrize('name', ['broken-mime.eml', 'delayed-broken.eml', 'delayed.eml',
                                  'gmail-invalid-address.eml', 'gmail-no-dns.eml', 'mailbox-full.eml',
                                  'no-mx.eml', 'office365.eml'])
def test_flanker_bounces_are_bounces(corpora: Path, name: str) -> None:
    parsed, raw = _read(corpora, FLANKER + 'bounce/' + name)
    verdict = detect_robot(parsed, raw)
    assert verdict is not None and verdict.kind == 'bounce'
    assert bounce_info(parsed, raw) is not None


def test_flanker_mbox_bounce_is_a_bounce(corpora: Path) -> None:
    box = mailbox.mbox(str(corpora / FLANKER / 'bounce/zed.eml'), create=False)
    raw = bytes(box[0])
    box.close()
    info = bounce_info(parse_message(raw), raw)
    assert info is not None
    assert info.failed_recipients == ('asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com',)
    assert info.original_message_id == '<20090708054735.GC7578@example.com>'
    assert info.status == '5.1.1'


@pytest.mark.parametrize('name, recipients, original, status', [
    ('office365.eml', ('noname@example.com',), '<20171013111011.20866.254C2F3A4D7AA526@ninomail.com>', '5.1.10'),
    ('mailbox-full.eml', ('user@aol.com',), '<4E326A95.3010907@example.com>', '5.2.2'),
    ('no-mx.eml', ('user@example.com',), '<19E44CA63F984902B7D654F8FF40F89D@bo>', '4.4.4'),
    ('delayed.eml', ('foo@example.com',), '', '4.0.0'),
    ('delayed-broken.eml', ('demo@example.com',), '', '4.2.2'),
    ('gmail-invalid-address.eml', ('awfawfawfawfawfaw@someserverhere.com',),
     '<CAKsfaBUUGqVZiaMrmH3TRPfq1odQPtM7Ey5YW1SgyJJRHtAjgw@mail.gmail.com>', '5.1.0'),
    ('gmail-no-dns.eml', ('user@example.comm',), '', '5.0.0'),
    ('broken-mime.eml', ('info@example.net',), '', '5.0.0'),
])
def test_flanker_bounce_details(corpora: Path, name: str, recipients, original: str, status: str) -> None:
    parsed, raw = _read(corpora, FLANKER + 'bounce/' + name)
    info = bounce_info(parsed, raw)
    assert (info.failed_recipients, info.original_message_id, info.status) == (recipients, original, status)


@pytest.mark.parametrize('name, kind', [('complaints/aol.eml', 'feedback-report'),
                                        ('complaints/yahoo.eml', 'feedback-report'),
                                        ('disposition-notification.eml', 'receipt')])
def test_flanker_reports(corpora: Path, name: str, kind: str) -> None:
    parsed, raw = _read(corpora, FLANKER + name)
    assert detect_robot(parsed, raw).kind == kind
    assert bounce_info(parsed, raw) is None


TALON = 'mailgun-talon/tests/fixtures/'


@pytest.mark.parametrize('name', ['gmail.eml', 'outlook.eml', 'apple_mail.eml', 'iphone.eml', 'thunderbird.eml',
                                  'yahoo.eml', 'aol.eml', 'hotmail.eml', 'comcast.eml', 'sparrow.eml',
                                  'apple_mail_2.eml', 'android.eml'])
def test_talon_replies_lose_quote_and_signature(corpora: Path, name: str) -> None:
    parsed, _ = _read(corpora, TALON + 'standard_replies/' + name)
    assert parsed.new_text == 'Hello'


def test_talon_iphone_reply_matches_talons_expected_reply(corpora: Path) -> None:
    """talon's own expectation keeps 'Sent from my iPhone'; we drop the signature too."""
    parsed, _ = _read(corpora, TALON + 'standard_replies/iphone.eml')
    expected = (corpora / TALON / 'standard_replies/iphone_reply_text').read_text()
    assert expected.startswith(parsed.new_text)
    assert 'wrote' not in parsed.new_text and '> Hi' not in parsed.new_text


def test_talon_thunderbird_bottom_post_keeps_the_answer_below(corpora: Path) -> None:
    parsed, _ = _read(corpora, TALON + 'standard_replies/thunderbird.eml')
    assert parsed.from_.addr == 'bob@xxx.mailgun.org'
    assert parsed.new_text == 'Hello'


def test_talon_reply_sharing_a_block_with_the_quote(corpora: Path) -> None:
    parsed, _ = _read(corpora, TALON + 'reply-quotations-share-block.eml')
    assert parsed.new_text.startswith('Hi Katharine.')
    assert 'wrote:' not in parsed.new_text

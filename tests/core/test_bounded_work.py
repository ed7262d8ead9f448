"""Bounded work per mail: a huge body is read up to the text cap, deep MIME is set aside."""
from __future__ import annotations

from sqlalchemy import select

from daemon.intake import pipeline
from daemon.app import make_source
from daemon.db import transaction
from daemon.intake.watcher import Watcher
from integrations.maildir import deliver
from daemon.models import Case, InboundMessage, MessageStatus
from parsers.body import MAX_TEXT_CHARS
from parsers.message import parse_message
from tests.pipeline.mailkit import run
from tests.support import mail


def _nested(depth: int) -> bytes:
    head = (b"From: Jane Doe <jane@acme.example>\r\nTo: cancel@agency.example\r\nSubject: Cancelling\r\n"
            b"Message-ID: <nested@acme.example>\r\nMIME-Version: 1.0\r\n")
    opening = b"".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
                       for i in range(depth))
    closing = b"".join(f"\r\n--b{i}--\r\n".encode() for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nPlease cancel our SEO service.\r\n" + closing


def _rows(desk) -> list[InboundMessage]:
    with transaction(desk.factory) as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def _reading_spies(monkeypatch) -> dict[str, list[int]]:
    """How many characters the slow readers are handed: the quote splitter, the clause reader, html2text."""
    import parsers.body as body_module
    import parsers.intent as intent_module
    import parsers.message as message_module

    seen: dict[str, list[int]] = {"quotes": [], "clauses": [], "html": []}
    for module, name, key in ((message_module, "reply_text", "quotes"), (intent_module, "clauses", "clauses"),
                              (body_module, "html_to_text", "html")):
        real = getattr(module, name)

        def spy(text, *args, _real=real, _key=key, **kwargs):
            seen[_key].append(len(text))
            return _real(text, *args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    return seen


def _process_one(desk, raw: bytes) -> InboundMessage:
    watcher = Watcher(desk, make_source(desk.config))
    deliver(desk.config.path("inbox"), raw)
    watcher.connect()
    watcher._intake()
    pipeline.process_pending(desk)
    watcher.source.close()
    (row,) = _rows(desk)
    return row


def test_an_8_mb_body_is_processed_reading_no_more_than_the_cap(desk, monkeypatch):
    """Bounded work, not a stopwatch (`bench/understanding.py` prints the time of the same mail)."""
    words = "We have decided to move our marketing in house and want to cancel SEO. "
    body = "Please cancel our SEO service from the end of the month.\n\n" + words * (8_000_000 // len(words))
    raw = mail(body=body)
    assert len(raw) > 8_000_000
    seen = _reading_spies(monkeypatch)
    row = _process_one(desk, raw)
    assert row.status is MessageStatus.PROCESSED, row.error
    with transaction(desk.factory) as session:
        assert len(session.scalars(select(Case)).all()) == 1
    assert seen["quotes"] and max(seen["quotes"]) <= MAX_TEXT_CHARS
    assert seen["clauses"] and max(seen["clauses"]) <= MAX_TEXT_CHARS


def test_a_large_html_only_mail_is_converted_once_and_only_its_head(desk, monkeypatch):
    paragraph = "<p>We have decided to move our marketing in house and want to cancel SEO.</p>\n"
    html = "<html><body><p>Please cancel our SEO service.</p>\n" + paragraph * (1_000_000 // len(paragraph))
    raw = mail(body=html).replace(b"Content-Type: text/plain", b"Content-Type: text/html", 1)
    seen = _reading_spies(monkeypatch)
    row = _process_one(desk, raw)
    assert row.status is MessageStatus.PROCESSED, row.error
    assert len(seen["html"]) == 1 and seen["html"][0] <= MAX_TEXT_CHARS * 4
    assert max(seen["clauses"]) <= MAX_TEXT_CHARS


def test_the_text_is_cut_at_the_cap_and_says_so():
    parsed = parse_message(mail(body="Please cancel.\n" + "x" * (MAX_TEXT_CHARS * 2)))
    assert len(parsed.text) == MAX_TEXT_CHARS
    assert f"text cut to its first {MAX_TEXT_CHARS} characters" in parsed.defects


def test_five_thousand_nested_parts_are_set_aside_with_the_reason(desk):
    run(desk, _nested(5000), mail(sender="Bob Stone <bob@acme.example>", body="Please cancel PPC.\n"))
    deep, normal = _rows(desk)
    assert deep.status is MessageStatus.SET_ASIDE
    assert "MIME parts nested deeper than 30 levels" in deep.error
    assert normal.status is MessageStatus.PROCESSED


def test_a_deep_mail_still_says_whose_it_is():
    parsed = parse_message(_nested(5000))
    assert parsed.unreadable and parsed.from_.addr == "jane@acme.example"
    assert not parse_message(_nested(10)).unreadable

"""Every message of the third-party corpora through the whole pipeline, on both databases.

Delivered into the Maildir, swept by the watcher, stored, classified, acted on, and the
outbox delivered as .eml files: nothing may crash, nothing may go to a robot, and every
stored message ends processed (or set aside) with its reason. The robots are then sent
again as if a contact on file had sent them, and still get nothing.
"""
from __future__ import annotations

import re

import pytest

from bench.corpora import corpus_messages, recipients, robot_addresses, run_through, sender_of_raw, stored_messages
from daemon.app import make_source
from daemon.models import MessageStatus
from tests.pipeline.mailkit import JANE, cases, rewrite, sent

FOLDERS = ("cpython-test_email", "mailgun-flanker", "mailgun-talon", "spamscope-mail-parser")
# Kinds of machine mail each folder holds (read by hand): the replay below covers them all.
ROBOT_KINDS = {"cpython-test_email": {"bounce", "bulk"}, "mailgun-talon": set(),
               "mailgun-flanker": {"bounce", "bulk", "receipt", "feedback-report"},
               "spamscope-mail-parser": {"bounce", "bulk", "list"}}
# Independent of parsers.robots: the RFC 3834 / RFC 2369 markers a robot's mail carries.
MACHINE_MARKERS = re.compile(rb"^(auto-submitted: *(?!no\b)\S|precedence: *(bulk|list|junk)|list-id:|"
                             rb"return-path: *<>|content-type: *multipart/report)", re.IGNORECASE | re.MULTILINE)


def _header_block(raw: bytes) -> bytes:
    return re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]


def _machine_senders(raws: list[bytes]) -> set[str]:
    return {sender_of_raw(raw) for raw in raws if MACHINE_MARKERS.search(_header_block(raw))} - {""}


@pytest.mark.parametrize("folder", FOLDERS)
def test_corpus_folder_through_the_whole_pipeline(desk, corpora_dir, folder):
    raws = [raw for _, raw in corpus_messages(corpora_dir)[folder]]
    run_through(desk, raws, make_source(desk.config))
    rows = stored_messages(desk)
    assert len(rows) >= len(raws) * 0.7   # duplicates by Message-ID are stored once
    for row in rows:
        assert row.status in (MessageStatus.PROCESSED, MessageStatus.SET_ASIDE), (row.id, row.status, row.error)
        assert row.label_reason if row.status is MessageStatus.PROCESSED else row.error
    robots = robot_addresses(rows) | _machine_senders(raws)
    to_robots = [m for m in sent(desk) if recipients(m) & robots]
    assert to_robots == [], [(m["To"], m["Subject"]) for m in to_robots]


@pytest.mark.parametrize("folder", FOLDERS)
def test_corpus_robots_sent_again_from_a_contact_on_file_get_nothing(desk, corpora_dir, folder):
    """Bounces, receipts, complaints, lists: with Jane's address in From they are still robots."""
    raws = [raw for _, raw in corpus_messages(corpora_dir)[folder]]
    run_through(desk, raws, make_source(desk.config))
    robots = [row for row in stored_messages(desk) if row.label.startswith("robot:")]
    assert {row.label.removeprefix("robot:") for row in robots} >= ROBOT_KINDS[folder]
    before = len(sent(desk))
    replayed = [rewrite(row.raw, From=f"Jane Doe <{JANE}>", Message_ID=f"<replay-{row.id}@acme.example>")
                for row in robots]
    run_through(desk, replayed, make_source(desk.config))
    again = [row for row in stored_messages(desk) if row.message_key.startswith("<replay-")]
    assert len(again) == len(robots)
    # Whatever a robot's headers or body gave away still gives it away; only a verdict that
    # rested on the From address alone ('postmaster@ ...') cannot survive the new From.
    by_sender = {f"<replay-{row.id}@acme.example>" for row in robots if row.label_reason.startswith("sender ")}
    assert [(row.label, row.label_reason) for row in again
            if not row.label.startswith("robot:") and row.message_key not in by_sender] == []
    assert [m["Subject"] for m in sent(desk)[before:] if JANE in recipients(m)] == []
    assert [c.reference for c in cases(desk) if c.requester == JANE] == []

"""Bench: robot mail per family through the whole pipeline, as sent and from a contact's mailbox.

Families are the folders of tests/fixtures/robots (written like the MTAs, clients and
helpdesks write them) and the robot mail among the third-party corpora (bounces, abuse
complaints, read receipts). Each family runs twice on a fresh desk (the demo
configuration, SQLite, example accounts): as is, and with From and Return-Path rewritten
to a contact on file (jane@acme.example), which is how a customer's own auto-reply comes
in. The table says per family and run how many messages went in, how many were labelled
robot, how many mails went back out (must be 0) and how many cases opened (must be 0).

    .venv/bin/python bench/robots.py [CORPORA_DIR]
"""
from __future__ import annotations

import mailbox
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ and tests/ are run from a checkout

from bench.corpora import DEFAULT_CORPORA, build_bench_desk, run_through, sent_mail, stored_messages
from daemon.db import transaction
from daemon.models import Case
from tests.pipeline.mailkit import rewrite

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "robots"
CONTACT = "Jane Doe <jane@acme.example>"
# The robot mail among the corpora, picked by reading each file (flanker's folders say what they hold).
CORPORA_FAMILIES = {
    "corpora: bounces": ("mailgun-flanker/tests/fixtures/messages/bounce/*.eml",
                         "cpython-test_email/Lib/test/test_email/data/msg_05.txt",
                         "cpython-test_email/Lib/test/test_email/data/msg_16.txt",
                         "cpython-test_email/Lib/test/test_email/data/msg_25.txt",
                         "cpython-test_email/Lib/test/test_email/data/msg_43.txt"),
    "corpora: complaints (ARF)": ("mailgun-flanker/tests/fixtures/messages/complaints/*.eml",),
    "corpora: read receipts": ("mailgun-flanker/tests/fixtures/messages/disposition-notification.eml",),
}


@dataclass(frozen=True)
class Run:
    messages: int
    recognised: int
    answered: int
    cases: int


def fixture_families() -> dict[str, list[bytes]]:
    return {f"fixtures: {folder.name}": [p.read_bytes() for p in sorted(folder.glob("*.eml"))]
            for folder in sorted(FIXTURES.iterdir()) if folder.is_dir()}


def corpora_families(root: Path) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for family, patterns in CORPORA_FAMILIES.items():
        paths = sorted({p for pattern in patterns for p in root.glob(pattern)})
        found[family] = [raw for path in paths for raw in _messages(path)]
    return {family: raws for family, raws in found.items() if raws}


def _messages(path: Path) -> list[bytes]:
    """One file's messages: an mbox (flanker's zed.eml is one) is split, anything else is one mail."""
    if path.read_bytes().startswith(b"From "):
        box = mailbox.mbox(str(path), create=False)
        try:
            return [bytes(message) for message in box]
        finally:
            box.close()
    return [path.read_bytes()]


def from_contact(raw: bytes) -> bytes:
    return rewrite(raw, From=CONTACT, Return_Path="<jane@acme.example>", Sender=None)


def bench_run(raws: list[bytes]) -> Run:
    from daemon.app import make_source

    with tempfile.TemporaryDirectory(prefix="robots-") as tmp:
        desk = build_bench_desk(Path(tmp))
        try:
            run_through(desk, raws, make_source(desk.config))
            rows = stored_messages(desk)
            with transaction(desk.factory) as session:
                opened = session.scalar(select(func.count(Case.id)))
            return Run(len(raws), sum(r.label.startswith("robot:") for r in rows), len(sent_mail(desk)), opened)
        finally:
            desk.engine.dispose()


def table(results: dict[str, tuple[Run, Run]]) -> str:
    head = ("robot family", "messages", "recognised", "answered", "cases",
            "recognised (contact's From)", "answered (contact's From)", "cases (contact's From)")
    rows = [head] + [(family, as_is.messages, as_is.recognised, as_is.answered, as_is.cases,
                      contact.recognised, contact.answered, contact.cases)
                     for family, (as_is, contact) in results.items()]
    lines = ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    lines.insert(1, "|" + "---|" * len(head))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else DEFAULT_CORPORA
    families = fixture_families()
    if (root / "MANIFEST.tsv").is_file():
        families.update(corpora_families(root))
    else:
        print(f"no corpora at {root}: fixtures only", file=sys.stderr)
    results = {family: (bench_run(raws), bench_run([from_contact(raw) for raw in raws]))
               for family, raws in families.items()}
    print(table(results))
    bad = any(run.answered or run.cases for pair in results.values() for run in pair)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

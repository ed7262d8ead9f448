"""Bench: every file of the third-party corpora through the whole pipeline, tallied per folder.

Each corpus folder gets a fresh desk (the demo configuration, SQLite, example accounts,
a manual clock): its messages are delivered into the Maildir inbox, the watcher sweeps
until nothing is left to retry, and the table says, per folder, how many messages went
in, how many were stored (duplicates by Message-ID are one), processed and set aside,
how many mails went back to the senders, and how many of those went to a robot (must
be 0). `tests/pipeline/test_corpora.py` runs the same steps on both databases.

    .venv/bin/python bench/corpora.py [CORPORA_DIR]
"""
from __future__ import annotations

import csv
import mailbox
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import select

from daemon.db import transaction
from daemon.models import InboundMessage, MessageStatus
from daemon.intake.watcher import Watcher
from parsers.message import parse_message

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
ROBOT_LABELS = ("robot:", "own-mail")


@dataclass(frozen=True)
class Tally:
    folder: str
    messages: int
    stored: int
    processed: int
    set_aside: int
    replies: int
    replies_to_robots: int


def corpus_messages(root: Path) -> dict[str, list[tuple[str, bytes]]]:
    """Folder -> (name, bytes) of every file the manifest lists but its licences and notes.

    mbox files are split into their messages; everything else (the binary Outlook .msg,
    stray HTML and text fragments, pictures) goes in whole: an inbox gets such things too.
    """
    found: dict[str, list[tuple[str, bytes]]] = {}
    with open(root / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["class"] != "meta":
                found.setdefault(row["source"], []).extend(_split(root / row["source"] / row["path"], row))
    return found


def _split(path: Path, row: dict[str, str]) -> list[tuple[str, bytes]]:
    if row["class"] != "mbox":
        return [(row["path"], path.read_bytes())]
    box = mailbox.mbox(str(path), create=False)
    try:
        return [(f"{row['path']}#{n}", bytes(message)) for n, message in enumerate(box)]
    finally:
        box.close()


def run_through(desk, raws: list[bytes], source) -> None:
    """Deliver into the desk's Maildir and sweep until no mail is waiting for a retry."""
    from integrations.maildir import deliver

    for raw in raws:
        deliver(desk.config.path(desk.config.mailbox.url[len("maildir:"):]), raw)
    watcher = Watcher(desk, source)
    watcher.connect()
    try:
        for _ in range(desk.config.intake.max_attempts):
            watcher.sweep()
            if not _failed(desk):
                break
    finally:
        source.close()


def _failed(desk) -> bool:
    with transaction(desk.factory) as session:
        return session.scalar(select(InboundMessage.id).where(InboundMessage.status == MessageStatus.FAILED)) is not None


def stored_messages(desk) -> list[InboundMessage]:
    with transaction(desk.factory) as session:
        rows = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        session.expunge_all()
    return rows


def sender_of_raw(raw: bytes) -> str:
    parsed = parse_message(raw)
    return parsed.from_.addr.lower() if parsed.from_ and parsed.from_.addr else ""


def robot_addresses(rows: list[InboundMessage]) -> set[str]:
    """Every address that sent a mail the desk took for a machine's (or its own)."""
    return {sender_of_raw(r.raw) for r in rows if r.label.startswith(ROBOT_LABELS)} - {""}


def sent_mail(desk) -> list:
    folder = desk.config.path(desk.config.smtp.url[len("file:"):])
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def recipients(msg) -> set[str]:
    return {a.addr_spec.lower() for header in ("To", "Cc") for a in (msg[header].addresses if msg[header] else ())}


def tally(desk, folder: str, messages: int) -> Tally:
    rows = stored_messages(desk)
    senders = {sender_of_raw(r.raw) for r in rows} - {""}
    robots = robot_addresses(rows)
    sent = [recipients(m) for m in sent_mail(desk)]
    return Tally(folder, messages, len(rows),
                 sum(r.status is MessageStatus.PROCESSED for r in rows),
                 sum(r.status is MessageStatus.SET_ASIDE for r in rows),
                 sum(bool(to & senders) for to in sent), sum(bool(to & robots) for to in sent))


def build_bench_desk(folder: Path):
    """A desk like `make run`'s (demo configuration, example accounts) under `folder`, on a manual clock."""
    from daemon.accounts_import import import_rows, read_rows
    from daemon.app import build_desk, ensure_dirs
    from daemon.clock import ManualClock
    from daemon.config import from_text
    from daemon.cli.demo import DEMO_CONFIG, DOCS

    config = from_text(DEMO_CONFIG, folder)
    ensure_dirs(config)
    desk = build_desk(config, clock=ManualClock(START))
    with transaction(desk.factory) as session:
        import_rows(session, read_rows(DOCS / "accounts.example.csv"))
    return desk


def bench_folder(name: str, items: list[tuple[str, bytes]]) -> Tally:
    from daemon.app import make_source

    with tempfile.TemporaryDirectory(prefix="corpora-") as tmp:
        desk = build_bench_desk(Path(tmp))
        try:
            run_through(desk, [raw for _, raw in items], make_source(desk.config))
            return tally(desk, name, len(items))
        finally:
            desk.engine.dispose()


def table(tallies: list[Tally]) -> str:
    head = ("corpus folder", "messages", "stored", "processed", "set aside", "replies sent", "replies to robots")
    rows = [head] + [(t.folder, t.messages, t.stored, t.processed, t.set_aside, t.replies, t.replies_to_robots)
                     for t in tallies]
    lines = ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    lines.insert(1, "|" + "---|" * len(head))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else DEFAULT_CORPORA
    if not (root / "MANIFEST.tsv").is_file():
        print(f"no corpora at {root} (give the folder holding MANIFEST.tsv)", file=sys.stderr)
        return 2
    tallies = [bench_folder(name, items) for name, items in sorted(corpus_messages(root).items())]
    print(table(tallies))
    return 1 if any(t.replies_to_robots for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

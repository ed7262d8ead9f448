"""Benchmark: latency from arrival to acknowledgment, backlog throughput, memory.

Runs the real pieces: a throw-away Dovecot (mail APPENDed over IMAP), the watcher with
IDLE, SQLite (or --database URL), and aiosmtpd receiving the mail. Prints figures; it
asserts nothing about time.

    .venv/bin/python bench/pipeline.py [--backlog 500] [--latency-samples 20]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.app import make_source  # noqa: E402
from daemon.clock import SystemClock  # noqa: E402
from daemon.watcher import Watcher  # noqa: E402
from tests.servers.dovecot import DovecotServer  # noqa: E402
from tests.servers.smtp import SmtpServer  # noqa: E402
from tests.support import build_test_desk, mail  # noqa: E402

CONTACTS = ["Jane Doe <jane@acme.example>", "Hank Scorpio <hank@globex.example>", "Peter <peter@initech.example>"]


def _desk(folder: Path, database: str | None, user, smtp):
    os.environ["CANCELDESK_IMAP_PASSWORD"] = user.password
    folder.mkdir(parents=True, exist_ok=True)
    return build_test_desk(
        folder, database or f"sqlite:///{folder / 'bench.db'}",
        mailbox_url=f"imap://{user.name}@127.0.0.1:{user.server.port}/INBOX?starttls=no",
        smtp_url=f"smtp://127.0.0.1:{smtp.port}?starttls=no", clock=SystemClock(),
    )


def _acks_to(smtp, sender_address: str) -> int:
    return sum(1 for m in smtp.messages if sender_address in m.rcpt_tos)


def backlog(folder: Path, database: str | None, server: DovecotServer, count: int) -> None:
    user = server.add_user()
    with SmtpServer() as smtp:
        desk = _desk(folder / "backlog", database, user, smtp)
        for n in range(count):
            # distinct senders on file are few: unknown senders make every mail a new case
            user.append(mail(sender=f"customer{n}@freemail.example", subject=f"Cancel {n}",
                             body=f"Please cancel my account ({n}).\n"))
        started = time.perf_counter()
        report = Watcher(desk, make_source(desk.config)).run_once()
        elapsed = time.perf_counter() - started
        desk.engine.dispose()
    print(f"backlog: {count} mails in INBOX -> {report.stored} stored, {report.processed} processed, "
          f"{report.sent} mails sent in {elapsed:.2f} s = {count / elapsed:.1f} mails/s "
          f"({1000 * elapsed / count:.1f} ms per mail, acknowledgment included)")


def latency(folder: Path, database: str | None, server: DovecotServer, samples: int) -> None:
    user = server.add_user()
    with SmtpServer() as smtp:
        desk = _desk(folder / "latency", database, user, smtp)
        watcher = Watcher(desk, make_source(desk.config), wait_seconds=30)
        thread = threading.Thread(target=watcher.run_forever, daemon=True)
        thread.start()
        time.sleep(1.0)  # let the watcher connect and enter IDLE
        figures = [_one_latency(user, smtp, n) for n in range(samples)]
        watcher.stop.set()
        thread.join(timeout=60)
        desk.engine.dispose()
    figures = [f for f in figures if f is not None]
    print(f"latency arrival -> acknowledgment received by SMTP ({len(figures)} samples, IDLE): "
          f"median {statistics.median(figures) * 1000:.0f} ms, max {max(figures) * 1000:.0f} ms")


def _one_latency(user, smtp, n: int) -> float | None:
    address = f"latency{n}@freemail.example"
    started = time.perf_counter()
    user.append(mail(sender=address, subject="Cancel", body="Please cancel my account.\n"))
    deadline = started + 60
    while time.perf_counter() < deadline:
        if _acks_to(smtp, address):
            return time.perf_counter() - started
        time.sleep(0.005)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=500)
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cd-bench-") as tmp, DovecotServer() as server:
        folder = Path(tmp)
        latency(folder, args.database, server, args.latency_samples)
        backlog(folder, args.database, server, args.backlog)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"memory: peak resident set {peak_kib / 1024:.0f} MiB for the whole benchmark process")


if __name__ == "__main__":
    main()

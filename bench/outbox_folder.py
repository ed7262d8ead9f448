"""Benchmark: what one pass of the file outbox costs as its folder fills.

The file outbox (`integrations.mailfiles`, the embedded default) writes each message once.
To know whether a message has its file already it must search the folder, which costs in
proportion to the files there; it searches only for a mail an earlier attempt may have
written (`tried_before`, from the outbox entry's attempts). This prints, for folders of
growing size, the CPU and wall time of a pass that writes one acknowledgment-sized mail,
as the daemon's answer-first delivery does after each request: on its first attempt (every
mail, usually), and tried before (after a crash in the middle of a pass).

    .venv/bin/python bench/outbox_folder.py [--files 0 1000 10000 50000] [--passes 20]

The files already there are empty stand-ins named as the outbox names its files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integrations.mailfiles import FileSender  # noqa: E402
from tests.support import mail  # noqa: E402


def payload() -> bytes:
    """An outbox payload as the desk stores one: LF line ends, its own Message-ID."""
    body = "Thank you for your message. We have it and will be in touch.\n" * 8
    answer = mail(
        sender="Cancellation desk <cancel@agency.example>",
        to="owner@client.example",
        subject="We have your cancellation request",
        body=body,
    )
    return answer.replace(b"\r\n", b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[0, 1000, 10000, 50000])
    parser.add_argument("--passes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cd-outbox-") as tmp:
        folder = Path(tmp)
        sender = FileSender(folder)
        stand_ins = 0
        for wanted in sorted(args.files):
            held = sum(1 for _ in folder.glob("*.eml"))
            while held < wanted:
                (folder / f"20260101T000000.{stand_ins:06d}Z-{stand_ins}.stand-in@agency.example.eml").touch()
                stand_ins += 1
                held += 1
            figures = [f"{held:>7,} files in the folder, ms CPU / wall per pass of one mail:"]
            for label, tried_before in (("first attempt", False), ("tried before", True)):
                payloads = [payload() for _ in range(args.passes)]  # made before the clock starts
                cpu, wall = time.process_time(), time.perf_counter()
                for raw in payloads:
                    with sender.session() as session:
                        session.send_raw(raw, tried_before=tried_before)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                figures.append(f"{label} {1000 * cpu / args.passes:7.2f} / {1000 * wall / args.passes:7.2f}")
            print(" ".join(figures[:1]), ", ".join(figures[1:]))


if __name__ == "__main__":
    main()

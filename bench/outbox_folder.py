"""Benchmark: what one pass of the file outbox costs as its folder fills.

The file outbox (`integrations.mailfiles`, the embedded default) writes each message once:
a pass lists the folder to learn which Message-IDs have a file already, so a pass of one
mail costs in proportion to every file the folder holds. This prints, for folders of
growing size, the CPU and wall time of a pass that writes one acknowledgment-sized mail,
as the daemon's answer-first delivery does after each request.

    .venv/bin/python bench/outbox_folder.py [--files 0 1000 10000 50000] [--passes 20]

The files already there are empty stand-ins named as the outbox names its files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integrations.mailfiles import FileSender  # noqa: E402


def payload() -> bytes:
    """An outbox payload as the desk stores one: LF line ends, its own Message-ID."""
    msg = EmailMessage()
    msg["From"] = "Cancellation desk <cancel@agency.example>"
    msg["To"] = "owner@client.example"
    msg["Subject"] = "We have your cancellation request"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="agency.example")
    msg.set_content("Thank you for your message. We have it and will be in touch.\n" * 8)
    return msg.as_bytes().replace(b"\r\n", b"\n")


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
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(args.passes):
                with sender.session() as session:
                    session.send_raw(payload())
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(
                f"{held:>7,} files in the folder: {1000 * cpu / args.passes:8.2f} ms CPU, "
                f"{1000 * wall / args.passes:8.2f} ms wall per pass of one mail"
            )


if __name__ == "__main__":
    main()

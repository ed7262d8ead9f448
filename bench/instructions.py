"""Benchmark: machine instructions per request on the request path, counted by callgrind.

Figure 2 of `bench/pipeline.py` is CPU time, and a shared machine's speed moves by half
from one minute to the next: two versions of the code cannot be told apart by it unless
they differ by more than that. An instruction count does not move with the machine's load
(the same run twice here: 1,782,846,099 and 1,782,724,586). This runs the same request
path as figure 2 (contacts on file, teams of three, invitations, timers, sheet rows, the
file outbox, on SQLite) under valgrind's callgrind, counting only `Watcher.run_once`, for
two backlog sizes; the difference over the difference in requests is what one more
request costs, without what a sweep costs once.

    .venv/bin/python bench/instructions.py [--requests 30 60]

Needs valgrind (Debian's package). A run of 30 and 60 requests takes about two minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, nargs=2, default=[30, 60], metavar=("FEWER", "MORE"))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return backlog(args.child)
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    fewer, more = sorted(args.requests)
    counts = {n: instructions(n) for n in (fewer, more)}
    print(f"instructions in run_once, {fewer} / {more} requests: {counts[fewer]:,} / {counts[more]:,}")
    print(f"instructions per request (the difference over {more - fewer})   {(counts[more] - counts[fewer]) / (more - fewer):,.0f}")


def instructions(requests: int) -> int:
    """What callgrind counts in `run_once` for a backlog of `requests`, in a process of its own."""
    with tempfile.TemporaryDirectory(prefix="cd-instructions-") as tmp:
        out = Path(tmp) / "callgrind.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
             sys.executable, __file__, "--child", str(requests)],
            capture_output=True, text=True, check=False,
        )
        collected = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or collected is None:
            sys.exit(f"callgrind run of {requests} requests failed:\n{done.stdout}\n{done.stderr[-2000:]}")
        return int(collected.group(1))


def backlog(requests: int) -> None:
    """In the process valgrind runs: build the desk and its Maildir backlog uninstrumented,
    then switch counting on for `run_once` alone."""
    from bench.pipeline import backlog_desk
    from daemon.intake import memory
    from daemon.intake.watcher import Watcher

    with tempfile.TemporaryDirectory(prefix="cd-instructions-") as tmp:
        folder = Path(tmp)
        desk, source = backlog_desk(folder, f"sqlite:///{folder / 'path.db'}", requests)
        with memory.start_up_objects_set_aside():
            _count(True)
            report = Watcher(desk, source).run_once()
            _count(False)
        if report.processed != requests:
            sys.exit(f"{report.processed} of {requests} processed")
        desk.engine.dispose()


def _count(on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], capture_output=True, check=True)


if __name__ == "__main__":
    main()

"""The daemon hands a freed large buffer back to the system, instead of keeping it in its heap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Three 30 MB buffers in turn, each freed with small objects allocated after it (as a mail's
# parsing does); prints how much the resident size grew. Run in a child process, so the
# heap is fresh and the setting does not reach the test runner.
PROBE = """
import sys
def resident_mib():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
if sys.argv[1] == "fixed":
    from daemon.intake.memory import return_large_buffers
    assert return_large_buffers()
before = resident_mib()
kept = []
for _ in range(3):
    buffer = bytearray(30 * 2**20)
    buffer[::4096] = b"x" * len(buffer[::4096])
    del buffer
    kept.append([bytes(100) for _ in range(1000)])
print(resident_mib() - before)
"""


def grown_mib(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=REPO, capture_output=True, text=True, check=True)
    return float(done.stdout)


@pytest.mark.skipif(not Path("/proc/self/statm").exists() or sys.platform != "linux", reason="glibc on Linux only")
def test_freed_large_buffers_leave_the_resident_size():
    assert grown_mib("as-is") > 20      # glibc alone keeps a freed 30 MB buffer's space in the heap
    assert grown_mib("fixed") < 5       # with the threshold fixed, it goes back to the system

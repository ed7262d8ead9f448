"""Memory the daemon gives back: a freed large buffer leaves its heap, and the language model is never held twice."""

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


# Loads the language model in a fresh process set up as the daemon sets itself up, and
# prints how much the peak resident size (VmHWM) rose above what the process held before,
# and what it holds after, in MiB.
LANGUAGE_PROBE = """
import numpy
from daemon.intake.memory import return_large_buffers
return_large_buffers()
def status(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field + ":"))
    return int(line.split()[1]) / 1024
before = status("VmRSS")
from parsers import language
language.warm_up()
print(status("VmHWM") - before, status("VmRSS") - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status")
def test_the_language_model_loads_without_holding_it_twice():
    done = subprocess.run([sys.executable, "-c", LANGUAGE_PROBE], cwd=REPO, capture_output=True, text=True, check=True)
    peak, held = map(float, done.stdout.split())
    # What stays is the state table (39 MB) and six languages' weights; py3langid's own
    # loader peaked at about 100 MB above that, holding each array twice.
    assert held < 60
    assert peak < held + 10

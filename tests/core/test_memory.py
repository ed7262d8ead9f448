"""Memory the daemon gives back: a freed large buffer leaves its heap, the language model is never held twice,
and a 25 MB mail is never held whole."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.maildir import deliver
from tests.support import mail

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


# A daemon that has read two small mails (language model, parsers, database: all loaded)
# then reads a 25 MB one; prints how far its peak resident size (VmHWM, reset just
# before) rose above what it held then, in MiB: the large mail's own cost, measured in
# the same process. The large mail waits in the Maildir's tmp/, written by the test, and
# arrives by a rename: nothing in this process ever held it.
LARGE_MAIL_PROBE = """
import os, sys
from pathlib import Path
from daemon.intake.memory import return_large_buffers
return_large_buffers()
from daemon.app import make_source
from daemon.intake.watcher import Watcher
from tests.support import build_test_desk
def status(field):
    return int(open("/proc/self/status").read().split(field + ":")[1].split()[0]) / 1024
folder, mailbox_url, waiting = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
desk = build_test_desk(folder, f"sqlite:///{folder / 'desk.db'}", mailbox_url=mailbox_url)
watcher = Watcher(desk, make_source(desk.config))
assert watcher.run_once().processed == 2
os.rename(waiting, waiting.parent.parent / "new" / waiting.name)
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS")
assert watcher.run_once().processed == 1
print(status("VmHWM") - before)
"""


def _write_large_mail(path: Path, megabytes: int = 25) -> None:
    """A request with a base64 attachment of `megabytes`, written in pieces."""
    with open(path, "wb") as out:
        out.write(
            b"From: Jane Doe <jane@acme.example>\r\nTo: cancel@agency.example\r\nSubject: Cancelling, form attached\r\n"
            b"Message-ID: <large@acme.example>\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="form"\r\n\r\n--form\r\n'
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nPlease cancel our SEO service.\r\n--form\r\n"
            b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="form.pdf"\r\n\r\n'
        )
        for _ in range(megabytes * 2**20 // (1000 * 78)):
            out.write(base64.encodebytes(os.urandom(57_000)).replace(b"\n", b"\r\n"))
        out.write(b"--form--\r\n")


def _probe_large_mail(tmp_path: Path, mailbox_url: str, waiting: Path, env: dict[str, str] | None = None) -> float:
    done = subprocess.run([sys.executable, "-c", LARGE_MAIL_PROBE, str(tmp_path), mailbox_url, str(waiting)],
                          cwd=REPO, capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return float(done.stdout.split()[-1])


CLEARS_PEAK = Path("/proc/self/clear_refs").exists() and sys.platform == "linux"
# One whole copy of the 25 MB mail is 24 MiB (held whole and copied by each step that
# touches it, it costs over 120); read in slices, about 6.
LARGE_MAIL_BOUND_MIB = 20


@pytest.mark.skipif(not CLEARS_PEAK, reason="resets the peak through /proc/self/clear_refs")
def test_a_25_mb_mail_from_a_maildir_is_never_whole_in_memory(tmp_path):
    inbox = tmp_path / "inbox"
    for n in range(2):
        deliver(inbox, mail(body=f"Please cancel our SEO service ({n}).\n"))
    waiting = inbox / "tmp" / "large.eml"
    _write_large_mail(waiting)
    assert _probe_large_mail(tmp_path, "maildir:inbox", waiting) < LARGE_MAIL_BOUND_MIB


@pytest.mark.dovecot
@pytest.mark.skipif(not CLEARS_PEAK, reason="resets the peak through /proc/self/clear_refs")
def test_a_25_mb_mail_over_imap_is_never_whole_in_memory(tmp_path, dovecot_user):
    for n in range(2):
        dovecot_user.append(mail(body=f"Please cancel our SEO service ({n}).\n"))
    waiting = dovecot_user.maildir() / "tmp" / "large.eml"
    _write_large_mail(waiting)
    account = dovecot_user.server.account
    os.chown(waiting, account.uid, account.gid)
    url = f"imap://{dovecot_user.name}@127.0.0.1:{dovecot_user.server.port}/INBOX?starttls=no"
    cost = _probe_large_mail(tmp_path, url, waiting, {"CANCELDESK_IMAP_PASSWORD": dovecot_user.password})
    assert cost < LARGE_MAIL_BOUND_MIB


def test_while_the_watcher_watches_a_full_collection_skips_what_start_up_made(desk, monkeypatch):
    import gc

    from daemon.intake.watcher import Watcher
    from daemon.app import make_source

    made_at_start_up = [object() for _ in range(3)]  # alive before the watch begins
    seen = {}
    watcher = Watcher(desk, make_source(desk.config))

    def one_sweep():
        seen["frozen"] = gc.get_freeze_count()
        watcher.stop.set()

    monkeypatch.setattr(watcher, "_session", one_sweep)
    watcher.run_forever()
    assert seen["frozen"] >= len(made_at_start_up)
    assert gc.get_freeze_count() == 0  # given back when the watch ends

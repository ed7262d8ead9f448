"""A throw-away Dovecot IMAP server for tests, and the pytest fixtures built on it.

`DovecotServer` does not depend on pytest: it writes a one-file configuration into a
short temporary directory, runs `dovecot -F` in its own process group on a free
loopback port, and serves plain-password users from a passwd-file with Maildir storage.
The fixtures at the bottom (`dovecot`, `dovecot_no_idle`, `dovecot_user`,
`dovecot_no_idle_user`) are imported by tests/conftest.py.
"""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.ports import free_port

# Dovecot's own default list minus IDLE and MOVE: lets tests exercise the polling
# and COPY + EXPUNGE fallbacks against the same real server.
CAPABILITIES_WITHOUT_IDLE_AND_MOVE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT "
    "CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH "
    "ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY SPECIAL-USE"
)

REQUIRE_ENV = "CANCELDESK_REQUIRE_SERVICES"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class DovecotNotInstalled(RuntimeError):
    """The dovecot binary is not on this machine."""


def find_dovecot() -> str | None:
    """Path of the dovecot binary; /usr/sbin is often missing from an ordinary PATH."""
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    return found


@dataclass(frozen=True)
class MailAccount:
    """Who owns the mail files: nobody as root (Dovecot refuses uid 0), else ourselves."""

    user: str
    uid: int
    gid: int
    group: str

    @classmethod
    def for_this_process(cls) -> MailAccount:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            return cls("nobody", nobody.pw_uid, nobody.pw_gid, grp.getgrgid(nobody.pw_gid).gr_name)
        me = pwd.getpwuid(os.geteuid())
        return cls(me.pw_name, me.pw_uid, me.pw_gid, grp.getgrgid(me.pw_gid).gr_name)


def _service_lines(account: MailAccount) -> str:
    """Process users: as root keep Dovecot's own; otherwise everything runs as us, unchrooted."""
    if os.geteuid() == 0:
        return ""
    return (
        f"default_internal_user = {account.user}\n"
        f"default_login_user = {account.user}\n"
        "service anvil {\n  chroot =\n}\n"
        "service imap-login {\n  chroot =\n}\n"
    )


class DovecotServer:
    """One Dovecot instance on 127.0.0.1:`port`, its config, logs and mail under `dir`."""

    def __init__(self, *, capabilities: str | None = None, extra_config: str = "") -> None:
        self.binary = find_dovecot()
        if self.binary is None:
            raise DovecotNotInstalled("dovecot is not installed (looked in PATH and /usr/sbin)")
        self.capabilities = capabilities
        self.extra_config = extra_config
        self.account = MailAccount.for_this_process()
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.dir: Path | None = None
        self.users: dict[str, str] = {}
        self._process: subprocess.Popen | None = None
        self._names = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> DovecotServer:
        if self.dir is None:
            self._prepare_dir()
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.dir / "dovecot.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group, so stop() can signal the master and all its children.
            start_new_session=True,
        )
        self._wait_until_listening()
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        self._signal_group(process, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._signal_group(process, signal.SIGKILL)
            process.wait()
        self._wait_until_closed()

    def restart(self) -> None:
        """Stop and start again on the same port, with the same users and mail."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- users and mail -----------------------------------------------------------------

    def add_user(self, name: str | None = None, password: str | None = None) -> DovecotUser:
        """Add a login; takes effect at once, no reload needed."""
        name = name or f"user{next(self._names)}-{secrets.token_hex(3)}"
        password = password or secrets.token_urlsafe(12)
        self._write_user(name, password)
        self.users[name] = password
        return DovecotUser(self, name, password)

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """The Maildir++ directory of `folder`: the root for INBOX, `.Name` for the others."""
        root = self.dir / "mail" / user / "Maildir"
        return root if folder.upper() == "INBOX" else root / f".{folder}"

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """APPEND over IMAP from a separate connection; returns the new message's UID."""
        from imapclient import IMAPClient, SocketTimeout

        with IMAPClient(self.host, self.port, ssl=False, timeout=SocketTimeout(5, 10)) as client:
            client.login(user, self.users[user])
            response = client.append(folder, raw)
        # Dovecot has UIDPLUS: b'[APPENDUID <uidvalidity> <uid>] Append completed.'
        return int(response.split(b"]")[0].split()[-1])

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> Path:
        """Deliver without IMAP, as an MDA would: write into tmp/, rename into new/."""
        target = self.maildir(user, folder)
        self._make_maildir(target, is_subfolder=folder.upper() != "INBOX")
        name = f"{time.time_ns()}.P{os.getpid()}Q{secrets.token_hex(4)}.canceldesk-test"
        tmp_path = target / "tmp" / name
        tmp_path.write_bytes(raw)
        os.chown(tmp_path, self.account.uid, self.account.gid)
        final = target / "new" / name
        os.rename(tmp_path, final)
        return final

    def log(self) -> str:
        path = self.dir / "dovecot.log" if self.dir else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    # -- internals -----------------------------------------------------------------------

    def _prepare_dir(self) -> None:
        # Short and under /tmp: Dovecot's unix sockets live here and must fit in 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="cd-", dir="/tmp"))
        # mkdtemp gives 0700; login and mail processes run as other users when we are root.
        self.dir.chmod(0o755)
        self.port = free_port(self.host)
        for sub in ("run", "state", "mail", "users"):
            (self.dir / sub).mkdir()
        os.chown(self.dir / "mail", self.account.uid, self.account.gid)
        (self.dir / "dovecot.conf").write_text(self._config())

    def _config(self) -> str:
        d, account = self.dir, self.account
        capability = f"imap_capability = {self.capabilities}\n" if self.capabilities else ""
        return (
            f"base_dir = {d}/run\n"
            f"state_dir = {d}/state\n"
            f"log_path = {d}/dovecot.log\n"
            f"info_log_path = {d}/dovecot.log\n"
            "listen = 127.0.0.1\n"
            "protocols = imap\n"
            "ssl = no\n"
            "disable_plaintext_auth = no\n"
            "auth_mechanisms = plain login\n"
            # Failed logins answer at once instead of after two seconds.
            "auth_failure_delay = 0\n"
            "first_valid_uid = 1\n"
            f"mail_location = maildir:{d}/mail/%u/Maildir\n"
            f"{_service_lines(account)}"
            "service imap-login {\n"
            f"  inet_listener imap {{\n    port = {self.port}\n  }}\n"
            "  inet_listener imaps {\n    port = 0\n  }\n"
            "}\n"
            "passdb {\n  driver = passwd-file\n"
            f"  args = scheme=PLAIN username_format=%u {d}/users/%u\n}}\n"
            "userdb {\n  driver = static\n"
            f"  args = uid={account.uid} gid={account.gid} home={d}/mail/%u\n}}\n"
            f"{capability}"
            f"{self.extra_config}"
        )

    def _write_user(self, name: str, password: str) -> None:
        """One passwd-file per user: Dovecot re-reads a changed file at most once a second
        and only if its mtime or size changed, so a user added to a shared file right
        after a login would stay unknown; a new file is read on first use."""
        if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ValueError(f"test user names are letters, digits and -_. only: {name!r}")
        tmp = self.dir / "users" / f".{name}.tmp"
        tmp.write_text(f"{name}:{{PLAIN}}{password}::::::\n")
        tmp.chmod(0o644)
        # Renamed into place, so the auth process never reads half a file.
        os.replace(tmp, self.dir / "users" / name)

    def _make_maildir(self, path: Path, *, is_subfolder: bool) -> None:
        for part in (path.parent.parent, path.parent, path, path / "cur", path / "new", path / "tmp"):
            if not part.exists() and self.dir in part.parents:
                part.mkdir()
                os.chown(part, self.account.uid, self.account.gid)
        marker = path / "maildirfolder"
        if is_subfolder and not marker.exists():
            marker.touch()
            os.chown(marker, self.account.uid, self.account.gid)

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self._process.returncode}:\n{self.log()}")
            if self._greets():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}:\n{self.log()}")

    def _greets(self) -> bool:
        """True once imap-login answers with its greeting, not merely accepts."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def _wait_until_closed(self) -> None:
        """The group outlives the master briefly; wait so a restart can bind the port."""
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    pass
            except OSError:
                return
            time.sleep(0.05)

    @staticmethod
    def _signal_group(process: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass


@dataclass(frozen=True)
class DovecotUser:
    """One login on a DovecotServer, with shortcuts for putting mail in its folders."""

    server: DovecotServer
    name: str
    password: str

    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        return self.server.append(self.name, raw, folder)

    def deliver(self, raw: bytes, folder: str = "INBOX") -> Path:
        return self.server.deliver(self.name, raw, folder)

    def maildir(self, folder: str = "INBOX") -> Path:
        return self.server.maildir(self.name, folder)


# -- pytest fixtures ----------------------------------------------------------------------


def start_or_skip(**options: object) -> DovecotServer:
    """Skip when Dovecot is absent, unless CANCELDESK_REQUIRE_SERVICES=1 demands it."""
    try:
        return DovecotServer(**options).start()
    except DovecotNotInstalled as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{exc}, and {REQUIRE_ENV}=1 requires it", pytrace=False)
        pytest.skip(f"{exc}; install dovecot-imapd to run the IMAP tests")


@pytest.fixture(scope="session")
def dovecot():
    """A Dovecot for the whole session, with IDLE and MOVE. Use `dovecot_user` in tests."""
    server = start_or_skip()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def dovecot_no_idle():
    """A Dovecot that advertises neither IDLE nor MOVE, for the fallback paths."""
    server = start_or_skip(capabilities=CAPABILITIES_WITHOUT_IDLE_AND_MOVE)
    yield server
    server.cleanup()


@pytest.fixture
def dovecot_user(dovecot):
    """A fresh, empty account on the session's Dovecot for one test."""
    return dovecot.add_user()


@pytest.fixture
def dovecot_no_idle_user(dovecot_no_idle):
    """A fresh, empty account on the Dovecot without IDLE and MOVE."""
    return dovecot_no_idle.add_user()

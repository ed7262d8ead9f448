"""A throw-away Dovecot IMAP server for tests, and the pytest fixtures built on it.

`DovecotServer` does not depend on pytest: it writes a one-file configuration into a
short temporary directory, runs `dovecot -F` in its own process group on a free
loopback port, and serves plain-password users (one passwd-file each) with Maildir storage.
With a `TokenIssuer` (tests/servers/oauth2.py) it also accepts XOAUTH2 and OAUTHBEARER
logins, checking bearer tokens against that fake OAuth2 introspection endpoint; with
tls=True it serves the certificate of tests/servers/tls.py. The fixtures at the bottom
(`dovecot`, `dovecot_no_idle`, `dovecot_oauth2`, `dovecot_tls`, and a fresh user on most:
`dovecot_user`, `dovecot_no_idle_user`, `dovecot_oauth2_user`) are imported by
tests/conftest.py.
"""

from __future__ import annotations

import itertools
import os
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

from tests.servers.dovecot_config import CAPABILITIES_WITHOUT_IDLE_AND_MOVE, MailAccount, write_config
from tests.servers.oauth2 import TokenIssuer
from tests.servers.ports import free_port
from tests.servers.tls import make_tls_material

REQUIRE_ENV = "CANCELDESK_REQUIRE_SERVICES"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class DovecotNotInstalled(RuntimeError):
    """The dovecot binary is not on this machine."""


def find_dovecot() -> str | None:
    """Path of the dovecot binary; /usr/sbin is often missing from an ordinary PATH."""
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    return found


class DovecotServer:
    """One Dovecot instance on 127.0.0.1:`port`, its config, logs and mail under `dir`."""

    def __init__(
        self,
        *,
        capabilities: str | None = None,
        token_issuer: TokenIssuer | None = None,
        tls: bool = False,
        extra_config: str = "",
    ) -> None:
        self.binary = find_dovecot()
        if self.binary is None:
            raise DovecotNotInstalled("dovecot is not installed (looked in PATH and /usr/sbin)")
        self.capabilities = capabilities
        self.token_issuer = token_issuer
        self.tls = tls
        self.tls_port: int | None = None  # implicit TLS, when tls=True; `port` offers STARTTLS
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
        if self.token_issuer is not None:
            self.token_issuer.start()
        if self.dir is None:
            self._prepare_dir()
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.dir / "dovecot.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group, so stop() can signal the master and all its children.
            start_new_session=True,
            env=_real_time_env(),
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

    def kill_sessions(self) -> int:
        """SIGKILL every imap session process: clients see their socket close without a BYE."""
        killed = 0
        for pid in _processes_in_group(self._process.pid, "imap"):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        return killed

    def cleanup(self) -> None:
        self.stop()
        if self.token_issuer is not None:
            self.token_issuer.stop()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> DovecotServer:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

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

    def append(self, user: str, raw: bytes, folder: str = "INBOX", arrived=None) -> int:
        """APPEND over IMAP from a separate connection; returns the new message's UID.

        `arrived` (an aware datetime) becomes the message's INTERNALDATE, as when a server
        received it then.
        """
        from imapclient import IMAPClient, SocketTimeout

        with IMAPClient(self.host, self.port, ssl=False, timeout=SocketTimeout(5, 10)) as client:
            client.login(user, self.users[user])
            response = client.append(folder, raw, msg_time=arrived)
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
        if self.tls:
            self.tls_port = free_port(self.host)
            make_tls_material(self.dir)
        write_config(
            self.dir, account=self.account, port=self.port, tls_port=self.tls_port,
            capabilities=self.capabilities, extra_config=self.extra_config,
            introspection_url=self.token_issuer.url if self.token_issuer else None,
        )

    @property
    def certificate(self) -> Path | None:
        """The self-signed certificate (for localhost and 127.0.0.1) to trust, with tls=True."""
        return self.dir / "cert.pem" if self.tls and self.dir else None

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
        parts = (path.parent.parent, path.parent, path, path / "cur", path / "new", path / "tmp")
        for part in parts:
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


def _processes_in_group(pgid: int, command: str) -> list[int]:
    """PIDs in process group `pgid` whose command name is `command` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended while we looked
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        if name == command and int(fields[2]) == pgid:
            found.append(int(stat.parent.name))
    return found


@dataclass(frozen=True)
class DovecotUser:
    """One login on a DovecotServer, with shortcuts for putting mail in its folders."""

    server: DovecotServer
    name: str
    password: str

    def append(self, raw: bytes, folder: str = "INBOX", arrived=None) -> int:
        return self.server.append(self.name, raw, folder, arrived)

    def deliver(self, raw: bytes, folder: str = "INBOX") -> Path:
        return self.server.deliver(self.name, raw, folder)

    def maildir(self, folder: str = "INBOX") -> Path:
        return self.server.maildir(self.name, folder)


# -- pytest fixtures ----------------------------------------------------------------------


def _missing(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} (and {REQUIRE_ENV}=1 requires it)", pytrace=False)
    pytest.skip(reason)


def start_or_skip(**options: object) -> DovecotServer:
    """Skip when Dovecot is absent, unless CANCELDESK_REQUIRE_SERVICES=1 demands it."""
    try:
        server = DovecotServer(**options)
    except DovecotNotInstalled as exc:
        _missing(f"{exc}; install dovecot-imapd to run the IMAP tests")
    try:
        return server.start()
    except BaseException:
        server.cleanup()  # also stops a token issuer already started
        raise


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


@pytest.fixture(scope="session")
def dovecot_oauth2():
    """A Dovecot that also takes XOAUTH2/OAUTHBEARER; `dovecot_oauth2.token_issuer.issue(name)`."""
    server = start_or_skip(token_issuer=TokenIssuer())
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def dovecot_tls():
    """A Dovecot with STARTTLS on `port` and implicit TLS on `tls_port`; trust `certificate`."""
    server = start_or_skip(tls=True)
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


@pytest.fixture
def dovecot_oauth2_user(dovecot_oauth2):
    """A fresh account on the OAuth2-capable Dovecot (its password works too)."""
    return dovecot_oauth2.add_user()


def _real_time_env() -> dict[str, str]:
    """Our environment minus libfaketime: the tests may run on a fake date (`faketime`),
    but the mail server is another machine on the real clock, and Dovecot's login
    processes fail under the preloaded library."""
    return {name: value for name, value in os.environ.items()
            if name != "LD_PRELOAD" and not name.startswith("FAKETIME")}

"""A throw-away SMTP server for tests (aiosmtpd in a thread), and its pytest fixtures.

`SmtpServer` does not depend on pytest: it runs aiosmtpd's `Controller` on 127.0.0.1 and
a free port (aiosmtpd cannot start on port 0), records every accepted transaction, and can
offer STARTTLS or implicit TLS with a self-signed certificate, require AUTH, answer
the next N transactions with a temporary (451) or permanent (550) failure, refuse a
recipient at RCPT (550 unknown user), and count
the EHLO greetings (one per connection on a plain server).

Fixtures at the bottom: `tls_material` (session: one certificate for the whole run) and
`smtp_server` (function scope). `smtp_server` is plain and open by default; a test asks
for TLS or AUTH through indirect parametrisation:

    @pytest.mark.parametrize("smtp_server", [{"tls": "starttls", "users": {"u": "p"}}],
                             indirect=True)
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers.ports import free_port
from tests.servers.tls import TlsMaterial, make_tls_material

HOST = "127.0.0.1"
TlsMode = Literal["starttls", "implicit"] | None


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted SMTP transaction, as the server saw it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    login: str | None  # the AUTH user name, or None for an unauthenticated session
    tls: bool  # whether the session ran over STARTTLS
    # time.perf_counter() as the message's last byte was in: what a latency figure ends
    # on (the sink's own parsing, and the GIL it waits for, are not the sender's time).
    arrived: float


@dataclass
class _Recorder:
    """aiosmtpd handler: records transactions and plays injected faults first."""

    received: list[ReceivedMail] = field(default_factory=list)
    faults: deque[str | None] = field(default_factory=deque)  # None: accept that one
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> its RCPT answer
    condition: threading.Condition = field(default_factory=threading.Condition)
    greetings: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        # With this hook aiosmtpd leaves recording the client's name to us.
        session.host_name = hostname
        with self.condition:
            self.greetings += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        with self.condition:
            answer = self.refused.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        arrived = time.perf_counter()
        with self.condition:
            if self.faults and (fault := self.faults.popleft()):
                return fault
            self.received.append(_received(session, envelope, arrived))
            self.condition.notify_all()
        return "250 2.0.0 Message accepted"


def _received(session, envelope, arrived: float) -> ReceivedMail:
    raw = bytes(envelope.original_content or envelope.content)
    login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
    return ReceivedMail(
        mail_from=envelope.mail_from,
        rcpt_tos=tuple(envelope.rcpt_tos),
        raw=raw,
        message=BytesParser(policy=policy.default).parsebytes(raw),
        login=login,
        tls=session.ssl is not None,
        arrived=arrived,
    )


class _Controller(Controller):
    """aiosmtpd's controller, hanging up on its clients when it stops, as a relay shutting
    down does: a client may hold a connection open between sessions (integrations.smtp),
    and aiosmtpd would leave that connection's transport behind unclosed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._connections: weakref.WeakSet = weakref.WeakSet()

    def factory(self):
        protocol = super().factory()
        self._connections.add(protocol)
        return protocol

    def stop(self, no_assert: bool = False) -> None:
        if self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._hang_up(), self.loop).result(timeout=30)
        super().stop(no_assert)

    async def _hang_up(self) -> None:
        for protocol in list(self._connections):
            if protocol.transport is not None:
                # abort, not close: a TLS transport's close waits for the idle client's
                # close_notify, which never comes.
                protocol.transport.abort()
        await asyncio.sleep(0)  # their connection_lost runs before the loop stops


class SmtpServer:
    """aiosmtpd on 127.0.0.1:<free port>; use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        tls: TlsMode = None,
        tls_material: TlsMaterial | None = None,
        users: dict[str, str] | None = None,
        idle_timeout: float = 300,
    ) -> None:
        if tls and tls_material is None:
            raise ValueError("a TLS server needs tls_material")
        self.host = HOST
        self.port = free_port(HOST)
        self.tls = tls
        self.tls_material = tls_material
        self.users = dict(users or {})
        self._recorder = _Recorder()
        # idle_timeout: seconds without a command before the server hangs up, as relays do.
        self._controller = _Controller(self._recorder, hostname=HOST, port=self.port, timeout=idle_timeout,
                                      **self._tls_and_auth_options())

    def _tls_and_auth_options(self) -> dict:
        options: dict = {}
        if self.tls == "starttls":
            options["tls_context"] = self.tls_material.server_context()
        elif self.tls == "implicit":
            options["ssl_context"] = self.tls_material.server_context()
            # aiosmtpd does not count an implicit-TLS socket as TLS: without this it
            # never offers AUTH there.
            options["auth_require_tls"] = False
        if self.users:
            options["authenticator"] = self._authenticate
            # On the implicit-TLS port AUTH is offered but not demanded: aiosmtpd warns
            # about "AUTH required without TLS" there (it cannot see the TLS), and
            # `filterwarnings = error` would turn that false alarm into a failure.
            options["auth_required"] = self.tls != "implicit"
        return options

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if self.users.get(login) == password:
            return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._recorder.condition:
            return list(self._recorder.received)

    def wait_for(self, count: int, timeout: float = 60.0) -> list[ReceivedMail]:
        """Return the messages once at least `count` arrived; AssertionError on timeout.

        The timeout only bounds a failing test: a busy machine may take seconds to deliver."""
        return self._wait_until(lambda received: len(received), count, "message(s)", timeout)

    def wait_for_readers(self, count: int, timeout: float = 60.0) -> list[ReceivedMail]:
        """Return the messages once they have reached at least `count` recipients in all
        (one mail to a team of six counts six); AssertionError on timeout."""
        return self._wait_until(readers_of, count, "recipient(s)", timeout)

    @property
    def readers(self) -> int:
        """Recipients of all the messages so far (one mail to a team of six counts six)."""
        return readers_of(self.messages)

    def _wait_until(self, measure, count: int, what: str, timeout: float) -> list[ReceivedMail]:
        recorder = self._recorder
        with recorder.condition:
            arrived = recorder.condition.wait_for(lambda: measure(recorder.received) >= count, timeout)
            if not arrived:
                raise AssertionError(f"expected {count} {what}, got {measure(recorder.received)}")
            return list(recorder.received)

    def fail_next(self, count: int, code: int = 451, *, after: int = 0) -> None:
        """Answer the DATA of the next `count` transactions with `code` (4xx or 5xx),
        once `after` more transactions have been accepted. A 421 makes the client hang up."""
        text = "4.3.0 Try again later" if code < 500 else "5.7.1 Rejected by policy"
        with self._recorder.condition:
            self._recorder.faults.extend([None] * after + [f"{code} {text} (injected)"] * count)

    def refuse_recipient(self, address: str, answer: str = "550 5.1.1 User unknown") -> None:
        """Answer RCPT TO for `address` with `answer` from now on (an unknown user by default)."""
        with self._recorder.condition:
            self._recorder.refused[address.lower()] = answer

    def welcome_recipient(self, address: str) -> None:
        """Accept `address` again (its mailbox was created after all)."""
        with self._recorder.condition:
            self._recorder.refused.pop(address.lower(), None)

    @property
    def greetings(self) -> int:
        """EHLOs so far: connections on a plain server (STARTTLS greets twice)."""
        with self._recorder.condition:
            return self._recorder.greetings

    def client_context(self) -> ssl.SSLContext:
        """A client SSL context that trusts this server's self-signed certificate."""
        if self.tls_material is None:
            raise ValueError("this server has no TLS certificate")
        return self.tls_material.client_context()


# -- pytest fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory) -> TlsMaterial:
    return make_tls_material(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp_server(request, tls_material):
    """A running SmtpServer; `request.param` (indirect) holds SmtpServer keyword options."""
    options = dict(getattr(request, "param", None) or {})
    if options.get("tls"):
        options.setdefault("tls_material", tls_material)
    with SmtpServer(**options) as server:
        yield server


def readers_of(received: list[ReceivedMail]) -> int:
    return sum(len(m.rcpt_tos) for m in received)

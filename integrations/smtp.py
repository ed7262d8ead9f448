"""Outgoing mail adapter: hands finished messages to an SMTP relay or to a directory.

The daemon's outbox talks only to the `MailSender` protocol. `SmtpSender` delivers through
a relay (STARTTLS, implicit TLS or plain on loopback), retries what may succeed later and
tells the caller, through the exception type, whether a later retry is worth it: only a
5xx about the recipient (unknown user) is final; a relay that is down or refuses our
login or TLS is `RelayUnavailable`, worth trying again once it (or the configuration) is
fixed. `SmtpSender.session()` hands many messages over one connection, one transaction
each, and leaves the connection open for the next session a while (checked with a NOOP
before it is used again); `probe()` connects, logs in and says goodbye without sending anything.
`integrations.mailfiles.FileSender`, the embedded default, writes .eml files instead.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import re
import smtplib
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.policy import SMTP as SMTP_POLICY
from email.policy import compat32
from email.utils import getaddresses, parseaddr
from typing import Literal, Protocol

log = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "none"]
# Seconds a relay connection is left open after a session for the next one: a desk that
# answers each mail as it comes would otherwise pay connect, TLS and AUTH per answer.
# Well under the five minutes relays wait for a client (RFC 5321, 4.5.3.2.7).
KEEP_OPEN = 60.0
# Seconds a goodbye (QUIT) may take before the connection is simply closed.
QUIT_TIMEOUT = 2.0


class SendError(Exception):
    """A message could not be handed over."""

    def __init__(
        self, message: str, *, code: int | None = None, refused: dict[str, tuple[int, bytes]] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.refused = refused or {}


class PermanentSendError(SendError):
    """The relay refused the recipient for good (5xx, e.g. 550 unknown user): do not retry."""


class TransientSendError(SendError):
    """The relay said "later" (4xx), or refused something a later attempt may get through."""


class RelayUnavailable(TransientSendError):
    """Nothing goes through this relay for now: it cannot be reached, or it refuses us."""


class RelaySetupError(RelayUnavailable):
    """The relay refuses us as configured (AUTH, TLS): only a fix of the configuration or
    the relay helps, so it is not retried at once, but nothing is given up either."""


class MailSender(Protocol):
    """What the daemon needs from an outgoing mail channel.

    A sender may also offer `session()`: a context manager yielding an object with the
    same `send`, for handing many messages over in one go. It must not fail on entry
    (connect lazily), so that each message's failure stays that message's own.
    """

    def send(self, msg: EmailMessage, *, from_addr: str | None = None, to_addrs: Sequence[str] | None = None) -> None:
        """Deliver `msg`; the envelope defaults to the message's own headers.

        A sender (or session) may also offer `send_raw(raw, tried_before=...)`: the same for
        a message already written out as bytes, e.g. an outbox entry's payload.
        `tried_before=False` says no earlier attempt can have delivered it, so a channel that
        can tell whether it has a message already (a file outbox) need not look.
        """


def envelope(
    msg: EmailMessage, from_addr: str | None = None, to_addrs: Sequence[str] | None = None
) -> tuple[str, list[str]]:
    """Envelope sender and recipients: explicit values win, else Sender/From and To/Cc/Bcc."""
    sender = from_addr if from_addr is not None else parseaddr(str(msg["Sender"] or msg["From"] or ""))[1]
    if from_addr is None and not sender:
        # An empty MAIL FROM (<>) marks a bounce: only ever on purpose, via from_addr="".
        raise ValueError(f"message {msg['Message-ID']} has no From or Sender")
    if to_addrs is None:
        fields = [str(v) for name in ("To", "Cc", "Bcc") for v in msg.get_all(name, [])]
        to_addrs = [addr for _, addr in getaddresses(fields) if addr]
    if not to_addrs:
        raise ValueError(f"message {msg['Message-ID']} has no recipients")
    return sender, list(dict.fromkeys(to_addrs))


def without_bcc(msg: EmailMessage) -> EmailMessage:
    """A copy without Bcc, which must never reach the recipients.

    A shallow copy is enough: deleting a header rebinds the copy's header list.
    """
    visible = copy.copy(msg)
    del visible["Bcc"]
    del visible["Resent-Bcc"]
    return visible


@dataclass(frozen=True)
class WrittenMail:
    """An outbox payload (LF line ends) ready to go as it is: its envelope and its wire bytes."""

    raw: bytes
    message_id: str
    sender: str
    recipients: list[str]

    @property
    def ascii_envelope(self) -> bool:
        return all(address.isascii() for address in (self.sender, *self.recipients))

    def wire(self) -> bytes:
        return self.raw.replace(b"\n", b"\r\n")


def as_written(raw: bytes) -> WrittenMail | None:
    """The payload's envelope, read from its headers alone, when its bytes with CRLF line
    ends are what parsing it and writing it again would give; None when it must take that
    long way (a Bcc to hide, a CR of the message's own)."""
    # The header texts as they are (compat32) are all the envelope needs when each address
    # header is a plain list (no encoded words, quotes, comments or groups), which every
    # address parser reads alike; anything else is parsed as `send` would.
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    if not all(_PLAIN_ADDRESSES.fullmatch(str(v)) for n, v in headers.items() if n.lower() in _ADDRESS_HEADERS):
        headers = BytesHeaderParser(policy=SMTP_POLICY).parsebytes(raw)
    if b"\r" in raw or "Bcc" in headers or "Resent-Bcc" in headers:
        return None
    sender, recipients = envelope(headers)  # type: ignore[arg-type]
    return WrittenMail(raw, str(headers["Message-ID"] or ""), sender, recipients)


def parsed_payload(raw: bytes) -> EmailMessage:
    """The long way for a payload `as_written` cannot send as it is: the message itself."""
    msg = BytesParser(policy=SMTP_POLICY).parsebytes(raw)
    assert isinstance(msg, EmailMessage), "policy.SMTP builds EmailMessage"
    return msg


# -- SMTP ---------------------------------------------------------------------------------


class SmtpSender:
    """Delivers through an SMTP relay: one attempt per call; the outbox retries what is transient."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password_provider: Callable[[], str] | None = None,
        timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        keep_open: float = KEEP_OPEN,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"security must be starttls, tls or none, not {security!r}")
        if username and password_provider is None:
            raise ValueError("username given without a password_provider")
        self.host, self.port, self.security = host, port, security
        self.username = username
        # A callable, not a string: the secret is fetched per connection (rotating
        # tokens, secrets by command) and never sits in this object's repr or logs.
        self._password_provider = password_provider
        self.timeout = timeout
        # smtplib's starttls() without a context does not verify certificates on 3.11.
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.local_hostname = local_hostname
        self.keep_open = keep_open
        self._monotonic = monotonic
        self._parking = _Parking()
        # A sender dropped without close() (a test's, a one-off command's) closes its socket.
        weakref.finalize(self, self._parking.abandon)

    def __repr__(self) -> str:
        return f"SmtpSender({self.host!r}, {self.port}, security={self.security!r})"

    def send(self, msg: EmailMessage, *, from_addr: str | None = None, to_addrs: Sequence[str] | None = None) -> None:
        # A single message is a session of one: the transaction logic lives in one place.
        sender, recipients = envelope(msg, from_addr, to_addrs)
        with self.session() as session:
            session.send(msg, from_addr=sender, to_addrs=recipients)

    def send_raw(self, raw: bytes, *, tried_before: bool = True) -> None:
        with self.session() as session:
            session.send_raw(raw, tried_before=tried_before)

    @contextlib.contextmanager
    def session(self) -> Iterator[SmtpSession]:
        """One connection for many messages: opened at the first send (or the last session's
        taken again), and left open for the next session for `keep_open` seconds."""
        session = SmtpSession(self)
        try:
            yield session
        finally:
            session.close()

    def close(self) -> None:
        """QUIT the connection left open for a next session, if any."""
        with self._parking.lock:
            parked, self._parking.slot = self._parking.slot, None
        if parked is not None:
            _quit(parked[0])

    def close_idle(self) -> None:
        """QUIT the connection left open if it has waited `keep_open` seconds: called now and
        then, so that a desk with nothing to send holds no connection for long."""
        with self._parking.lock:
            parked = self._parking.slot
            if parked is None or self._monotonic() - parked[1] < self.keep_open:
                return
            self._parking.slot = None
        _quit(parked[0])

    def park(self, smtp: smtplib.SMTP) -> None:
        """Keep `smtp` (idle, between transactions) for the next session, or QUIT it."""
        if self.keep_open <= 0:
            _quit(smtp)
            return
        with self._parking.lock:
            parked, self._parking.slot = self._parking.slot, (smtp, self._monotonic())
        if parked is not None:  # two sessions at once: one connection is enough to keep
            _quit(parked[0])

    def unpark(self) -> smtplib.SMTP | None:
        """The connection left open, if still fresh and the relay still answers a NOOP.

        A relay drops idle clients after its own timeout, unannounced: a mail handed to a
        dropped connection would fail and wait for its retry, a NOOP costs one round trip.
        """
        with self._parking.lock:
            parked, self._parking.slot = self._parking.slot, None
        if parked is None:
            return None
        smtp, since = parked
        if self._monotonic() - since >= self.keep_open:
            _quit(smtp)
            return None
        try:
            code, _ = smtp.noop()
        except (smtplib.SMTPException, OSError):
            smtp.close()
            return None
        if code != 250:
            _quit(smtp)
            return None
        return smtp

    def probe(self) -> None:
        """Connect, start TLS and log in as configured, then QUIT: no mail is sent.

        Raises the same SendError subclasses as sending, so a caller can say what to fix.
        """
        smtp = self.open()
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        smtp.close()

    def open(self) -> smtplib.SMTP:
        """A connected, logged-in client (the caller closes it), or a classified SendError."""
        # The secret first: without it there is no point in connecting at all.
        password = self._password() if self.username else None
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise classify(exc) from exc
        try:
            if self.username:
                smtp.login(self.username, password)
        except BaseException as exc:
            smtp.close()
            if isinstance(exc, (smtplib.SMTPException, OSError)):
                raise classify(exc) from exc
            raise
        return smtp

    def _password(self) -> str:
        try:
            return self._password_provider()
        except Exception as exc:  # a missing variable, a failing command: the cause says which
            raise RelaySetupError(f"no password for {self.username}: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout, context=self.ssl_context
            )
        smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
        if self.security == "starttls":
            try:
                # Raises SMTPNotSupportedError when not offered: never fall back to plain.
                smtp.starttls(context=self.ssl_context)
            except BaseException:
                smtp.close()
                raise
        return smtp


class _Parking:
    """The connection the last session left open, logged in and idle, with the moment it
    was left: the next session takes it, if it is still fresh and still answers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.slot: tuple[smtplib.SMTP, float] | None = None

    def abandon(self) -> None:
        if self.slot is not None:
            self.slot[0].close()
            self.slot = None


class SmtpSession:
    """Many transactions (MAIL/RCPT/DATA, RSET after a failure) over one connection.

    Each message succeeds or fails on its own: a 4xx or 5xx for one leaves the connection
    in place for the next. A dropped connection fails the message in flight as transient
    (nobody knows whether the relay kept it, so the outbox decides when to try again) and
    the next message reconnects, once per session: a relay that drops us twice is not
    well, and the remaining messages fail fast as transient instead of hammering it.
    No retries with sleeps in here either: the connection would idle while we wait.
    """

    RECONNECTS = 1

    def __init__(self, sender: SmtpSender) -> None:
        self._sender = sender
        self._smtp: smtplib.SMTP | None = None
        self._connects_left = 1 + self.RECONNECTS
        # Set once the session stops trying: every later message gets this answer.
        self._given_up: SendError | None = None

    def send(self, msg: EmailMessage, *, from_addr: str | None = None, to_addrs: Sequence[str] | None = None) -> None:
        sender, recipients = envelope(msg, from_addr, to_addrs)
        self._hand_over(str(msg["Message-ID"]), recipients, lambda smtp: smtp.send_message(msg, sender, recipients))

    def send_raw(self, raw: bytes, *, tried_before: bool = True) -> None:
        """`send` for an outbox payload: its own bytes go on the wire, CRLF-ended, where that
        is what parsing and writing it again would send (`as_written`); else the long way.

        A relay cannot be asked whether it has a message already: `tried_before` changes nothing."""
        written = as_written(raw)
        if written is None or not written.ascii_envelope:  # SMTPUTF8 is send_message's business
            self.send(parsed_payload(raw))
            return
        self._hand_over(
            written.message_id,
            written.recipients,
            lambda smtp: smtp.sendmail(written.sender, written.recipients, written.wire()),
        )

    def _hand_over(self, message_id: str, recipients: list[str], transmit: Callable[[smtplib.SMTP], dict]) -> None:
        """One mail transaction on the session's connection; a refusal raises, classified."""
        smtp = self._connection()
        try:
            refused = transmit(smtp)
        except (smtplib.SMTPException, OSError) as exc:
            self._forget_if_dropped(smtp, exc)
            raise classify(exc) from exc
        if refused:
            # Some recipients got it: a retry would send them a second copy.
            raise PermanentSendError(f"{message_id} refused for {sorted(refused)}", refused=refused)
        log.info(
            "sent %s via %s:%s to %d recipient(s)", message_id, self._sender.host, self._sender.port, len(recipients)
        )

    def close(self) -> None:
        """Leave the connection to the sender for the next session (`SmtpSender.park`)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            self._sender.park(smtp)

    def _connection(self) -> smtplib.SMTP:
        if self._given_up is not None:
            raise _again(self._given_up)
        if self._smtp is None:
            self._smtp = self._sender.unpark() or self._connect_once_more()
        return self._smtp

    def _connect_once_more(self) -> smtplib.SMTP:
        if not self._connects_left:
            self._given_up = RelayUnavailable(
                f"{self._sender.host}:{self._sender.port} failed or dropped "
                f"{1 + self.RECONNECTS} connections in this session: left for later"
            )
            log.warning("%s", self._given_up)
            raise _again(self._given_up)
        self._connects_left -= 1
        try:
            return self._sender.open()
        except RelaySetupError as error:
            # A setup problem (password, TLS, AUTH) repeats for every message: stop asking.
            self._given_up = error
            raise

    def _forget_if_dropped(self, smtp: smtplib.SMTP, exc: BaseException) -> None:
        # smtplib closes the socket itself on a disconnect or a 421; a bare network
        # error (SMTPException is an OSError too, hence the test) may leave it
        # half-open, and a half-open connection is not worth reusing.
        if smtp.sock is None or not isinstance(exc, smtplib.SMTPException):
            log.warning("connection to %s:%s dropped: %s", self._sender.host, self._sender.port, exc)
            smtp.close()
            self._smtp = None


def _quit(smtp: smtplib.SMTP) -> None:
    """QUIT politely; a relay that already hung up needs no goodbye, and one that went
    silent is not waited for long (a stop request would wait with it)."""
    with contextlib.suppress(smtplib.SMTPException, OSError):
        if smtp.sock is not None:
            smtp.sock.settimeout(min(smtp.timeout, QUIT_TIMEOUT))
        smtp.quit()
    smtp.close()


def _again(error: SendError) -> SendError:
    """A fresh copy of `error`, so raising it once per message does not pile up tracebacks."""
    return type(error)(str(error), code=error.code, refused=error.refused)


# Answers about our login, whatever the stage (530 may come at MAIL FROM when we sent none).
AUTH_CODES = frozenset({454, 530, 534, 535, 538})
_ENHANCED = re.compile(r"\s*([245])\.(\d{1,3})\.\d{1,3}\b")


def about_the_recipient(code: int, text: str) -> bool:
    """Whether a 5xx says the recipient cannot get mail (unknown user, bad mailbox).

    The enhanced status decides when there is one (RFC 3463: X.1 addressing, X.2
    mailbox); without one, the codes RFC 5321 gives to a mailbox that is not there.
    "550 5.7.1 relaying denied" is about us, not about the recipient.
    """
    if code < 500 or code in AUTH_CODES:
        return False
    enhanced = _ENHANCED.match(text)
    if enhanced:
        return enhanced.group(2) in ("1", "2")
    return code in (550, 551, 553)


def classify(exc: BaseException) -> SendError:
    """Sort a failure: only a 5xx about the recipient is final, everything else is retried.

    Refused logins and TLS problems are `RelaySetupError`, a relay out of reach is
    `RelayUnavailable`: the mail waits for the relay, it is never dropped for them.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = exc.recipients.values()
        final = all(about_the_recipient(code, _text(reply)) for code, reply in answers)
        kind = PermanentSendError if final else TransientSendError
        return kind(f"all recipients refused: {_answers(exc.recipients)}", refused=exc.recipients)
    if isinstance(exc, smtplib.SMTPAuthenticationError) or (
        isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code in AUTH_CODES
    ):
        return RelaySetupError(f"relay refused our login: {exc.smtp_code} {_text(exc.smtp_error)}", code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = _text(exc.smtp_error)
        # A refused MAIL FROM is about our own address, whatever status it carries.
        final = not isinstance(exc, smtplib.SMTPSenderRefused) and about_the_recipient(exc.smtp_code, text)
        kind = PermanentSendError if final else TransientSendError
        return kind(f"relay answered {exc.smtp_code} {text}", code=exc.smtp_code)
    if isinstance(exc, (smtplib.SMTPNotSupportedError, ssl.SSLError)) or _no_auth_method(exc):
        # No STARTTLS or AUTH offered, an untrusted certificate: retrying unchanged only
        # repeats it, and sending in clear instead is not an option.
        return RelaySetupError(f"relay setup problem: {exc}")
    return RelayUnavailable(f"relay unreachable: {exc}")


def _no_auth_method(exc: BaseException) -> bool:
    # smtplib raises a bare SMTPException when no offered AUTH mechanism suits it.
    return type(exc) is smtplib.SMTPException and "authentication method" in str(exc)


def _answers(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in refused.items())


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


_ADDRESS_HEADERS = {"sender", "from", "to", "cc", "bcc"}
_ADDR_SPEC = r"[^\s<>()\[\]\\,;:@\"]+@[^\s<>()\[\]\\,;:@\"]+"
_MAILBOX = rf"(?:{_ADDR_SPEC}|[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~.\- ]*<{_ADDR_SPEC}>)"
_PLAIN_ADDRESSES = re.compile(rf"\s*{_MAILBOX}(?:\s*,\s*{_MAILBOX})*\s*")

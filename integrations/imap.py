"""IMAP mail source: a thin adapter from IMAPClient to `integrations.mailsource.MailSource`.

Connection lifecycle (connect, login, select, IDLE or polling, close) is kept apart from
the mailbox operations (search, fetch, mark done). Every failure of the transport comes
out as `ConnectionLost` so the watcher can reconnect with backoff; the traps of IMAP
(timeouts, an IDLE that returns at once after EOF, RFC 3501 UID ranges, BODY.PEEK) are
handled here so that the daemon never imports imapclient. A mail above SLICE_BYTES
(by the RFC822.SIZE that `batches` reads) is fetched in ranges, `Ranges`, each stored
before the next is asked for, so that it is never whole in memory.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl as ssl_lib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Literal

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from integrations.mailsource import (
    SLICE_BYTES,
    AuthenticationFailed,
    ConnectionLost,
    FetchedMail,
    MailSourceError,
    Wakeup,
)

log = logging.getLogger(__name__)

# RFC 2177 lets a server drop an IDLE after 29 minutes; NATs often drop sooner.
MAX_IDLE_RENEW = 29 * 60
# idle_check() returning [] before this share of its timeout means the socket hit EOF
# (imapclient reports a closed connection as an empty answer, not as an error): a real
# quiet period lasts the whole timeout.
EARLY_EMPTY_IDLE = 0.5
# IDLE listens in slices this long, so that a stop request is seen within about a second.
IDLE_SLICE = 1.0
# The first IDLE round after a sweep ends this soon, with a NOOP: mail delivered between
# our NOOP and the server's taking up IDLE is not announced by Dovecot until its own
# check, 30 seconds later; the NOOP after a short round reports it instead.
FIRST_IDLE_ROUND = 1.0
# Announcements that new mail is there, in any reply (RFC 3501 7.3.1, 7.3.2).
NEW_MAIL_RESPONSES = ("EXISTS", "RECENT")
FETCH_BATCH = 100
PROCESSED_KEYWORD = b"$Processed"
SEEN = b"\\Seen"
DELETED = b"\\Deleted"
MESSAGE_ID_FIELD = b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"


class ImapSource:
    """One folder on an IMAP server; see `MailSource` for the contract of each method."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password_provider: Callable[[], str],
        *,
        ssl: bool,
        starttls: bool,
        folder: str = "INBOX",
        processed_folder: str | None,
        auth: Literal["password", "xoauth2"] = "password",
        connect_timeout: float = 15,
        read_timeout: float = 60,
        idle_renew: float = 300,
        poll_interval: float = 30,
        ssl_context: ssl_lib.SSLContext | None = None,
    ) -> None:
        _check_options(ssl, starttls, auth, idle_renew, poll_interval, folder, processed_folder)
        self.host, self.port, self.username = host, port, username
        self._secret = password_provider
        self.use_ssl, self.use_starttls, self.auth = ssl, starttls, auth
        self.folder, self.processed_folder = folder, processed_folder
        self.timeout = SocketTimeout(connect=connect_timeout, read=read_timeout)
        self.idle_renew, self.poll_interval = idle_renew, poll_interval
        self.ssl_context = ssl_context
        self.key = f"imap://{username}@{host}:{port}/{folder}"
        self.last_wakeup: Wakeup | None = None
        self._client: IMAPClient | None = None
        self._permanent_flags: tuple[bytes, ...] = ()
        # Read once per connection: asking later would be one more command that can fail.
        self._capabilities: frozenset[bytes] = frozenset()
        # RFC822.SIZE of the mails `batches` last grouped, by UID.
        self._announced: dict[int, int] = {}

    def __repr__(self) -> str:
        return f"ImapSource({self.key!r})"

    # -- connection lifecycle ------------------------------------------------------------

    def connect(self) -> int:
        self.close()
        self._announced = {}
        client = self._open()
        try:
            self._login(client)
            self._capabilities = frozenset(_guarded(self.key, client.capabilities))
            uidvalidity = self._select(client)
            self._ensure_processed_folder(client)
        except BaseException:
            _shutdown_quietly(client)
            raise
        self._client = client
        log.info("connected to %s (UIDVALIDITY %d)", self.key, uidvalidity)
        return uidvalidity

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (OSError, IMAPClientError):
            # The server may already be gone; logging out is a courtesy, not a need.
            _shutdown_quietly(client)

    def wait(self, timeout: float, stop: threading.Event | None = None) -> None:
        client = self._connected()
        stop = stop or threading.Event()
        deadline = time.monotonic() + timeout
        if _take_announcements(client):
            self.last_wakeup = Wakeup.ACTIVITY
        elif b"IDLE" in self._capabilities:
            self.last_wakeup = self._idle_until(client, deadline, stop)
        else:
            self.last_wakeup = self._poll_until(client, deadline, stop)
        # Acted on by the sweep that follows: only what the server says after this is news.
        _take_announcements(client)

    def _open(self) -> IMAPClient:
        try:
            client = IMAPClient(
                self.host,
                self.port,
                ssl=self.use_ssl,
                ssl_context=self.ssl_context,
                timeout=self.timeout,
            )
        except (OSError, IMAPClientError) as exc:
            raise ConnectionLost(f"cannot connect to {self.key}: {exc}") from exc
        _no_delay(client)
        _trace_only_when_asked(client)
        if self.use_starttls:
            try:
                client.starttls(self.ssl_context)
            except (OSError, IMAPClientError) as exc:
                _shutdown_quietly(client)
                raise ConnectionLost(f"STARTTLS with {self.key} failed: {exc}") from exc
        return client

    def _login(self, client: IMAPClient) -> None:
        # Asked on every connect: OAuth2 access tokens (Microsoft 365) expire within an hour.
        secret = self._secret()
        try:
            if self.auth == "xoauth2":
                client.oauth2_login(self.username, secret)
            else:
                client.login(self.username, secret)
        except LoginError as exc:
            reason = str(exc).replace(secret, "***") if secret else str(exc)
            # "from None": the chained imaplib error is not needed and must not leak.
            raise AuthenticationFailed(
                f"{self.host}:{self.port} refused {self.auth} login for {self.username}: {reason}"
            ) from None
        except (OSError, IMAPClientAbortError) as exc:
            raise ConnectionLost(f"connection to {self.key} lost during login: {exc}") from None

    def _select(self, client: IMAPClient) -> int:
        info = _guarded(self.key, client.select_folder, self.folder)
        self._permanent_flags = tuple(info.get(b"PERMANENTFLAGS", ()))
        _take_announcements(client)  # SELECT's own count is not news: the first sweep reads everything
        return int(info[b"UIDVALIDITY"])

    def _ensure_processed_folder(self, client: IMAPClient) -> None:
        folder = self.processed_folder
        if folder is None or _guarded(self.key, client.folder_exists, folder):
            return
        try:
            _guarded(self.key, client.create_folder, folder)
            log.info("created folder %r on %s", folder, self.key)
        except ConnectionLost:
            raise
        except MailSourceError as exc:
            # Another client may have created it meanwhile; only its absence is an error.
            if not _guarded(self.key, client.folder_exists, folder):
                raise MailSourceError(f"cannot create processed folder {folder!r}: {exc}") from exc

    def _connected(self) -> IMAPClient:
        if self._client is None:
            raise ConnectionLost(f"not connected to {self.key}")
        return self._client

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one client call; a dead transport drops the connection and says so."""
        try:
            return _guarded(self.key, method, *args, **kwargs)
        except ConnectionLost:
            self._drop()
            raise

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _shutdown_quietly(client)

    # -- waiting: IDLE or polling --------------------------------------------------------

    def _idle_until(self, client: IMAPClient, deadline: float, stop: threading.Event) -> Wakeup:
        """IDLE in rounds of at most `idle_renew` seconds until mail arrives, time is up or `stop` is set."""
        # Mail delivered since our last command is not always announced when IDLE starts
        # (Dovecot waits for its next 30-second check): a NOOP first reports it at once.
        if self._noop_announces_mail(client):
            return Wakeup.ACTIVITY
        round_length = min(FIRST_IDLE_ROUND, self.idle_renew)
        while (remaining := deadline - time.monotonic()) > 0 and not stop.is_set():
            if self._idle_round(client, min(remaining, round_length), stop):
                return Wakeup.ACTIVITY
            if round_length < self.idle_renew and not stop.is_set() and self._noop_announces_mail(client):
                return Wakeup.ACTIVITY  # delivered as IDLE began: see FIRST_IDLE_ROUND
            round_length = self.idle_renew
        return Wakeup.TIMEOUT

    def _idle_round(self, client: IMAPClient, seconds: float, stop: threading.Event) -> bool:
        self._start_idle(client)
        announced = self._idle_listen(client, time.monotonic() + seconds, stop)
        _text, late = self._call(client.idle_done)
        self._raise_on_bye(late)
        return announced or _announces_mail(late)

    def _idle_listen(self, client: IMAPClient, deadline: float, stop: threading.Event) -> bool:
        # One long idle_check would not notice a stop request until the server spoke.
        while (remaining := deadline - time.monotonic()) > 0 and not stop.is_set():
            if _announces_mail(self._idle_check(client, min(remaining, IDLE_SLICE))):
                return True
        return False

    def _start_idle(self, client: IMAPClient) -> None:
        try:
            self._call(client.idle)
        except MailSourceError as exc:
            # IMAPClient reports a BYE in answer to IDLE as an "unexpected response" error.
            if "BYE" not in str(exc):
                raise
            self._drop()
            raise ConnectionLost(str(exc)) from exc

    def _idle_check(self, client: IMAPClient, seconds: float) -> list:
        started = time.monotonic()
        responses = self._call(client.idle_check, timeout=seconds)
        self._raise_on_bye(responses)
        if not responses and time.monotonic() - started < seconds * EARLY_EMPTY_IDLE:
            self._drop()
            raise ConnectionLost(f"{self.key} closed the connection during IDLE")
        return responses

    def _poll_until(self, client: IMAPClient, deadline: float, stop: threading.Event) -> Wakeup:
        """Without IDLE: NOOP every `poll_interval` seconds; the reply reports new mail."""
        while (remaining := deadline - time.monotonic()) > 0:
            if stop.wait(min(remaining, self.poll_interval)):
                return Wakeup.TIMEOUT
            if self._noop_announces_mail(client):
                return Wakeup.ACTIVITY
        return Wakeup.TIMEOUT

    def _noop_announces_mail(self, client: IMAPClient) -> bool:
        _text, responses = self._call(client.noop)
        self._raise_on_bye(responses)
        return _announces_mail(responses)

    def _raise_on_bye(self, responses: Iterable) -> None:
        for response in responses:
            if response and response[0] == b"BYE":
                self._drop()
                raise ConnectionLost(f"{self.key} said BYE: {_text_of(response)}")

    # -- mailbox operations --------------------------------------------------------------

    def new_uids(self, after_uid: int) -> list[int]:
        client = self._connected()
        found = self._call(client.search, ["UID", f"{after_uid + 1}:*"])
        # RFC 3501: 'n:*' always matches the highest UID, even when it is below n.
        return sorted(uid for uid in found if uid > after_uid)

    def batches(self, uids: list[int], max_bytes: int, max_count: int) -> Iterator[list[int]]:
        """`uids` in groups of at most `max_count` mails and `max_bytes` bytes (RFC822.SIZE).

        A mail larger than `max_bytes` is a group of its own: it is fetched, never skipped.
        Fetching by count alone held a whole batch of 25 MB mails in memory at once.
        """
        group: list[int] = []
        total = 0
        for uid, size in self._sizes(uids):
            if group and (total + size > max_bytes or len(group) >= max_count):
                yield group
                group, total = [], 0
            group.append(uid)
            total += size
        if group:
            yield group

    def _sizes(self, uids: list[int]) -> Iterator[tuple[int, int]]:
        client = self._connected()
        wanted = sorted(set(uids))
        self._announced = {}
        for start in range(0, len(wanted), FETCH_BATCH):
            chunk = wanted[start : start + FETCH_BATCH]
            data = self._call(client.fetch, chunk, [b"RFC822.SIZE"])
            sizes = {uid: int(data[uid].get(b"RFC822.SIZE", 0)) for uid in chunk if uid in data}
            self._announced.update(sizes)  # for fetch(): which mails to read in slices
            yield from sizes.items()

    def fetch(self, uids: list[int]) -> list[FetchedMail]:
        """Mails above SLICE_BYTES (by the sizes `batches` read) come as `Slices`, read when stored."""
        client = self._connected()
        wanted = sorted(set(uids))
        mails = []
        for start in range(0, len(wanted), FETCH_BATCH):
            batch = wanted[start : start + FETCH_BATCH]
            large = [uid for uid in batch if self._announced.get(uid, 0) > SLICE_BYTES]
            whole = [uid for uid in batch if self._announced.get(uid, 0) <= SLICE_BYTES]
            if whole:
                # PEEK leaves \Seen alone; the answer comes back under b'BODY[]'.
                data = self._call(client.fetch, whole, [b"BODY.PEEK[]", b"INTERNALDATE"])
                mails += [
                    FetchedMail(uid, data[uid][b"BODY[]"], _aware(data[uid].get(b"INTERNALDATE")))
                    for uid in whole
                    if uid in data
                ]
            if large:
                dates = self._call(client.fetch, large, [b"INTERNALDATE"])
                mails += [
                    FetchedMail(uid, Ranges(self, uid, self._announced[uid]), _aware(dates[uid].get(b"INTERNALDATE")))
                    for uid in large
                    if uid in dates
                ]
        return sorted(mails, key=lambda mail: mail.uid)

    def read_range(self, uid: int, offset: int, length: int) -> bytes:
        """Up to `length` bytes of mail `uid` from `offset` on (fewer at its end), without marking it seen."""
        client = self._connected()
        data = self._call(client.fetch, [uid], [f"BODY.PEEK[]<{offset}.{length}>".encode()])
        if uid not in data:
            raise MailSourceError(f"{self.key}: UID {uid} went away while it was read")
        # The answer names the range by its start: b'BODY[]<1048576>'.
        answered = [key for key in data[uid] if key.startswith(b"BODY[]")]
        if not answered:
            # Taken for the end, a missing answer would store the mail cut short.
            raise MailSourceError(f"{self.key}: no bytes {offset}+ of UID {uid} in the answer")
        return data[uid][answered[0]] or b""

    def mark_done(self, uid: int) -> None:
        client = self._connected()
        if self.processed_folder is None:
            self._call(client.add_flags, [uid], [self._done_flag()], silent=True)
        elif b"MOVE" in self._capabilities:
            self._call(client.move, [uid], self.processed_folder)
        else:
            self._copy_and_expunge(client, uid)

    def _done_flag(self) -> bytes:
        # A keyword the server cannot keep is dropped silently: fall back to \Seen.
        return PROCESSED_KEYWORD if b"\\*" in self._permanent_flags else SEEN

    def _copy_and_expunge(self, client: IMAPClient, uid: int) -> None:
        # A crash between COPY and EXPUNGE leaves the mail in both folders: finishing the
        # move must not copy it a second time. UID COPY of a UID that is gone is a
        # successful no-op (RFC 3501), as wanted.
        if not self._already_processed(client, uid):
            self._call(client.copy, [uid], self.processed_folder)
        self._call(client.add_flags, [uid], [DELETED], silent=True)
        if b"UIDPLUS" in self._capabilities:
            self._call(client.uid_expunge, [uid])
        else:
            # Without UIDPLUS this also expunges anything else marked \Deleted.
            self._call(client.expunge)

    def _already_processed(self, client: IMAPClient, uid: int) -> bool:
        """Whether the processed folder holds a mail with the Message-ID of `uid` already."""
        data = self._call(client.fetch, [uid], [MESSAGE_ID_FIELD])
        fields = data.get(uid, {})
        header = next((value for key, value in fields.items() if key.startswith(b"BODY")), b"")
        match = re.search(rb"<[^<>\s]+>", header if isinstance(header, bytes) else b"")
        if match is None:
            return False  # gone, or no Message-ID to recognise it by
        self._call(client.select_folder, self.processed_folder, readonly=True)
        try:
            found = self._call(client.search, ["HEADER", "Message-ID", match.group(0).decode("ascii", "replace")])
        finally:
            self._select(client)
        return bool(found)


class Ranges:
    """A large mail on the server, read in SLICE_BYTES ranges (`BODY.PEEK[]<offset.length>`)
    each time it is iterated: each range is stored before the next is asked for.

    Reads on until a range comes back short rather than up to `size`, which a server may
    announce a little wrong.
    """

    def __init__(self, source: ImapSource, uid: int, size: int) -> None:
        self.source, self.uid, self.size = source, uid, size

    def __repr__(self) -> str:
        return f"Ranges(UID {self.uid}, {self.size} bytes)"

    def __iter__(self) -> Iterator[bytes]:
        offset = 0
        while True:
            piece = self.source.read_range(self.uid, offset, SLICE_BYTES)
            if piece:
                yield piece
            if len(piece) < SLICE_BYTES:
                return
            offset += len(piece)


def _check_options(ssl, starttls, auth, idle_renew, poll_interval, folder, processed) -> None:
    if ssl and starttls:
        raise ValueError("choose implicit TLS (ssl) or STARTTLS, not both")
    if auth not in ("password", "xoauth2"):
        raise ValueError(f"auth must be 'password' or 'xoauth2', not {auth!r}")
    if not 0 < idle_renew < MAX_IDLE_RENEW:
        raise ValueError(f"idle_renew must be between 0 and {MAX_IDLE_RENEW} seconds")
    if poll_interval <= 0:
        raise ValueError("poll_interval must be positive")
    if processed is not None and processed == folder:
        raise ValueError("the processed folder must differ from the watched folder")


def _guarded(key: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Translate transport failures to ConnectionLost and protocol refusals to MailSourceError."""
    try:
        return method(*args, **kwargs)
    except (OSError, IMAPClientAbortError) as exc:
        raise ConnectionLost(f"{key}: {exc or type(exc).__name__}") from exc
    except IMAPClientError as exc:
        raise MailSourceError(f"{key}: {exc}") from exc


def _announces_mail(responses: Iterable) -> bool:
    """EXISTS (or RECENT) is how a server tells an idling or polling client of new mail."""
    wanted = tuple(name.encode() for name in NEW_MAIL_RESPONSES)
    return any(len(r) > 1 and r[1] in wanted for r in responses)


def _take_announcements(client: IMAPClient) -> bool:
    """Whether a reply since the last look announced new mail; forgets the announcements.

    A server tells of mail that arrived during a sweep in its reply to the sweep's own
    SEARCH, FETCH or MOVE; imaplib keeps such untagged lines and nothing else reads them,
    so without this look the mail would wait for the next sweep.
    """
    kept = client._imap.untagged_responses
    return any([kept.pop(name, None) for name in NEW_MAIL_RESPONSES])


def _no_delay(client: IMAPClient) -> None:
    # A command and its final CRLF are written separately: Nagle would hold the second
    # part for the server's delayed ACK (about 40 ms per command).
    try:
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass  # not a TCP socket (or already closed): nothing to tune


def _trace_only_when_asked(client: IMAPClient) -> None:
    # imapclient sets imaplib's trace to its most verbose level and hands it to a logger,
    # but imaplib formats each trace line before the logger can decline it, among them the
    # repr of every literal received: a 25 MB mail became a string of 25 MB and more, per
    # fetch. The trace is kept for whoever turns its logger to DEBUG.
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0


def _aware(moment) -> datetime | None:
    """INTERNALDATE as an aware time: imapclient hands it over naive, in this machine's zone."""
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo else moment.astimezone()


def _text_of(response: tuple) -> str:
    text = response[1] if len(response) > 1 else b""
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _shutdown_quietly(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except (OSError, IMAPClientError):
        # Closing a socket the peer already closed can fail; it is closed either way.
        pass

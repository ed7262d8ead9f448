"""ImapSource against a real Dovecot: fetching, marking done, IDLE, polling, reconnecting."""

from __future__ import annotations

import socket
import ssl
import threading
from contextlib import contextmanager

import pytest
from imapclient import IMAPClient, SocketTimeout

from integrations.imap import ImapSource
from integrations.mailsource import (
    SLICE_BYTES,
    AuthenticationFailed,
    ConnectionLost,
    FetchedMail,
    MailSourceError,
    Wakeup,
)
from tests.servers.dovecot import DovecotServer, DovecotUser, start_or_skip
# tests/conftest.py provides dovecot, dovecot_user, dovecot_no_idle and dovecot_no_idle_user.
from tests.servers.dovecot import dovecot_oauth2, dovecot_oauth2_user, dovecot_tls  # noqa: F401

pytestmark = pytest.mark.dovecot

CANCELLATION = (
    b"From: Ada Customer <ada@customer.example>\r\n"
    b"To: cancel@desk.example\r\n"
    b"Subject: Please cancel my subscription\r\n"
    b"Message-ID: <cancel-1@customer.example>\r\n"
    b"Date: Mon, 03 Mar 2025 09:00:00 +0000\r\n"
    b"\r\n"
    b"Hello, please cancel contract 4711 at the end of the month.\r\n"
)
# Long enough that a test which wrongly waits for it fails visibly, never slowly by design.
PATIENCE = 30.0


def mail(n: int) -> bytes:
    return CANCELLATION.replace(b"cancel-1@", f"cancel-{n}@".encode())


@pytest.fixture
def make_source():
    """Build ImapSources for a Dovecot user and close them all after the test."""
    made: list[ImapSource] = []

    def make(user: DovecotUser, **options) -> ImapSource:
        options.setdefault("processed_folder", "Processed")
        provider = options.pop("password_provider", lambda: user.password)
        source = ImapSource(
            user.server.host, user.server.port, user.name, provider,
            ssl=False, starttls=False, connect_timeout=5, read_timeout=10, **options,
        )
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


@contextmanager
def other_client(user: DovecotUser, folder: str = "INBOX"):
    """A second, independent session, to look at the mailbox behind the source's back."""
    server = user.server
    with IMAPClient(server.host, server.port, ssl=False, timeout=SocketTimeout(5, 10)) as client:
        client.login(user.name, user.password)
        client.select_folder(folder)
        yield client


def flags_of(user: DovecotUser, uid: int) -> tuple[bytes, ...]:
    with other_client(user) as client:
        return client.get_flags([uid])[uid]


def run_soon(action) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


# -- fetching ----------------------------------------------------------------------------


def test_appended_mail_comes_back_byte_for_byte(dovecot_user, make_source):
    uid = dovecot_user.append(CANCELLATION)
    source = make_source(dovecot_user)
    source.connect()

    assert source.new_uids(0) == [uid]
    assert source.fetch([uid]) == [FetchedMail(uid, CANCELLATION)]


def test_fetch_leaves_the_mail_unseen(dovecot_user, make_source):
    uid = dovecot_user.append(CANCELLATION)
    source = make_source(dovecot_user)
    source.connect()

    source.fetch([uid])

    assert b"\\Seen" not in flags_of(dovecot_user, uid)


def test_new_uids_lists_only_newer_mail_in_order(dovecot_user, make_source):
    first, second, third = (dovecot_user.append(mail(n)) for n in (1, 2, 3))
    source = make_source(dovecot_user)
    source.connect()

    assert source.new_uids(first) == [second, third]
    # RFC 3501 makes 'n:*' match the highest UID even above it: must not come back.
    assert source.new_uids(third) == []


def test_fetch_skips_uids_that_are_gone(dovecot_user, make_source):
    uid = dovecot_user.append(CANCELLATION)
    source = make_source(dovecot_user)
    source.connect()

    assert source.fetch([uid + 100, uid]) == [FetchedMail(uid, CANCELLATION)]
    assert source.fetch([]) == []


def test_key_names_the_mailbox_without_the_secret(dovecot_user, make_source):
    source = make_source(dovecot_user)
    server = dovecot_user.server

    assert source.key == f"imap://{dovecot_user.name}@{server.host}:{server.port}/INBOX"
    assert dovecot_user.password not in source.key + repr(source)


# -- marking done --------------------------------------------------------------------------


def test_mark_done_moves_the_mail_to_the_processed_folder(dovecot_user, make_source):
    uid = dovecot_user.append(CANCELLATION)
    source = make_source(dovecot_user, processed_folder="Processed")
    source.connect()

    source.mark_done(uid)
    source.mark_done(uid)  # idempotent: already gone from the folder

    assert source.new_uids(0) == []
    with other_client(dovecot_user, "Processed") as client:
        [moved] = client.search()
        assert client.fetch([moved], [b"BODY.PEEK[]"])[moved][b"BODY[]"] == CANCELLATION


def test_mark_done_without_a_folder_sets_the_processed_keyword(dovecot_user, make_source):
    uid = dovecot_user.append(CANCELLATION)
    source = make_source(dovecot_user, processed_folder=None)
    source.connect()

    source.mark_done(uid)

    assert b"$Processed" in flags_of(dovecot_user, uid)
    assert b"\\Seen" not in flags_of(dovecot_user, uid)


def test_without_move_mark_done_copies_and_expunges(dovecot_no_idle_user, make_source):
    user = dovecot_no_idle_user
    kept, done = user.append(mail(1)), user.append(mail(2))
    source = make_source(user, processed_folder="Done")
    source.connect()

    source.mark_done(done)
    source.mark_done(done)

    assert source.new_uids(0) == [kept]
    with other_client(user, "Done") as client:
        assert len(client.search()) == 1


# -- waiting -------------------------------------------------------------------------------


@pytest.fixture
def idling(monkeypatch) -> threading.Event:
    """Set once a source has sent IDLE, so mail is put in while the server pushes."""
    started = threading.Event()
    real_idle = IMAPClient.idle

    def idle(self):
        answer = real_idle(self)
        started.set()
        return answer

    monkeypatch.setattr(IMAPClient, "idle", idle)
    return started


def after(event: threading.Event, action) -> threading.Thread:
    def run():
        if event.wait(PATIENCE):
            action()

    return run_soon(run)


def test_idle_wakes_up_when_mail_is_appended(dovecot_user, make_source, idling):
    source = make_source(dovecot_user)
    source.connect()

    appender = after(idling, lambda: dovecot_user.append(CANCELLATION))
    source.wait(PATIENCE)
    appender.join()

    assert source.last_wakeup is Wakeup.ACTIVITY
    assert source.new_uids(0) != []


def test_idle_wakes_up_for_mail_delivered_into_the_maildir(dovecot_user, make_source, idling):
    source = make_source(dovecot_user)
    source.connect()

    deliverer = after(idling, lambda: dovecot_user.deliver(CANCELLATION))
    source.wait(PATIENCE)
    deliverer.join()

    assert source.last_wakeup is Wakeup.ACTIVITY
    assert len(source.new_uids(0)) == 1


def test_mail_that_arrived_before_waiting_wakes_at_once(dovecot_user, make_source, idling):
    source = make_source(dovecot_user)
    source.connect()
    dovecot_user.deliver(CANCELLATION)

    source.wait(PATIENCE)

    assert source.last_wakeup is Wakeup.ACTIVITY
    assert not idling.is_set()  # reported by the NOOP before IDLE, not by a 30 s recheck


def test_idle_is_renewed_and_times_out_quietly(dovecot_user, make_source):
    source = make_source(dovecot_user, idle_renew=0.2)
    source.connect()

    source.wait(0.7)

    assert source.last_wakeup is Wakeup.TIMEOUT
    assert source.new_uids(0) == []  # the connection is still usable


def test_without_idle_the_source_polls(dovecot_no_idle_user, make_source, monkeypatch):
    def no_idle(*args):
        raise AssertionError("IDLE used on a server that does not offer it")

    monkeypatch.setattr(IMAPClient, "idle", no_idle)
    source = make_source(dovecot_no_idle_user, poll_interval=0.1)
    source.connect()

    appender = run_soon(lambda: dovecot_no_idle_user.append(CANCELLATION))
    source.wait(PATIENCE)
    appender.join()

    assert source.last_wakeup is Wakeup.ACTIVITY
    assert len(source.new_uids(0)) == 1


def test_polling_times_out_without_mail(dovecot_no_idle_user, make_source):
    source = make_source(dovecot_no_idle_user, poll_interval=0.1)
    source.connect()

    source.wait(0.3)

    assert source.last_wakeup is Wakeup.TIMEOUT


# -- losing and regaining the connection ---------------------------------------------------


@pytest.fixture
def private_dovecot():
    """Start private servers, so that restarting one disturbs no other test."""
    servers: list[DovecotServer] = []

    def start(**options) -> DovecotServer:
        servers.append(start_or_skip(**options))
        return servers[-1]

    yield start
    for server in servers:
        server.cleanup()


@pytest.mark.parametrize("capabilities", [None, "IMAP4rev1 UIDPLUS"], ids=["idle", "polling"])
def test_restart_under_wait_loses_the_connection_then_reconnects(
    private_dovecot, make_source, capabilities
):
    server = private_dovecot(capabilities=capabilities)
    user = server.add_user()
    uid = user.append(CANCELLATION)
    source = make_source(user, poll_interval=0.1)
    uidvalidity = source.connect()

    restarter = run_soon(server.restart)
    try:
        with pytest.raises(ConnectionLost):
            source.wait(PATIENCE)
    finally:
        restarter.join()  # never tear the server down while it is restarting

    assert source.connect() == uidvalidity
    assert source.new_uids(0) == [uid]


def test_a_connection_dropped_without_bye_during_idle_is_lost(private_dovecot, make_source, idling):
    # After EOF, idle_check() returns [] at once, forever: imapclient reports the closed socket as no news.
    server = private_dovecot()
    source = make_source(server.add_user())
    source.connect()

    killer = after(idling, server.kill_sessions)
    try:
        with pytest.raises(ConnectionLost, match="closed the connection"):
            source.wait(PATIENCE)
    finally:
        killer.join()
    assert source.connect()


def test_operations_after_a_lost_connection_raise_connection_lost(private_dovecot, make_source):
    server = private_dovecot()
    user = server.add_user()
    source = make_source(user)
    source.connect()

    server.stop()

    with pytest.raises(ConnectionLost):
        source.new_uids(0)
    with pytest.raises(ConnectionLost):
        source.fetch([1])  # the source forgot the dead connection
    with pytest.raises(ConnectionLost):
        source.connect()


def test_uidvalidity_changes_when_the_folder_is_recreated(dovecot_user, make_source):
    with other_client(dovecot_user) as client:
        client.create_folder("Cancellations")
    source = make_source(dovecot_user, folder="Cancellations")
    before = source.connect()
    source.close()

    with other_client(dovecot_user) as client:
        client.delete_folder("Cancellations")
        client.create_folder("Cancellations")

    assert source.connect() != before


def test_processed_folder_is_created_when_missing(dovecot_user, make_source):
    source = make_source(dovecot_user, processed_folder="Cancellations.Done")
    source.connect()

    with other_client(dovecot_user) as client:
        assert client.folder_exists("Cancellations.Done")


def test_an_impossible_processed_folder_is_a_mail_source_error(dovecot_user, make_source):
    # Dovecot's Maildir++ hierarchy separator is '.', and it refuses '/' in names.
    source = make_source(dovecot_user, processed_folder="Cancellations/Done")

    with pytest.raises(MailSourceError, match="Cancellations/Done") as caught:
        source.connect()
    assert not isinstance(caught.value, ConnectionLost)


# -- credentials ---------------------------------------------------------------------------


def test_password_provider_is_asked_on_every_connect(dovecot_user, make_source):
    calls = []

    def provider() -> str:
        calls.append(1)
        return dovecot_user.password

    source = make_source(dovecot_user, password_provider=provider)
    source.connect()
    source.connect()

    assert len(calls) == 2


def test_wrong_password_is_a_plain_authentication_failure(dovecot_user, make_source):
    wrong = "not-the-password-" + dovecot_user.password
    source = make_source(dovecot_user, password_provider=lambda: wrong)

    with pytest.raises(AuthenticationFailed) as caught:
        source.connect()

    message = str(caught.value)
    assert dovecot_user.name in message and "refused" in message
    assert wrong not in message and wrong not in repr(caught.value)
    assert caught.value.__cause__ is None


def test_connection_refused_is_connection_lost(make_source, dovecot_user):
    server = dovecot_user.server
    source = ImapSource(
        server.host, _closed_port(), "someone", lambda: "x",
        ssl=False, starttls=False, processed_folder=None, connect_timeout=2,
    )
    with pytest.raises(ConnectionLost):
        source.connect()


def _closed_port() -> int:
    from tests.servers.ports import free_port

    return free_port()


def test_xoauth2_logs_in_with_a_fresh_token_on_every_connect(dovecot_oauth2_user, make_source):
    user = dovecot_oauth2_user
    issuer = user.server.token_issuer
    issued: list[str] = []

    def token() -> str:
        issued.append(issuer.issue(user.name))
        return issued[-1]

    uid = user.append(CANCELLATION)
    source = make_source(user, auth="xoauth2", password_provider=token)
    source.connect()
    issuer.revoke(issued[0])  # as Microsoft 365 expires tokens after about an hour
    source.connect()

    assert issuer.asked == issued and len(issued) == 2
    assert source.fetch([uid]) == [FetchedMail(uid, CANCELLATION)]


def test_xoauth2_with_a_rejected_token_is_refused(dovecot_oauth2_user, make_source):
    user = dovecot_oauth2_user
    token = user.server.token_issuer.issue(user.name)
    user.server.token_issuer.revoke(token)
    source = make_source(user, auth="xoauth2", password_provider=lambda: token)

    with pytest.raises(AuthenticationFailed) as caught:
        source.connect()

    assert "xoauth2" in str(caught.value) and token not in str(caught.value)


# -- TLS -----------------------------------------------------------------------------------


def trusting(server: DovecotServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.certificate))


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
def test_tls_connections_verify_the_certificate(dovecot_tls, make_source, mode):
    user = dovecot_tls.add_user()
    uid = user.append(CANCELLATION)
    implicit = mode == "implicit"
    source = ImapSource(
        "localhost", dovecot_tls.tls_port if implicit else dovecot_tls.port, user.name,
        lambda: user.password, ssl=implicit, starttls=not implicit, processed_folder=None,
        ssl_context=trusting(dovecot_tls), connect_timeout=5, read_timeout=10,
    )
    try:
        source.connect()
        assert source.fetch([uid]) == [FetchedMail(uid, CANCELLATION)]
    finally:
        source.close()


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
def test_an_untrusted_certificate_is_refused(dovecot_tls, mode):
    user = dovecot_tls.add_user()
    implicit = mode == "implicit"
    source = ImapSource(
        "localhost", dovecot_tls.tls_port if implicit else dovecot_tls.port, user.name,
        lambda: user.password, ssl=implicit, starttls=not implicit, processed_folder=None,
        connect_timeout=5, read_timeout=10,
    )

    with pytest.raises(ConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
        source.connect()


@pytest.mark.parametrize(
    "options",
    [
        {"ssl": True, "starttls": True},
        {"auth": "cram-md5"},
        {"idle_renew": 30 * 60},
        {"processed_folder": "INBOX"},
    ],
)
def test_inconsistent_options_are_refused(options):
    settings = {"ssl": False, "starttls": False, "processed_folder": None, **options}
    with pytest.raises(ValueError):
        ImapSource("localhost", 143, "user", lambda: "x", **settings)


def test_commands_are_not_held_back_by_nagle(dovecot_user, make_source):
    # imapclient writes a command and its CRLF separately: with Nagle on, the second
    # write waits for the server's delayed ACK (about 40 ms per command).
    source = make_source(dovecot_user)
    source.connect()
    try:
        assert source._client.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        source.close()


def test_finishing_an_interrupted_move_does_not_copy_twice(dovecot_no_idle_user, make_source):
    """Without MOVE: the crash came after UID COPY and before UID EXPUNGE; the restart finishes it."""
    user = dovecot_no_idle_user
    uid = user.append(mail(3))
    source = make_source(user, processed_folder="Done")
    source.connect()
    assert b"MOVE" not in source._capabilities
    source._connected().copy([uid], "Done")  # the copy made before the crash
    source.close()

    source.connect()  # the restart
    source.mark_done(uid)

    assert source.new_uids(0) == []
    with other_client(user, "Done") as client:
        assert len(client.search()) == 1


def test_batches_are_bounded_in_bytes(dovecot_user, make_source):
    big = CANCELLATION + b"x" * 300_000 + b"\r\n"
    uids = [dovecot_user.append(big if n % 2 else mail(10 + n)) for n in range(6)]
    source = make_source(dovecot_user)
    source.connect()

    groups = list(source.batches(uids, max_bytes=400_000, max_count=50))

    assert [uid for group in groups for uid in group] == uids
    assert all(sum(len(big) if uid in uids[1::2] else 1 for uid in group) <= 400_000 or len(group) == 1
               for group in groups)
    assert len(groups) >= 3
    assert list(source.batches(uids, max_bytes=10**9, max_count=4)) == [uids[:4], uids[4:]]


def _large(n: int, megabytes: float) -> bytes:
    """A mail of `megabytes` whose lines are all different, so a range out of place shows."""
    lines = b"".join(b"line %08d of a large mail, each one different\r\n" % i
                     for i in range(int(megabytes * 2**20) // 48))
    return mail(n) + lines


def test_a_large_mail_is_read_in_ranges_that_join_to_what_was_appended(dovecot_user, make_source):
    large = _large(1, 3.5)
    exact = _large(2, 2)[: 2 * SLICE_BYTES]  # its last range is full: the one after it is empty
    small = mail(3)
    uids = [dovecot_user.append(raw) for raw in (large, exact, small)]
    source = make_source(dovecot_user)
    source.connect()
    assert list(source.batches(uids, max_bytes=10**9, max_count=50)) == [uids]

    fetched = source.fetch(uids)

    assert [m.uid for m in fetched] == uids and fetched[2] == FetchedMail(uids[2], small)
    for mail_, raw in zip(fetched[:2], (large, exact)):
        assert not isinstance(mail_.raw, bytes) and mail_.raw.size == len(raw)
        assert mail_.arrived is not None
        pieces = list(mail_.raw)
        assert b"".join(pieces) == raw and max(map(len, pieces)) == SLICE_BYTES
        assert b"".join(mail_.raw) == raw  # read again from the server, the same
    assert b"\\Seen" not in flags_of(dovecot_user, uids[0])


def test_a_range_of_a_mail_that_is_not_there_is_an_error_not_an_end(dovecot_user, make_source):
    # Taken for the end of the mail, an empty answer would store it cut short.
    uid = dovecot_user.append(mail(1))
    source = make_source(dovecot_user)
    source.connect()

    assert source.read_range(uid, 0, SLICE_BYTES) == mail(1)
    with pytest.raises(MailSourceError, match="went away"):
        source.read_range(uid + 100, 0, SLICE_BYTES)


def test_mail_delivered_as_idle_begins_is_found_long_before_the_servers_own_check(dovecot_user, make_source):
    """Dovecot does not announce a mail delivered between our NOOP and its taking up IDLE
    until its own check 30 s later; the short first round and its NOOP find it."""
    source = make_source(dovecot_user)
    source.connect()
    start_idle = source._start_idle

    def delivered_just_before(client):
        dovecot_user.append(CANCELLATION)
        start_idle(client)

    source._start_idle = delivered_just_before
    waiting = run_soon(lambda: source.wait(10 * PATIENCE))
    waiting.join(timeout=PATIENCE / 2)  # well inside the server's 30 s
    assert not waiting.is_alive()
    assert source.last_wakeup is Wakeup.ACTIVITY
    assert source.new_uids(0) != []

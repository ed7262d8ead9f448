"""SmtpSender against a real aiosmtpd server."""

import select
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

import pytest

from integrations.smtp import PermanentSendError, RelaySetupError, RelayUnavailable, SmtpSender, TransientSendError
from tests.servers.ports import free_port
from tests.servers.smtp import smtp_server, tls_material  # noqa: F401 (fixtures)

USERS = {"desk": "s3cret-pass"}


def cancellation_ack(message_id: str = "<ack-1@canceldesk.example>") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Cancellation desk <desk@canceldesk.example>"
    msg["To"] = "Ada Customer <ada@customer.example>"
    msg["Bcc"] = "audit@canceldesk.example"
    msg["Subject"] = "Your cancellation request [CX-1042]"
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("We received your cancellation request and will confirm it shortly.\n")
    return msg


def sender_for(server, **options) -> SmtpSender:
    options.setdefault("security", "none")
    return SmtpSender(server.host, server.port, **options)


def test_plain_delivery_uses_header_envelope_and_hides_bcc(smtp_server):
    sender_for(smtp_server).send(cancellation_ack())

    [mail] = smtp_server.wait_for(1)
    assert mail.mail_from == "desk@canceldesk.example"
    assert mail.rcpt_tos == ("ada@customer.example", "audit@canceldesk.example")
    assert mail.message["Subject"] == "Your cancellation request [CX-1042]"
    assert mail.message["Bcc"] is None


def test_explicit_envelope_wins_over_headers(smtp_server):
    sender_for(smtp_server).send(cancellation_ack(), from_addr="bounces@canceldesk.example",
                                 to_addrs=["ops@canceldesk.example"])

    [mail] = smtp_server.wait_for(1)
    assert (mail.mail_from, mail.rcpt_tos) == ("bounces@canceldesk.example",
                                               ("ops@canceldesk.example",))


@pytest.mark.parametrize("smtp_server", [{"tls": "starttls", "users": USERS}], indirect=True)
def test_starttls_with_auth(smtp_server):
    calls = []

    def password() -> str:
        calls.append(1)
        return USERS["desk"]

    sender = sender_for(smtp_server, security="starttls", username="desk",
                        password_provider=password, ssl_context=smtp_server.client_context())
    sender.send(cancellation_ack())

    [mail] = smtp_server.wait_for(1)
    assert mail.login == "desk" and mail.tls
    assert calls == [1]
    assert "s3cret" not in repr(sender)


@pytest.mark.parametrize("smtp_server", [{"tls": "starttls"}], indirect=True)
def test_starttls_refuses_an_untrusted_certificate_without_retrying(smtp_server):
    sender = sender_for(smtp_server, security="starttls")  # default context: system CAs

    with pytest.raises(RelaySetupError, match="setup"):
        sender.send(cancellation_ack())
    assert smtp_server.messages == []


@pytest.mark.parametrize("smtp_server", [{"users": USERS}], indirect=True)
def test_auth_without_tls_is_refused_rather_than_sent_in_clear(smtp_server):
    sender = sender_for(smtp_server, username="desk", password_provider=lambda: "pw")

    with pytest.raises(RelaySetupError, match="AUTH"):
        sender.send(cancellation_ack())


def test_starttls_not_offered_is_not_a_silent_downgrade(smtp_server):
    with pytest.raises(RelaySetupError):
        sender_for(smtp_server, security="starttls").send(cancellation_ack())
    assert smtp_server.messages == []


@pytest.mark.parametrize("smtp_server", [{"tls": "implicit", "users": USERS}], indirect=True)
def test_implicit_tls_with_auth(smtp_server):
    sender = sender_for(smtp_server, security="tls", username="desk",
                        password_provider=lambda: USERS["desk"],
                        ssl_context=smtp_server.client_context())
    sender.send(cancellation_ack())

    [mail] = smtp_server.wait_for(1)
    assert mail.login == "desk"


@pytest.mark.parametrize("smtp_server", [{"tls": "starttls", "users": USERS}], indirect=True)
def test_a_wrong_password_is_left_for_later_not_final_and_not_hammered(smtp_server):
    sender = sender_for(smtp_server, security="starttls", username="desk",
                        password_provider=lambda: "wrong",
                        ssl_context=smtp_server.client_context())

    with pytest.raises(RelaySetupError) as raised:  # one login: a relay may lock the account
        sender.send(cancellation_ack())
    assert raised.value.code == 535
    assert not isinstance(raised.value, PermanentSendError)
    assert "wrong" not in str(raised.value)


def test_530_authentication_required_is_a_setup_problem_too(smtp_server):
    smtp_server.fail_next(1, code=530)  # a relay that wants a login we were not told to give

    with pytest.raises(RelaySetupError) as raised:
        sender_for(smtp_server).send(cancellation_ack())
    assert raised.value.code == 530


def test_a_451_is_transient_and_left_to_the_outbox(smtp_server):
    """One attempt per send: the outbox's schedule decides when to try again."""
    smtp_server.fail_next(1, code=451)
    sender = sender_for(smtp_server)

    with pytest.raises(TransientSendError) as raised:
        sender.send(cancellation_ack())
    assert raised.value.code == 451 and not isinstance(raised.value, PermanentSendError)
    assert smtp_server.messages == []
    sender.send(cancellation_ack())
    [mail] = smtp_server.wait_for(1)
    assert mail.message["Message-ID"] == "<ack-1@canceldesk.example>"


def test_an_unknown_recipient_is_final_without_retry(smtp_server):
    smtp_server.refuse_recipient("ada@customer.example")

    with pytest.raises(PermanentSendError) as raised:
        sender_for(smtp_server).send(cancellation_ack(), to_addrs=["ada@customer.example"])
    assert "550 5.1.1 User unknown" in str(raised.value)
    assert smtp_server.messages == []


def test_a_550_about_policy_not_the_recipient_is_transient(smtp_server):
    smtp_server.fail_next(1, code=550)  # "550 5.7.1 Rejected by policy"

    with pytest.raises(TransientSendError):
        sender_for(smtp_server).send(cancellation_ack())
    assert smtp_server.messages == []


def test_connection_refused_is_transient():
    sender = SmtpSender("127.0.0.1", free_port(), security="none", timeout=5)

    with pytest.raises(RelayUnavailable, match="unreachable"):
        sender.send(cancellation_ack())


# -- sessions: many messages over one connection -----------------------------------------


def acks(count: int) -> list[EmailMessage]:
    return [cancellation_ack(f"<ack-{n}@canceldesk.example>") for n in range(1, count + 1)]


def received_ids(server) -> list[str]:
    return [mail.message["Message-ID"] for mail in server.messages]


def test_a_session_sends_many_messages_over_one_connection(smtp_server):
    with sender_for(smtp_server).session() as session:
        for msg in acks(5):
            session.send(msg)

    assert received_ids(smtp_server) == [msg["Message-ID"] for msg in acks(5)]
    assert smtp_server.greetings == 1


def test_a_session_does_not_connect_before_the_first_message(smtp_server):
    with sender_for(smtp_server).session():
        pass

    assert smtp_server.greetings == 0


def test_a_550_in_a_session_fails_that_message_and_the_next_still_goes(smtp_server):
    smtp_server.refuse_recipient("gone@customer.example")

    with sender_for(smtp_server).session() as session:
        first, refused, third = acks(3)
        session.send(first)
        with pytest.raises(PermanentSendError):
            session.send(refused, to_addrs=["gone@customer.example"])
        session.send(third)

    assert received_ids(smtp_server) == [first["Message-ID"], third["Message-ID"]]
    assert smtp_server.greetings == 1


def test_a_dropped_session_reconnects_once_then_gives_up(smtp_server):
    # 421 closes the channel: ack-2 and ack-4 are cut off, ack-5 finds the reconnect spent.
    smtp_server.fail_next(1, code=421, after=1)
    smtp_server.fail_next(1, code=421, after=1)
    outcomes = []

    with sender_for(smtp_server).session() as session:
        for msg in acks(5):
            outcomes.append(_outcome(session, msg))

    assert outcomes == ["sent", "transient", "sent", "transient", "transient"]
    assert received_ids(smtp_server) == ["<ack-1@canceldesk.example>", "<ack-3@canceldesk.example>"]
    assert smtp_server.greetings == 2


def _outcome(session, msg) -> str:
    try:
        session.send(msg)
    except TransientSendError:
        return "transient"
    return "sent"


def test_a_setup_problem_fails_every_message_of_the_session_after_one_try(smtp_server):
    sender = sender_for(smtp_server, security="starttls")  # this server offers no STARTTLS

    with sender.session() as session:
        for msg in acks(3):
            with pytest.raises(RelaySetupError, match="setup"):
                session.send(msg)

    assert smtp_server.greetings == 1
    assert smtp_server.messages == []


def test_a_relay_that_is_down_is_tried_twice_per_session():
    sender = SmtpSender("127.0.0.1", free_port(), security="none", timeout=5)

    with sender.session() as session:
        errors = [pytest.raises(TransientSendError, session.send, msg).value for msg in acks(4)]

    assert [("unreachable" in str(e)) for e in errors] == [True, True, False, False]


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_next_session_takes_the_connection_the_last_one_left_open(smtp_server):
    sender = sender_for(smtp_server)
    first, second = acks(2)

    with sender.session() as session:
        session.send(first)
    with sender.session() as session:
        session.send(second)

    assert received_ids(smtp_server) == [first["Message-ID"], second["Message-ID"]]
    assert smtp_server.greetings == 1


def test_without_keep_open_every_session_has_its_own_connection(smtp_server):
    sender = sender_for(smtp_server, keep_open=0)

    for msg in acks(2):
        with sender.session() as session:
            session.send(msg)

    assert len(smtp_server.messages) == 2
    assert smtp_server.greetings == 2


def test_a_connection_left_open_too_long_is_closed_and_not_used_again(smtp_server):
    clock = Clock()
    sender = sender_for(smtp_server, keep_open=60, monotonic=clock)
    first, second = acks(2)
    with sender.session() as session:
        session.send(first)

    clock.now += 59
    sender.close_idle()
    assert sender._parking.slot is not None, "still within keep_open: kept"
    clock.now += 1
    sender.close_idle()
    assert sender._parking.slot is None
    with sender.session() as session:
        session.send(second)

    assert len(smtp_server.messages) == 2
    assert smtp_server.greetings == 2


@pytest.mark.parametrize("smtp_server", [{"idle_timeout": 0.2}], indirect=True)
def test_a_connection_the_relay_dropped_meanwhile_is_replaced_and_no_mail_fails(smtp_server):
    sender = sender_for(smtp_server)
    first, second = acks(2)
    with sender.session() as session:
        session.send(first)
    # The relay's idle timeout hangs up on the connection left open: wait until it has.
    parked = sender._parking.slot[0].sock
    assert select.select([parked], [], [], 30)[0], "the server never hung up"

    with sender.session() as session:
        session.send(second)  # raises if the dead connection were used

    assert received_ids(smtp_server) == [first["Message-ID"], second["Message-ID"]]
    assert smtp_server.greetings == 2


def test_close_quits_the_connection_left_open(smtp_server):
    sender = sender_for(smtp_server)
    first, second = acks(2)
    with sender.session() as session:
        session.send(first)

    sender.close()
    with sender.session() as session:
        session.send(second)

    assert smtp_server.greetings == 2


def test_a_message_without_sender_is_refused_before_connecting():
    msg = cancellation_ack()
    del msg["From"]

    with pytest.raises(ValueError, match="no From"):
        SmtpSender("127.0.0.1", free_port(), security="none").send(msg)

"""The outbox Dispatcher sending a pass of due mail over one SMTP session, to a real aiosmtpd.

Each entry keeps its own bookkeeping (sent, failed, or retried after the usual doubling
delay) whatever happens to the connection it shared with its neighbours.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select

from daemon import outbox
from daemon.db import transaction
from daemon.models import OutboxEntry, OutboxStatus
from integrations.smtp import SmtpSender

RETRY_AFTER = timedelta(seconds=60)  # [outbox] retry_after_seconds, the default


def ack(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Agency cancellation desk <cancel@agency.example>"
    msg["To"] = f"customer{n}@freemail.example"
    msg["Subject"] = f"We received your cancellation request [{n}]"
    msg["Message-ID"] = f"<ack-{n}@agency.example>"
    msg.set_content("We received your request.\n")
    return msg


def enqueue_acks(desk, count: int) -> None:
    with transaction(desk.factory) as session:
        for n in range(1, count + 1):
            outbox.enqueue_mail(session, ack(n), dedupe_key=f"ack-{n}", now=desk.clock.now())


def over_smtp(desk, server) -> None:
    # A sender that would sleep fails the test: within a pass nothing waits.
    sender = SmtpSender(server.host, server.port, security="none", sleep=_no_sleep)
    desk.dispatcher.register(outbox.MAIL, outbox.MailHandler(sender))


def _no_sleep(seconds: float) -> None:
    raise AssertionError("a pass of the outbox must not sleep")


def entries(desk) -> dict[int, OutboxEntry]:
    """The entries by their ack number."""
    with transaction(desk.factory) as session:
        rows = session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)).all()
    return {int(e.message_id.split("-")[1].split("@")[0]): e for e in rows}


def statuses(desk) -> dict[int, OutboxStatus]:
    return {n: e.status for n, e in entries(desk).items()}


def received_counts(server) -> Counter[str]:
    return Counter(mail.message["Message-ID"] for mail in server.messages)


def test_a_pass_delivers_every_due_mail_over_one_connection(desk, smtp_server):
    over_smtp(desk, smtp_server)
    enqueue_acks(desk, 5)

    report = desk.dispatcher.deliver_due()

    assert (report.sent, report.retried, report.failed) == (5, 0, 0)
    assert smtp_server.greetings == 1
    assert [m.message["Message-ID"] for m in smtp_server.messages] == [
        f"<ack-{n}@agency.example>" for n in range(1, 6)]
    assert {e.attempts for e in entries(desk).values()} == {1}


def test_a_550_fails_only_its_own_entry(desk, smtp_server):
    over_smtp(desk, smtp_server)
    enqueue_acks(desk, 4)
    smtp_server.fail_next(1, code=550, after=1)

    report = desk.dispatcher.deliver_due()

    assert (report.sent, report.retried, report.failed) == (3, 0, 1)
    assert statuses(desk) == {1: OutboxStatus.SENT, 2: OutboxStatus.FAILED,
                              3: OutboxStatus.SENT, 4: OutboxStatus.SENT}
    assert "550" in entries(desk)[2].last_error
    assert smtp_server.greetings == 1


def test_a_dropped_connection_retries_the_cut_off_entry_and_reconnects_for_the_rest(desk, smtp_server):
    over_smtp(desk, smtp_server)
    enqueue_acks(desk, 5)
    smtp_server.fail_next(1, code=421, after=2)  # 421: the relay closes the channel

    report = desk.dispatcher.deliver_due()

    assert (report.sent, report.retried, report.failed) == (4, 1, 0)
    cut_off = entries(desk)[3]
    assert (cut_off.status, cut_off.attempts) == (OutboxStatus.PENDING, 1)
    assert cut_off.not_before == desk.clock.now() + RETRY_AFTER
    assert smtp_server.greetings == 2

    desk.clock.advance(RETRY_AFTER)
    assert desk.dispatcher.deliver_due().sent == 1
    assert received_counts(smtp_server) == {f"<ack-{n}@agency.example>": 1 for n in range(1, 6)}


def test_a_second_drop_leaves_the_rest_for_the_next_pass_with_the_usual_delay(desk, smtp_server):
    over_smtp(desk, smtp_server)
    enqueue_acks(desk, 7)
    smtp_server.fail_next(1, code=421, after=2)
    smtp_server.fail_next(1, code=421, after=1)

    report = desk.dispatcher.deliver_due()

    assert (report.sent, report.retried, report.failed) == (3, 4, 0)
    assert sorted(received_counts(smtp_server)) == [f"<ack-{n}@agency.example>" for n in (1, 2, 4)]
    assert smtp_server.greetings == 2  # the reconnect is spent: 6 and 7 were not tried
    left = entries(desk)
    assert all(left[n].status is OutboxStatus.PENDING and left[n].attempts == 1 for n in (3, 5, 6, 7))
    assert {left[n].not_before for n in (6, 7)} == {desk.clock.now() + RETRY_AFTER}

    desk.clock.advance(RETRY_AFTER)
    assert desk.dispatcher.deliver_due().sent == 4
    assert received_counts(smtp_server) == {f"<ack-{n}@agency.example>": 1 for n in range(1, 8)}
    assert smtp_server.greetings == 3


def test_the_file_sender_delivers_a_pass_as_before(desk):
    enqueue_acks(desk, 3)

    report = desk.dispatcher.deliver_due()

    assert report.sent == 3
    assert len(list(desk.config.path("outbox").glob("*.eml"))) == 3


def test_a_handler_without_a_session_is_called_once_per_entry(desk):
    seen = []
    desk.dispatcher.register(outbox.MAIL, lambda entry: seen.append(entry.message_id))
    enqueue_acks(desk, 3)

    assert desk.dispatcher.deliver_due().sent == 3
    assert seen == [f"<ack-{n}@agency.example>" for n in range(1, 4)]

"""The outbox Dispatcher sending a pass of due mail over one SMTP session, to a real aiosmtpd.

Each entry keeps its own bookkeeping (sent, failed, or retried after the usual doubling
delay) whatever happens to the connection it shared with its neighbours.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from daemon.mail import outbox
from daemon.db import transaction
from daemon.models import OutboxEntry, OutboxStatus
from integrations.smtp import SmtpSender
from tests.support import REPO, config_text, run_cli

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
    sender = SmtpSender(server.host, server.port, security="none")
    desk.dispatcher.register(outbox.MAIL, outbox.MailHandler(sender))


def entries(desk) -> dict[int, OutboxEntry]:
    """The entries by their ack number."""
    with transaction(desk.factory) as session:
        rows = session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)).all()
    return {int(e.message_id.split("-")[1].split("@")[0]): e for e in rows if e.message_id.startswith("<ack-")}


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


def test_a_550_unknown_user_fails_only_its_own_entry_at_once(desk, smtp_server):
    over_smtp(desk, smtp_server)
    enqueue_acks(desk, 4)
    smtp_server.refuse_recipient("customer2@freemail.example")

    report = desk.dispatcher.deliver_due()

    assert (report.sent, report.retried, report.failed) == (3, 0, 1)
    assert statuses(desk) == {1: OutboxStatus.SENT, 2: OutboxStatus.FAILED,
                              3: OutboxStatus.SENT, 4: OutboxStatus.SENT}
    assert "550 5.1.1 User unknown" in entries(desk)[2].last_error
    assert entries(desk)[2].attempts == 1
    assert smtp_server.greetings == 1


def test_a_451_is_retried_with_growing_delays_past_max_attempts_then_sent(desk, smtp_server, caplog):
    over_smtp(desk, smtp_server)
    enqueue_acks(desk, 1)
    tries = desk.config.outbox.max_attempts + 2
    smtp_server.fail_next(tries, code=451)
    delays = []

    for attempt in range(1, tries + 1):
        before = desk.clock.now()
        assert desk.dispatcher.deliver_due().failed == 0
        later = entries(desk)[1]
        assert (later.status, later.attempts) == (OutboxStatus.PENDING, attempt)
        assert desk.dispatcher.deliver_due().sent == 0  # not before its time
        delays.append(later.not_before - before)
        desk.clock.advance(later.not_before - before)

    assert delays[:3] == [RETRY_AFTER, 2 * RETRY_AFTER, 4 * RETRY_AFTER]
    assert max(delays) == 64 * RETRY_AFTER
    assert "451" in entries(desk)[1].last_error
    assert sum("NOT SENT" in r.getMessage() for r in caplog.records if r.levelname == "ERROR") == tries
    assert desk.dispatcher.deliver_due().sent == 1
    assert received_counts(smtp_server) == {"<ack-1@agency.example>": 1}


USERS = {"desk": "s3cret-pass"}


@pytest.mark.parametrize("smtp_server", [{"tls": "starttls", "users": USERS}], indirect=True)
def test_a_refused_login_keeps_every_mail_and_says_so_loudly_until_it_is_fixed(desk, smtp_server, caplog):
    login_as(desk, smtp_server, "not-the-password")
    enqueue_acks(desk, 2)
    passes = desk.config.outbox.max_attempts + 2   # more passes than an entry's attempts

    for _ in range(passes):
        assert desk.dispatcher.deliver_due().failed == 0
        desk.clock.advance(RETRY_AFTER * 64)   # the longest delay between two attempts

    assert {(e.status, e.attempts) for e in entries(desk).values()} == {(OutboxStatus.PENDING, passes)}
    assert "535" in entries(desk)[1].last_error
    loud = [r for r in caplog.records if r.levelname == "ERROR" and "NOT SENT" in r.getMessage()]
    assert len(loud) == 2 * passes and "535" in loud[0].getMessage()
    assert smtp_server.greetings == 2 * passes   # one login per pass (STARTTLS greets twice), not one per mail

    login_as(desk, smtp_server, USERS["desk"])
    assert desk.dispatcher.deliver_due().sent == 2
    assert [m.login for m in smtp_server.messages] == ["desk", "desk"]


def login_as(desk, server, password: str) -> None:
    sender = SmtpSender(server.host, server.port, security="starttls", username="desk",
                        password_provider=lambda: password, ssl_context=server.client_context())
    desk.dispatcher.register(outbox.MAIL, outbox.MailHandler(sender))


def test_passes_share_one_relay_connection_until_it_has_waited_too_long(desk, smtp_server):
    waited = [0.0]
    sender = SmtpSender(smtp_server.host, smtp_server.port, security="none", keep_open=60,
                        monotonic=lambda: waited[0])
    desk.dispatcher.register(outbox.MAIL, outbox.MailHandler(sender))
    for n in (1, 2):
        enqueue_acks(desk, n)  # ack-1 again is the same entry: one new mail per pass
        assert desk.dispatcher.deliver_due().sent == 1
    assert smtp_server.greetings == 1, "the second pass used the first one's connection"

    waited[0] = 60
    assert desk.dispatcher.deliver_due().sent == 0
    assert sender._parking.slot is None, "a pass with nothing to send still lets the idle connection go"
    enqueue_acks(desk, 3)
    assert desk.dispatcher.deliver_due().sent == 1
    assert smtp_server.greetings == 2

    desk.dispatcher.close()  # at shutdown
    assert sender._parking.slot is None


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


def test_a_file_pass_fsyncs_the_folder_once_and_records_sent_only_after(desk, monkeypatch):
    import integrations.mailfiles as mailfiles

    folder_syncs = []
    real = mailfiles.fsync_folder

    def fsync_folder(folder):
        # What the database says at the moment the folder is made durable: nothing sent yet.
        folder_syncs.append(sorted(set(statuses(desk).values())))
        real(folder)

    monkeypatch.setattr(mailfiles, "fsync_folder", fsync_folder)
    enqueue_acks(desk, 4)

    assert desk.dispatcher.deliver_due().sent == 4
    assert folder_syncs == [[OutboxStatus.SENDING]]
    assert set(statuses(desk).values()) == {OutboxStatus.SENT}


def cut_off_after_publishing(desk, monkeypatch, count: int) -> None:
    """A file pass whose files are renamed in, then the power goes before the folder fsync
    and before anything is recorded as sent: the entries stay `sending`."""
    import integrations.mailfiles as mailfiles

    def crash(folder):
        raise OSError("power cut")

    monkeypatch.setattr(mailfiles, "fsync_folder", crash)
    enqueue_acks(desk, count)
    with pytest.raises(OSError):
        desk.dispatcher.deliver_due()
    monkeypatch.undo()
    assert len(list(desk.config.path("outbox").glob("*.eml"))) == count
    assert set(statuses(desk).values()) == {OutboxStatus.SENDING}  # not recorded as sent


def test_a_file_pass_cut_off_before_the_folder_fsync_writes_nothing_twice(desk, monkeypatch):
    cut_off_after_publishing(desk, monkeypatch, 3)

    desk.clock.advance(outbox.SENDING_LEASE + timedelta(seconds=1))
    assert desk.dispatcher.deliver_due().sent == 3
    assert len(list(desk.config.path("outbox").glob("*.eml"))) == 3
    assert set(statuses(desk).values()) == {OutboxStatus.SENT}


def folder_searches(monkeypatch) -> list[str]:
    """The file names the file outbox reads while looking for a message's file."""
    import integrations.mailfiles as mailfiles

    read, real = [], mailfiles._key_of
    monkeypatch.setattr(mailfiles, "_key_of", lambda path: read.append(path.name) or real(path))
    return read


def test_a_first_attempt_writes_its_file_without_searching_the_folder(desk, monkeypatch):
    """Nothing can have written a mail never tried before: the folder, however full, is not
    read for it. A mail tried before is looked for, and found."""
    cut_off_after_publishing(desk, monkeypatch, 2)
    desk.clock.advance(outbox.SENDING_LEASE + timedelta(seconds=1))
    read = folder_searches(monkeypatch)

    assert desk.dispatcher.deliver_due().sent == 2  # taken again: both found, neither written again
    assert len(read) == 2 and len(list(desk.config.path("outbox").glob("*.eml"))) == 2

    read.clear()
    with transaction(desk.factory) as session:
        for n in (3, 4):
            outbox.enqueue_mail(session, ack(n), dedupe_key=f"ack-{n}", now=desk.clock.now())
    assert desk.dispatcher.deliver_due().sent == 2
    assert read == []
    assert len(list(desk.config.path("outbox").glob("*.eml"))) == 4


def test_a_mail_put_back_in_line_by_hand_while_being_sent_is_not_written_twice(desk, monkeypatch):
    """`canceldesk outbox retry` gives an entry a fresh count of attempts; one caught in the
    middle of a pass that did write its file must still be looked for, not written again."""
    from daemon.mail.outbox_admin import requeue

    cut_off_after_publishing(desk, monkeypatch, 3)
    with transaction(desk.factory) as session:
        queued, problems = requeue(session, ids=tuple(e.id for e in entries(desk).values()), now=desk.clock.now())
    assert (len(queued), problems) == (3, [])
    assert {e.attempts for e in entries(desk).values()} == {0}

    assert desk.dispatcher.deliver_due().sent == 3
    assert len(list(desk.config.path("outbox").glob("*.eml"))) == 3
    assert set(statuses(desk).values()) == {OutboxStatus.SENT}


def test_answers_to_a_waiting_sender_go_out_before_older_notices(desk):
    seen = []
    desk.dispatcher.register(outbox.MAIL, lambda entry: seen.append(entry.message_id))
    with transaction(desk.factory) as session:
        for n in range(1, 5):  # two requests: each an acknowledgment, then a notice to the team
            outbox.enqueue_mail(session, ack(n), dedupe_key=f"ack-{n}", now=desk.clock.now(),
                                answers_recipient=n % 2 == 1)

    assert desk.dispatcher.deliver_due().sent == 4
    assert seen == [f"<ack-{n}@agency.example>" for n in (1, 3, 2, 4)]


def test_a_pass_of_answers_only_leaves_the_notices_for_later(desk):
    seen = []
    desk.dispatcher.register(outbox.MAIL, lambda entry: seen.append(entry.message_id))
    with transaction(desk.factory) as session:
        for n in range(1, 5):
            outbox.enqueue_mail(session, ack(n), dedupe_key=f"ack-{n}", now=desk.clock.now(),
                                answers_recipient=n % 2 == 1)

    assert desk.dispatcher.deliver_due(answers_only=True).sent == 2
    assert seen == ["<ack-1@agency.example>", "<ack-3@agency.example>"]
    assert desk.dispatcher.deliver_due().sent == 2
    assert seen[2:] == ["<ack-2@agency.example>", "<ack-4@agency.example>"]


def test_a_handler_without_a_session_is_called_once_per_entry(desk):
    seen = []
    desk.dispatcher.register(outbox.MAIL, lambda entry: seen.append(entry.message_id))
    enqueue_acks(desk, 3)

    assert desk.dispatcher.deliver_due().sent == 3
    assert seen == [f"<ack-{n}@agency.example>" for n in range(1, 4)]


# -- `canceldesk outbox list` and `canceldesk outbox retry`, through the command line ----------


def test_an_operator_lists_the_outbox_and_sends_a_failed_mail_again(desk, smtp_server, tmp_path, capsys,
                                                                    database_url):
    config = tmp_path / "config.toml"
    config.write_text(config_text(database_url, smtp_url=f"smtp://127.0.0.1:{smtp_server.port}?starttls=no"))
    over_smtp(desk, smtp_server)
    enqueue_acks(desk, 3)
    smtp_server.refuse_recipient("customer2@freemail.example")
    smtp_server.fail_next(1, code=451, after=1)   # the third ack hears "later"
    desk.dispatcher.deliver_due()

    assert run_cli("--config", str(config), "outbox", "list") == 0
    header, _, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "Status", "Kind", "Recipient", "Case", "Tries", "Next", "try", "(UTC)", "Last",
                              "error"]
    assert [row.split()[:6] for row in rows] == [
        ["1", "sent", "mail", "customer1@freemail.example", "-", "1"],
        ["2", "failed", "mail", "customer2@freemail.example", "-", "1"],
        ["3", "pending", "mail", "customer3@freemail.example", "-", "1"]]
    assert "550 5.1.1 User unknown" in rows[1] and "451" in rows[2]

    assert run_cli("--config", str(config), "outbox", "list", "--failed", "--json") == 0
    [failed] = json.loads(capsys.readouterr().out)
    assert (failed["id"], failed["recipient"], failed["attempts"]) == (2, "customer2@freemail.example", 1)
    assert "550 5.1.1 User unknown" in failed["last_error"] and failed["next_try"] is None

    assert run_cli("--config", str(config), "outbox", "retry", "1") == 1
    assert "#1: already sent to customer1@freemail.example; not sent twice" in capsys.readouterr().out

    smtp_server.welcome_recipient("customer2@freemail.example")
    assert run_cli("--config", str(config), "outbox", "retry", "--failed") == 0
    assert capsys.readouterr().out.startswith("1 entries queued again (#2)")
    done = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "run", "--once"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr

    acks = {key: count for key, count in received_counts(smtp_server).items() if key.startswith("<ack-")}
    assert acks == {f"<ack-{n}@agency.example>": 1 for n in (1, 2, 3)}   # beside whatever else `run` sends
    assert set(statuses(desk).values()) == {OutboxStatus.SENT}


def test_a_long_pass_renews_the_lease_of_the_entries_it_still_holds(desk):
    """Claimed together, sent one after the other: however long the first ones take, each
    later entry starts with most of a lease left, so no other process takes it meanwhile."""
    sent, leases = [], []

    def slow(entry):
        sent.append(entry.message_id)
        leases.append(entries(desk)[len(sent)].not_before - desk.clock.now())
        desk.clock.advance(outbox.SENDING_LEASE / 2)  # a slow relay

    desk.dispatcher.register(outbox.MAIL, slow)
    enqueue_acks(desk, 4)

    assert desk.dispatcher.deliver_due().sent == 4
    assert len(sent) == 4 and all(left > outbox.SENDING_LEASE * 2 / 3 for left in leases)
    assert {e.attempts for e in entries(desk).values()} == {1}


def test_a_stop_in_the_middle_of_a_pass_leaves_the_rest_due_and_untried(desk):
    sent = []

    def then_stop(entry):
        sent.append(entry.message_id)
        desk.stopping.set()

    desk.dispatcher = outbox.Dispatcher(desk.factory, desk.clock, max_attempts=5, retry_after=RETRY_AFTER,
                                        stop=desk.stopping)
    desk.dispatcher.register(outbox.MAIL, then_stop)
    enqueue_acks(desk, 3)

    assert desk.dispatcher.deliver_due().sent == 1
    rest = {n: (e.status, e.attempts, e.not_before <= desk.clock.now()) for n, e in entries(desk).items() if n > 1}
    assert rest == {2: (OutboxStatus.PENDING, 0, True), 3: (OutboxStatus.PENDING, 0, True)}


def test_a_pass_larger_than_a_claim_batch_sends_every_entry_once_answers_first(desk):
    seen = []
    desk.dispatcher.register(outbox.MAIL, lambda entry: seen.append(entry.message_id))
    count = 2 * outbox.CLAIM_BATCH + 5
    with transaction(desk.factory) as session:
        for n in range(1, count + 1):
            outbox.enqueue_mail(session, ack(n), dedupe_key=f"ack-{n}", now=desk.clock.now(),
                                answers_recipient=n % 3 == 0)

    assert desk.dispatcher.deliver_due(limit=outbox.CLAIM_BATCH + 1).sent == outbox.CLAIM_BATCH + 1
    assert desk.dispatcher.deliver_due().sent == count - outbox.CLAIM_BATCH - 1
    answers, others = [n for n in range(1, count + 1) if n % 3 == 0], [n for n in range(1, count + 1) if n % 3]
    assert seen == [f"<ack-{n}@agency.example>" for n in answers + others]
    assert {(e.status, e.attempts) for e in entries(desk).values()} == {(OutboxStatus.SENT, 1)}


def test_an_entry_due_again_at_once_waits_for_the_next_pass(desk):
    """Retried with no delay, an entry is due again while its pass goes on: it is tried once
    per pass, and the pass ends."""
    tries = Counter()

    def later(entry):
        tries[entry.message_id] += 1
        raise outbox.TransientEffectError("try again")

    desk.dispatcher = outbox.Dispatcher(desk.factory, desk.clock, max_attempts=10, retry_after=timedelta(0))
    desk.dispatcher.register(outbox.MAIL, later)
    count = outbox.CLAIM_BATCH + 5
    enqueue_acks(desk, count)

    assert desk.dispatcher.deliver_due().retried == count
    assert set(tries.values()) == {1} and len(tries) == count
    assert desk.dispatcher.deliver_due().retried == count
    assert set(tries.values()) == {2}


def test_a_stop_releases_the_entries_of_other_kinds_claimed_with_them(desk):
    hooks = []

    def then_stop(entry):
        desk.stopping.set()

    desk.dispatcher = outbox.Dispatcher(desk.factory, desk.clock, max_attempts=5, retry_after=RETRY_AFTER,
                                        stop=desk.stopping)
    desk.dispatcher.register(outbox.MAIL, then_stop)
    desk.dispatcher.register("hook", hooks.append)
    enqueue_acks(desk, 1)
    with transaction(desk.factory) as session:
        outbox.enqueue(session, kind="hook", dedupe_key="hook-1", payload=b"{}", now=desk.clock.now())

    assert desk.dispatcher.deliver_due().sent == 1
    assert hooks == []
    with transaction(desk.factory) as session:
        hook = session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "hook")).one()
    assert (hook.status, hook.attempts, hook.not_before <= desk.clock.now()) == (OutboxStatus.PENDING, 0, True)

"""Poison mail never blocks intake: bytes the database refuses are escaped, a mail that
cannot be stored waits its own turn and is set aside, and the next mail goes on."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from daemon.intake import store
from daemon.db import transaction
from daemon.app import make_source
from daemon.models import Case, InboundMessage, MessageStatus
from daemon.intake.watcher import Backoff, Watcher
from integrations.maildir import deliver
from tests.pipeline.mailkit import run
from tests.support import mail


def _stored(desk) -> list[InboundMessage]:
    with transaction(desk.factory) as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def _with_header(raw: bytes, name: bytes, value: bytes) -> bytes:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(name.lower() + b":")]
    return b"\r\n".join([*lines, name + b": " + value]) + b"\r\n\r\n" + body


def test_a_nul_in_the_message_id_is_kept_escaped_and_the_next_mail_goes_on(desk):
    poison = _with_header(mail(body="Please cancel our SEO service.\n"), b"Message-ID", b"<abc\x00def@acme.example>")
    normal = mail(sender="Bob Stone <bob@acme.example>", body="Please cancel PPC as well.\n")
    run(desk, poison, normal)
    rows = _stored(desk)
    assert len(rows) == 2
    assert {row.status for row in rows} == {MessageStatus.PROCESSED}
    assert any("\\x00" in row.message_key for row in rows)
    assert poison in {bytes(row.raw) for row in rows}  # the bytes themselves, untouched


def test_a_nul_in_subject_and_from_is_processed(desk):
    raw = _with_header(mail(body="Please cancel our SEO service.\n"), b"Subject", b"Cancel\x00 please")
    raw = _with_header(raw, b"From", b"Jane\x00 Doe <jane@acme.example>")
    run(desk, raw)
    (row,) = _stored(desk)
    assert row.status is MessageStatus.PROCESSED, row.error
    with transaction(desk.factory) as session:
        assert session.scalars(select(Case)).all()


def test_a_mail_that_cannot_be_stored_is_set_aside_and_intake_goes_on(desk, monkeypatch):
    real_store = store.store

    def refusing(session, *, raw, **kwargs):
        if b"POISON" in raw:
            raise ValueError("the database refused this mail")
        return real_store(session, raw=raw, **kwargs)

    monkeypatch.setattr(store, "store", refusing)
    poison = mail(subject="POISON", body="Please cancel our SEO service.\n")
    run(desk, poison, mail(sender="Bob Stone <bob@acme.example>", body="Please cancel PPC.\n"))
    assert [row.status for row in _stored(desk)] == [MessageStatus.PROCESSED]

    watcher = Watcher(desk, make_source(desk.config))
    for _ in range(desk.config.intake.max_attempts + 1):
        desk.clock.advance(timedelta(hours=1))  # past the mail's own backoff
        watcher.run_once()
    rows = _stored(desk)
    assert [row.status for row in rows] == [MessageStatus.PROCESSED, MessageStatus.SET_ASIDE]
    assert "the database refused this mail" in rows[1].error and bytes(rows[1].raw) == poison


def test_the_connection_backoff_is_not_reset_by_a_connect_that_works(desk):
    class BrokenSweeps:
        key = "broken"

        def connect(self):
            return 1

        def new_uids(self, after):
            raise RuntimeError("every sweep fails")

        def close(self):
            pass

    watcher = Watcher(desk, BrokenSweeps(), backoff=Backoff())
    for _ in range(4):
        try:
            watcher._session()
        except RuntimeError:
            watcher.backoff.next_delay()
    assert watcher.backoff.failures == 4

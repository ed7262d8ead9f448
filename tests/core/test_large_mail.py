"""A 25 MB mail goes through: kept exactly in slices, stored thinned, read as the mail itself.

On both databases: the exact bytes come back byte for byte (`store.original_bytes`), the
parsers read the thinned copy as they read the mail, the request becomes the same case,
and a staff mail's DKIM signature, which covers its attachment, is checked on the original.
"""
from __future__ import annotations

import base64
import random
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from daemon.commands import authz
from daemon.db import transaction
from daemon.intake import pipeline, store
from daemon.models import Case, InboundMessage, InboundOriginal, MessageStatus
from integrations.mailsource import SLICE_BYTES
from parsers.message import parse_message
from tests.commands.helpers import command_desk, open_case, results_for, staff_mail, text
from tests.pipeline.mailkit import run
from tests.support import START


def big_mail(megabytes: float = 25, *, body: str = "Please cancel our SEO service.\n", message_id: str | None = "",
             sender: str = "Jane Doe <jane@acme.example>") -> bytes:
    """A request with a signed form attached, `megabytes` once encoded; no Message-ID when None."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "cancel@agency.example", "Cancelling our services"
    msg["Date"] = format_datetime(START)
    if message_id is not None:
        msg["Message-ID"] = message_id or make_msgid(domain="client.example")
    msg.set_content(body)
    form = random.Random(megabytes).randbytes(int(megabytes * 1024 * 1024 * 3 / 4))
    msg.add_attachment(form, maintype="application", subtype="pdf", filename="signed-form.pdf")
    return msg.as_bytes(policy=policy.SMTP)


class Pieces:
    """A mail handed over in slices of an odd size, as a source other than ours might."""

    def __init__(self, raw: bytes, size: int) -> None:
        self.raw, self.size, self.step = raw, len(raw), size

    def __iter__(self):
        for start in range(0, len(self.raw), self.step):
            yield self.raw[start:start + self.step]


def _store(desk, raw, uid: int):
    with transaction(desk.factory) as session:
        return store.store(session, mailbox="m", uidvalidity=1, uid=uid, raw=raw, now=desk.clock.now())


def test_the_exact_bytes_come_back_and_the_stored_copy_is_thin(desk):
    raw = big_mail()
    stored = _store(desk, raw, 1)
    with transaction(desk.factory) as session:
        row = session.get(InboundMessage, stored.message_id)
        assert len(row.raw) < 300_000 and b"bytes of encoded attachment left out here]" in row.raw
        assert store.original_bytes(session, row) == raw
        sizes = session.scalars(select(func.length(InboundOriginal.data)).where(
            InboundOriginal.message_id == row.id).order_by(InboundOriginal.seq)).all()
        assert sum(sizes) == len(raw) and max(sizes) <= SLICE_BYTES
        assert parse_message(row.raw) == parse_message(raw)


def test_a_large_mail_is_one_row_however_it_comes(desk):
    """By Message-ID, or by the hash of the whole when it has none: the same key as bytes in one piece."""
    raw = big_mail(3)
    first = _store(desk, Pieces(raw, 300_000), 1)
    assert first.is_new and not _store(desk, raw, 2).is_new

    anonymous = big_mail(3, message_id=None, body="Please cancel PPC as well.\n")
    second = _store(desk, Pieces(anonymous, SLICE_BYTES), 3)
    assert second.is_new
    again = _store(desk, anonymous, 4)
    assert (again.message_id, again.is_new) == (second.message_id, False)
    with transaction(desk.factory) as session:
        row = session.get(InboundMessage, second.message_id)
        assert row.message_key == store.message_key(anonymous)
        assert store.original_bytes(session, row) == anonymous
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 2


def test_a_mail_with_nothing_to_cut_is_kept_as_it_is(desk):
    raw = big_mail(0.01) + b"\r\n" + b"a line of plain text that is not base64 at all\r\n" * 30_000
    stored = _store(desk, raw, 1)
    with transaction(desk.factory) as session:
        row = session.get(InboundMessage, stored.message_id)
        assert bytes(row.raw) == raw and store.original_bytes(session, row) == raw
        assert not session.scalars(select(InboundOriginal)).all()


def test_a_large_request_becomes_the_case_the_mail_itself_would(desk):
    raw = big_mail()
    whole = pipeline.dry_run(desk, raw)  # the mail as it came, in a transaction rolled back
    run(desk, raw)  # through the Maildir inbox and the watcher, in slices
    with transaction(desk.factory) as session:
        row = session.scalars(select(InboundMessage)).one()
        assert row.status is MessageStatus.PROCESSED, row.error
        assert (row.label, row.label_reason.split("; ")[0]) == (whole.label, whole.reason)
        case = session.scalars(select(Case)).one()
        assert f"{case.reference} ({case.state})" == whole.case
        assert store.original_bytes(session, row) == raw and len(row.raw) < 300_000


@pytest.fixture
def staff_desk(database_url, tmp_path):
    built = command_desk(tmp_path, database_url)
    yield built
    built.engine.dispose()


def test_a_staff_mails_signature_is_checked_on_the_original(staff_desk):
    desk = staff_desk
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    records = {b"sel._domainkey.agency.example.": b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)}
    desk.dns = lambda name, timeout=5: records.get(name)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    notice = open_case(desk)
    msg = message_from_bytes(staff_mail("#withdrawn changed her mind\n", answering=notice, auth=None),
                             policy=policy.default)
    msg.make_mixed()
    msg.add_attachment(random.Random(5).randbytes(2 * 1024 * 1024), maintype="application", subtype="pdf",
                       filename="minutes.pdf")
    unsigned = msg.as_bytes(policy=policy.SMTP)
    # The body hash covers the attachment: the thinned copy cannot pass, only the original.
    raw = dkim.sign(unsigned, b"sel", b"agency.example", private, include_headers=[b"from", b"subject", b"to"]) + unsigned

    assert "is now withdrawn" in text(results_for(desk, raw))
    with transaction(desk.factory) as session:
        row = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert store.original_bytes(session, row) == raw and len(row.raw) < len(raw) // 4
        assert not authz.authenticated(desk, row.raw, "amy@agency.example").ok

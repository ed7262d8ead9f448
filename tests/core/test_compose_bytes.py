"""Outgoing mail is byte for byte what the stdlib's own policies would write.

`daemon.mail.compose` uses a cheaper policy (headers kept as text until read, each parsed
once); these tests compose every template, and the hard cases of addressing and
encoding, with it and with `email.policy.default`, and compare the bytes, both as
queued in the outbox and as handed to the relay.
"""
from __future__ import annotations

import re
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from daemon.config import DeskConfig
from daemon.mail import compose as composing
from daemon.mail.compose import Thread, compose
from daemon.mail.rendering import RenderedMail, Renderer
from integrations.mime import type_and_boundary
from tests.core.test_templates import sample_context
from tests.support import START

DESK = DeskConfig(address="cancel@agency.example", name="Agency cancellation desk", company="Agency")
BOUNDARY = re.compile(rb"={15}\d+==")
LONG_CHAIN = tuple(f"<{n}.thread-{n * 7919}@mail.client.example>" for n in range(12))

RECIPIENTS = [
    ["Jane Doe <jane@acme.example>"],
    ['"Doe, Jane" <jane@acme.example>', "ops@acme.example"],
    ["Jürgen Müller <juergen.mueller@beispiel.example>"],
    ["山田太郎 <taro.yamada@example.jp>"],
    ["Zoë Ångström-Łukasiewicz, Procurement <zoe@very-long-company-name-for-folding.example>"],
    # A team mail: bare addresses, folded after a comma; one too long for a line of its own.
    ["tom@agency.example", "amy@agency.example", "sam@agency.example", "pia@agency.example",
     "sol.marquez-villanueva@agency.example", "cora@agency.example", "o'neil+cancellations@agency.example"],
    ["sam@agency.example", "a.very.long.local.part.for.the.freelance.designer.on.the.team@freelancers.example",
     "pia@agency.example"],
    ["sam@agency.example", "Jane Doe <jane@acme.example>", "ops@acme.example"],
]
SUBJECTS = [
    "We received your cancellation",
    "Wir haben Ihre Kündigung erhalten",
    "ご解約のご依頼を承りました",
    "Re: =?utf-8?q?K=C3=BCndigung?= of our SEO and PPC services, effective end of contract term 2027",
    "Two  spaces and a trailing space ",
    "A very long subject line that goes on and on about the cancellation of several services at once",
]


@pytest.fixture
def same_message_id(monkeypatch):
    monkeypatch.setattr(composing, "make_msgid", lambda **_: "<179608928672.9238.1157@agency.example>")


SUBJECT = re.compile(rb"^Subject:.*?\n(?! )", re.M | re.S)


def both_ways(monkeypatch, make) -> tuple[bytes, bytes]:
    """Our bytes and the stock policy's, the Subject aside: ours folds it between words
    with the first word on the first line, where the stock policy may break right after
    'Subject:' (a reader unfolding it sees a leading space). Both say the same subject."""
    composed = make()
    ours = bytes(composed)
    for name in ("Subject", "Message-ID", "To", "Cc"):
        if name in composed:
            assert composing.header_text(composed, name) == str(composed[name])  # read without parsing, the same
        else:
            assert composing.header_text(composed, name) == ""
    assert composing.to_bytes(composed) == ours  # the outbox's shortcut writes what the generator writes
    assert composing.to_bytes(composed, composing.SMTP_POLICY) == composed.as_bytes(policy=composing.SMTP_POLICY)
    monkeypatch.setattr(composing, "POLICY", policy.default)
    stock = bytes(make())
    monkeypatch.undo()
    assert _subject(ours) == _subject(stock).lstrip()   # the stock fold reads back with a leading space
    assert not re.search(rb"^Subject: ?\r?\n", ours, re.M), ours[:200]
    assert all(len(line) <= 78 for line in SUBJECT.search(ours).group(0).splitlines() if b" " in line.strip())
    return (BOUNDARY.sub(b"B", SUBJECT.sub(b"Subject: S\n", ours)),
            BOUNDARY.sub(b"B", SUBJECT.sub(b"Subject: S\n", stock)))


def _subject(raw: bytes) -> str:
    return BytesParser(policy=policy.default).parsebytes(raw)["Subject"]


def test_a_long_subject_is_folded_after_its_first_word_never_right_after_the_name(same_message_id):
    subject = ("Escalation: approval stalled for Acme Outdoor Ltd, Initech Plumbing and Globex Dental "
               "(three accounts)")
    raw = bytes(compose(DESK, RenderedMail(subject, "x\n", None), ["jane@acme.example"], now=START,
                        case_reference="CX-2026-0007"))
    head = raw.split(b"\n\n")[0].decode()
    folded = head.split("Subject:", 1)[1].split("\nDate:")[0]
    assert folded.startswith(" Escalation:") and "\n " in folded
    assert all(len(line) <= 78 for line in ("Subject:" + folded).splitlines())
    # Read back by a client that unfolds the raw header: no leading space.
    assert BytesParser(policy=policy.compat32).parsebytes(raw)["Subject"].replace("\n", "") == \
        f"{subject} [CX-2026-0007]"


def relay_bytes(raw: bytes, parse_policy) -> bytes:
    # What the SMTP client writes: the queued bytes parsed back and flattened with CRLF.
    return BytesParser(policy=parse_policy).parsebytes(raw).as_bytes()


@pytest.mark.parametrize("to", RECIPIENTS)
@pytest.mark.parametrize("subject", SUBJECTS)
def test_hard_headers_come_out_as_the_default_policy_writes_them(monkeypatch, same_message_id, to, subject):
    rendered = RenderedMail(subject, "Hallo,\n\nwir bestätigen Ihre Kündigung.\n", "<p>Hallo</p>")

    def make():
        return compose(DESK, rendered, to, now=START, case_reference="CX-2026-0042", case_token="k7Qp2",
                       answering=Thread("<orig-77@acme.example>", LONG_CHAIN), cc=["amy@agency.example"])

    ours, stock = both_ways(monkeypatch, make)
    assert ours == stock
    assert relay_bytes(ours, composing.SMTP_POLICY) == relay_bytes(stock, policy.SMTP)


@pytest.mark.parametrize("name", ["Agency cancellation desk", "Agency, Inc. (cancellations)", 'The "Desk"',
                                  "Agentur Müller Kündigungen", "Zoë's very long agency name for the cancellation desk "
                                  "of the company", ""])
def test_the_desk_as_sender_is_written_as_an_address_header_would_be(name):
    desk = DeskConfig(address="cancel@agency.example", name=name, company="Agency")
    ours = bytes(compose(desk, RenderedMail("Hi", "Text\n", ""), ["a@b.example"], now=START))
    stock = EmailMessage(policy=policy.default)
    stock["From"] = Address(name, addr_spec="cancel@agency.example")
    assert from_line(ours) == from_line(bytes(stock))


def from_line(raw: bytes) -> bytes:
    return re.search(rb"^From: .*?\n(?! )", raw, re.M | re.S).group(0)


def test_every_template_composes_as_the_default_policy_writes_it(monkeypatch, same_message_id):
    renderer = Renderer()
    names = renderer.names()
    assert names
    for name in names:
        rendered = renderer.render(name, sample_context(renderer, name, DESK))
        ours, stock = both_ways(monkeypatch, lambda: compose(
            DESK, rendered, ["Hank Scorpio <hank@globex.example>"], now=START, case_reference="CX-2026-0007"))
        assert ours == stock, name
        monkeypatch.setattr(composing, "make_msgid", lambda **_: "<179608928672.9238.1157@agency.example>")




def invitation(method: str) -> EmailMessage:
    from datetime import timedelta

    from integrations.invites import attach_invite, build_invite

    renderer = Renderer()
    rendered = renderer.render("call_invite", sample_context(renderer, "call_invite", DESK))
    msg = compose(DESK, rendered, ["Jürgen Müller <juergen@beispiel.example>"], now=START, case_reference="CX-2026-0007")
    ics = build_invite("call-k7Qp2@agency.example", 1, START, timedelta(minutes=30), "Kündigung, Gespräch",
                       "Ein kurzes Gespräch; mehr nicht.", ("Desk", "cancel@agency.example"),
                       [("Jürgen Müller", "juergen@beispiel.example"), ("", "sam@agency.example")],
                       method=method, stamp=START)
    attach_invite(msg, ics, method)
    return msg


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_an_invitation_composes_as_the_default_policy_writes_it(monkeypatch, same_message_id, method):
    # Its multipart Content-Types, too long for a line, are kept as text and folded here.
    ours, stock = both_ways(monkeypatch, lambda: invitation(method))
    assert ours == stock
    assert ours.count(b'Content-Type: multipart/') == 2


@pytest.mark.parametrize("value", [
    'multipart/alternative; boundary="===============8012925736245384433=="',
    'multipart/mixed; boundary="===============1234=="',
    'multipart/alternative; boundary="=_' + "x" * 80 + '"',  # too long for a line: RFC 2231, the stock way
    'multipart/mixed; boundary="with a space in it and long enough to need a fold somewhere"',
    'multipart/mixed; boundary="a; b, a separator inside the quotes, and long enough to fold"',
    'text/calendar; charset="utf-8"; method="REQUEST"; name="a-very-long-name-for-an-invitation-file.ics"',
])
def test_a_content_type_is_written_as_the_default_policy_writes_it(value):
    ours, stock = EmailMessage(policy=composing.POLICY), EmailMessage(policy=policy.default)
    ours["Content-Type"] = stock["Content-Type"] = value
    assert composing.to_bytes(ours) == bytes(stock)
    assert type_and_boundary(ours) == (stock.get_content_type(), stock.get_boundary())


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
@pytest.mark.parametrize("write_policy", [None, composing.SMTP_POLICY, policy.default, policy.SMTP, policy.SMTPUTF8])
def test_to_bytes_writes_what_the_generator_writes(write_policy, method):
    msg = invitation(method)
    assert composing.to_bytes(msg, write_policy) == msg.as_bytes(policy=write_policy)
    # A message read back (the relay's view of a queued mail) and parts the shortcut leaves
    # to the generator: a forwarded message, a preamble, 8-bit text under a 7-bit policy.
    parsed = BytesParser(policy=composing.SMTP_POLICY).parsebytes(bytes(msg))
    assert composing.to_bytes(parsed, write_policy) == parsed.as_bytes(policy=write_policy)
    outer = EmailMessage(policy=composing.POLICY)
    outer["Subject"] = "Fwd"
    outer.set_content("see below\n")
    outer.add_attachment(msg)
    outer.preamble = "This is a MIME message.\n"
    for seven_bit in (None, policy.default.clone(cte_type="7bit")):
        assert composing.to_bytes(outer, seven_bit) == outer.as_bytes(policy=seven_bit)


def written_by_file_outbox(folder, raw: bytes, *, parsed: bool) -> bytes:
    from integrations.mailfiles import FileSender

    sender = FileSender(folder)
    if parsed:  # the long way: the payload parsed into a message, and that written out
        sender.send(BytesParser(policy=composing.SMTP_POLICY).parsebytes(raw))
    else:
        sender.send_raw(raw)
    [path] = folder.glob("*.eml")
    return path.read_bytes()


def queued_payloads() -> list[bytes]:
    """Payloads as the outbox keeps them: every template, invitations, and the hard cases
    of addressing, subjects, threading and HTML."""
    renderer = Renderer()
    queued = [composing.to_bytes(invitation(method)) for method in ("REQUEST", "CANCEL")]
    queued += [composing.to_bytes(compose(DESK, renderer.render(name, sample_context(renderer, name, DESK)),
                                          ["Hank Scorpio <hank@globex.example>"], now=START,
                                          case_reference="CX-2026-0007"))
               for name in renderer.names()]
    queued += [composing.to_bytes(compose(DESK, RenderedMail(subject, "Hallo,\n\nwir bestätigen.\n", "<p>Hallo</p>"),
                                          to, now=START, case_reference="CX-2026-0042", case_token="k7Qp2",
                                          answering=Thread("<orig-77@acme.example>", LONG_CHAIN),
                                          cc=["amy@agency.example"]))
               for to in [*RECIPIENTS, [f"Person {n}, Globex <person{n}@globex.example>" for n in range(9)]]
               for subject in SUBJECTS]
    return queued


def test_the_file_outbox_writes_a_payload_as_parsing_and_writing_it_again_would(tmp_path):
    for n, raw in enumerate(queued_payloads()):
        assert written_by_file_outbox(tmp_path / f"raw{n}", raw, parsed=False) == \
            written_by_file_outbox(tmp_path / f"parsed{n}", raw, parsed=True), raw[:300]


def test_the_relay_receives_a_payload_as_parsing_and_sending_it_again_would():
    from integrations.smtp import SmtpSender
    from tests.servers.smtp import SmtpServer

    queued = queued_payloads()
    with SmtpServer() as relay, SmtpServer() as reference:
        with SmtpSender(relay.host, relay.port, security="none").session() as session:
            for raw in queued:
                session.send_raw(raw)
        with SmtpSender(reference.host, reference.port, security="none").session() as session:
            for raw in queued:
                session.send(BytesParser(policy=composing.SMTP_POLICY).parsebytes(raw))
        assert len(relay.messages) == len(queued) == len(reference.messages)
        for by_raw, by_message in zip(relay.messages, reference.messages):
            assert (by_raw.mail_from, by_raw.rcpt_tos) == (by_message.mail_from, by_message.rcpt_tos)
            assert by_raw.raw == by_message.raw, by_raw.raw[:300]


def test_a_payload_with_a_bcc_is_written_without_it(tmp_path):
    msg = compose(DESK, RenderedMail("Hi", "Text\n", None), ["a@b.example"], now=START)
    msg["Bcc"] = "hidden@agency.example"
    written = written_by_file_outbox(tmp_path, composing.to_bytes(msg), parsed=False)
    assert b"hidden@agency.example" in written.split(b"\r\n", 2)[1]  # the envelope's To line
    assert b"Bcc" not in written


@pytest.mark.parametrize("content_type", [
    None, 'text/plain; charset="utf-8"', "TEXT/Plain; charset=utf-8", 'multipart/mixed; boundary="===============1=="',
    "multipart/alternative; boundary=abc", 'multipart/mixed; boundary="x y "', "multipart/mixed",
    'multipart/mixed;\n boundary="===============2=="', "garbage", 'text/calendar; charset="utf-8"; method="CANCEL"'])
def test_a_parts_type_and_boundary_read_as_the_email_package_reads_them(content_type):
    for message_policy in (composing.POLICY, policy.default, policy.compat32):
        msg = EmailMessage(policy=composing.POLICY) if message_policy is not policy.compat32 else None
        msg = msg or BytesParser(policy=policy.compat32).parsebytes(b"Subject: x\n\nbody\n")
        msg.policy = message_policy
        if content_type is not None:
            msg._headers.append(("Content-Type", content_type))
        stock = msg.get_content_type()
        assert type_and_boundary(msg) == (stock, msg.get_boundary() if stock.startswith("multipart/") else None)


@pytest.mark.parametrize("text", [
    "Hello,\n\nwe received your request.\n", "Grüße aus Köln\n", "ご解約のご依頼を承りました\n" * 3,
    "x" * 120 + "\n", ("ä" * 50 + "\n") * 15, "no line end", "", "\r\nCR LF\rand CR\n", "From the start\n"])
@pytest.mark.parametrize("message_policy", [composing.POLICY, policy.default, policy.SMTP])
def test_the_text_body_is_set_as_set_content_sets_it(text, message_policy):
    ours, theirs = EmailMessage(policy=message_policy), EmailMessage(policy=message_policy)
    for msg in (ours, theirs):
        msg["Subject"] = "x"
    composing._set_text(ours, text)
    theirs.set_content(text)
    assert ours.as_bytes() == theirs.as_bytes()
    assert [(n, str(v)) for n, v in ours.items()] == [(n, str(v)) for n, v in theirs.items()]

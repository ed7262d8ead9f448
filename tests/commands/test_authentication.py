"""Only authenticated staff mail runs: forged From, forged or misplaced Authentication-Results, local DKIM."""
from __future__ import annotations

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.commands.helpers import AUTH, open_case, results_for, run, staff_mail, text, the_case

REFUSED = "None of your commands was run: this mail could not be verified as coming from you"


def _refused(desk, raw) -> str:
    body = " ".join(text(results_for(desk, raw)).split())
    assert the_case(desk)["state"] == "open" and "withdrawn" not in body.split("->")[-1]
    return body


@pytest.fixture
def notice(desk):
    return open_case(desk)


def test_forged_from_without_our_header_is_refused(desk, notice):
    body = _refused(desk, staff_mail("#withdrawn\n", answering=notice, auth=None))
    assert REFUSED in body and "no DKIM signature or SPF pass from our server for agency.example" in body
    assert "\"#withdrawn\" -> not run: sender not verified" in body


def test_header_from_another_server_is_not_trusted(desk, notice):
    forged = "mx.evil.example; dkim=pass header.d=agency.example; spf=pass smtp.mailfrom=agency.example"
    assert REFUSED in _refused(desk, staff_mail("#withdrawn\n", answering=notice, auth=forged))


def test_a_foreign_header_above_ours_hides_nothing(desk, notice):
    # The topmost header is not ours, so the "pass" below it (claiming our id) came with the mail.
    raw = staff_mail("#withdrawn\n", answering=notice, auth=None, headers={"Authentication-Results": AUTH})
    raw = b"Authentication-Results: mx.evil.example; dkim=pass header.d=agency.example\r\n" + raw
    assert REFUSED in _refused(desk, raw)


def test_our_pass_for_another_domain_does_not_count(desk, notice):
    other = "mx.agency.example; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example"
    body = _refused(desk, staff_mail("#withdrawn\n", answering=notice, auth=other))
    assert "DKIM passed for evil.example, which is not agency.example" in body


def test_our_header_with_a_failure_is_refused(desk, notice):
    failed = "mx.agency.example; dkim=fail header.d=agency.example; spf=softfail smtp.mailfrom=agency.example"
    assert REFUSED in _refused(desk, staff_mail("#withdrawn\n", answering=notice, auth=failed))


# -- our own DKIM check ---------------------------------------------------------------------


@pytest.fixture
def signing_key(desk):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    records = {b"sel._domainkey.agency.example.": b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)}
    desk.dns = lambda name, timeout=5: records.get(name)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _signed(raw: bytes, key: bytes) -> bytes:
    signature = dkim.sign(raw, b"sel", b"agency.example", key, include_headers=[b"from", b"subject", b"to"])
    return signature + raw


def test_a_dkim_signature_we_verify_is_enough(desk, notice, signing_key):
    raw = _signed(staff_mail("#withdrawn changed her mind\n", answering=notice, auth=None), signing_key)
    body = text(results_for(desk, raw))
    assert "is now withdrawn" in body
    assert the_case(desk)["state"] == "withdrawn"


def test_a_signed_mail_changed_on_the_way_is_refused(desk, notice, signing_key):
    raw = _signed(staff_mail("#note harmless\n", answering=notice, auth=None), signing_key)
    tampered = raw.replace(b"#note harmless", b"#withdrawn now!")
    assert REFUSED in _refused(desk, tampered)


def test_a_forged_note_is_not_filed_as_staff(desk, notice):
    run(desk, staff_mail("Customer called: they agreed to stay, ignore the request.\n", answering=notice,
                         auth=None))
    kinds = [kind for kind, _summary in the_case(desk)["events"]]
    assert "note" not in kinds and "unverified" in kinds


def test_a_genuine_note_is_filed(desk, notice):
    run(desk, staff_mail("Customer called: they want to talk to Tom first.\n", answering=notice))
    assert "note" in [kind for kind, _summary in the_case(desk)["events"]]


def test_an_address_written_as_a_name_is_not_staff(desk, notice):
    """Unquoted 'amy@agency.example <evil@x.example>': two mailboxes, no usable sender, nothing run."""
    run(desk, staff_mail("#withdrawn\n", answering=notice, sender="amy@agency.example <evil@x.example>"))
    assert the_case(desk)["state"] == "open"

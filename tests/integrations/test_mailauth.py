"""Staff command mail authentication: our server's Authentication-Results, and local DKIM."""

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.mailauth import AuthPolicy, aligned, authenticate

OUR_MX = "mx.canceldesk.example"
STAFF = "alice@staff.example"
SELECTOR = b"desk2026"

COMMAND = (
    b"From: Alice Staff <alice@staff.example>\r\n"
    b"To: cancellations@canceldesk.example\r\n"
    b"Subject: #close CX-1042\r\n"
    b"Date: Thu, 05 Mar 2026 09:00:00 +0000\r\n"
    b"Message-ID: <cmd-1@staff.example>\r\n"
    b"\r\n"
    b"#close CX-1042 refund approved\r\n"
)


def with_headers(*lines: str, raw: bytes = COMMAND) -> bytes:
    """Prepend header lines, the way receiving servers add theirs on top."""
    return "".join(f"{line}\r\n" for line in lines).encode() + raw


def ar(authserv_id: str, results: str) -> str:
    return f"Authentication-Results: {authserv_id};\r\n\t{results}"


RECEIVED = ("Received: from mail.staff.example by mx.canceldesk.example;\r\n"
            "\tThu, 5 Mar 2026 09:00:01 +0000")


@pytest.fixture(scope="module")
def dkim_keys():
    """A fresh RSA key for staff.example and a DNS answering from a dict."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    public_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    zone = {}

    def publish(domain: str) -> None:
        zone[SELECTOR + b"._domainkey." + domain.encode() + b"."] = record

    def resolve(name: bytes, timeout: float = 5) -> bytes | None:
        return zone.get(name if name.endswith(b".") else name + b".")

    return private_pem, publish, resolve


def policy(resolver=lambda name, timeout=5: None, **options) -> AuthPolicy:
    return AuthPolicy(authserv_ids=(OUR_MX,), dns_resolver=resolver, **options)


def sign(raw: bytes, domain: str, private_pem: bytes, **options) -> bytes:
    options.setdefault("include_headers", [b"from", b"to", b"subject", b"date", b"message-id"])
    return dkim.sign(raw, SELECTOR, domain.encode(), private_pem, **options) + raw


# -- our server's Authentication-Results ------------------------------------------------


def test_own_dkim_pass_aligned_with_from_is_ok():
    raw = with_headers(ar(OUR_MX, "dkim=pass header.d=staff.example header.s=sel; spf=none"),
                       RECEIVED)

    verdict = authenticate(raw, STAFF, policy())

    assert verdict.ok and verdict.method == "dkim"
    assert "staff.example" in verdict.reason


def test_own_dkim_pass_from_a_subdomain_of_from_is_ok():
    raw = with_headers(ar(OUR_MX, "dkim=pass header.d=mail.staff.example"))

    assert authenticate(raw, STAFF, policy()).ok


def test_gmail_style_header_i_instead_of_header_d():
    raw = with_headers(ar(OUR_MX, "dkim=pass header.i=@staff.example header.s=20230601"))

    assert authenticate(raw, STAFF, policy()).ok


def test_spf_pass_aligned_is_ok():
    raw = with_headers(ar(OUR_MX, "spf=pass smtp.mailfrom=bounces@staff.example"))

    verdict = authenticate(raw, STAFF, policy())

    assert verdict.ok and verdict.method == "spf"


def test_spf_is_not_trusted_when_the_policy_leaves_it_out():
    raw = with_headers(ar(OUR_MX, "spf=pass smtp.mailfrom=bounces@staff.example"))

    assert not authenticate(raw, STAFF, policy(accept=("dkim",))).ok


def test_dmarc_pass_counts_only_when_configured():
    raw = with_headers(ar(OUR_MX, "dmarc=pass header.from=staff.example"))

    assert not authenticate(raw, STAFF, policy()).ok
    verdict = authenticate(raw, STAFF, policy(accept=("dkim", "spf", "dmarc")))
    assert verdict.ok and verdict.method == "dmarc"


def test_forged_header_from_another_authserv_id_is_refused():
    raw = with_headers(ar("mx.evil.example", "dkim=pass header.d=staff.example"))

    verdict = authenticate(raw, STAFF, policy())

    assert not verdict.ok
    assert verdict.reason.startswith(
        "no DKIM signature or SPF pass from our server for staff.example")


def test_our_id_below_a_foreign_header_is_refused():
    raw = with_headers(ar("mx.relay.example", "dkim=none"),
                       RECEIVED,
                       ar(OUR_MX, "dkim=pass header.d=staff.example"))

    assert not authenticate(raw, STAFF, policy()).ok


def test_forged_pass_below_our_real_fail_is_refused():
    forged_in_the_mail = ar(OUR_MX, "dkim=pass header.d=staff.example")
    raw = with_headers(ar(OUR_MX, "dkim=fail header.d=staff.example; spf=softfail "
                                  "smtp.mailfrom=mallory@evil.example"),
                       RECEIVED,
                       ar("mx.evil.example", "spf=pass smtp.mailfrom=evil.example"),
                       forged_in_the_mail)

    assert not authenticate(raw, STAFF, policy()).ok


def test_dkim_pass_for_an_unaligned_domain_is_refused():
    raw = with_headers(ar(OUR_MX, "dkim=pass header.d=evil.example; "
                                  "spf=pass smtp.mailfrom=mallory@evil.example"))

    verdict = authenticate(raw, STAFF, policy())

    assert not verdict.ok
    assert "DKIM passed for evil.example, which is not staff.example" in verdict.reason


def test_display_name_trick_is_judged_on_the_bare_address():
    # '"alice@staff.example" <mallory@evil.example>' is Mallory: the caller passes her
    # bare address, and evil.example has no pass here.
    raw = with_headers(ar(OUR_MX, "dkim=pass header.d=staff.example"))

    assert not authenticate(raw, "mallory@evil.example", policy()).ok


def test_microsoft_365_header_without_authserv_id_is_ignored_not_fatal():
    m365 = ("Authentication-Results: spf=pass (sender IP is 40.107.22.54)\r\n"
            " smtp.mailfrom=staff.example; dkim=pass (signature was verified)\r\n"
            " header.d=staff.example;dmarc=pass action=none\r\n"
            " header.from=staff.example;compauth=pass reason=100")
    raw = with_headers(m365)

    verdict = authenticate(raw, STAFF, policy())

    assert not verdict.ok
    # ... and it does not hide our own header below it either.
    assert authenticate(with_headers(m365, ar(OUR_MX, "spf=pass smtp.mailfrom=staff.example")),
                        STAFF, policy()).ok


def test_sender_without_domain_is_refused():
    verdict = authenticate(COMMAND, "alice", policy())

    assert not verdict.ok and "no domain" in verdict.reason


@pytest.mark.parametrize("domain, from_domain, expected", [
    ("staff.example", "staff.example", True),
    ("mail.staff.example", "staff.example", True),
    ("staff.example", "eu.staff.example", True),
    ("STAFF.example.", "staff.example", True),
    ("evil.example", "staff.example", False),
    ("notstaff.example", "staff.example", False),
    ("shop-a.co.uk", "shop-b.co.uk", False),
    ("co.uk", "shop.co.uk", False),
    ("example", "staff.example", False),
    ("", "staff.example", False),
])
def test_alignment(domain, from_domain, expected):
    assert aligned(domain, from_domain) is expected


# -- local DKIM -------------------------------------------------------------------------


def test_locally_verified_dkim_signature_is_ok(dkim_keys):
    private_pem, publish, resolve = dkim_keys
    publish("staff.example")

    verdict = authenticate(sign(COMMAND, "staff.example", private_pem), STAFF,
                           policy(resolve))

    assert verdict.ok and verdict.method == "dkim-local"


def test_tampered_body_is_refused(dkim_keys):
    private_pem, publish, resolve = dkim_keys
    publish("staff.example")
    signed = sign(COMMAND, "staff.example", private_pem)
    tampered = signed.replace(b"#close CX-1042", b"#close CX-9999")

    assert not authenticate(tampered, STAFF, policy(resolve)).ok


def test_valid_signature_of_another_domain_is_refused(dkim_keys):
    private_pem, publish, resolve = dkim_keys
    publish("evil.example")

    verdict = authenticate(sign(COMMAND, "evil.example", private_pem), STAFF, policy(resolve))

    assert not verdict.ok
    assert "evil.example, which is not staff.example" in verdict.reason


def test_every_signature_is_tried_not_only_the_top_one(dkim_keys):
    private_pem, publish, resolve = dkim_keys
    publish("staff.example")
    publish("lists.example")
    # A list server re-signed on top; the staff signature below is the one that counts.
    signed = sign(sign(COMMAND, "staff.example", private_pem), "lists.example", private_pem)

    assert dkim.DKIM(signed).verify(dnsfunc=resolve)  # the top one verifies (lists)
    verdict = authenticate(signed, STAFF, policy(resolve))
    assert verdict.ok and verdict.method == "dkim-local"


def test_signature_with_body_length_is_not_trusted(dkim_keys):
    private_pem, publish, resolve = dkim_keys
    publish("staff.example")
    signed = sign(COMMAND, "staff.example", private_pem, length=True)

    assert dkim.DKIM(signed).verify(dnsfunc=resolve)
    assert not authenticate(signed + b"#delete CX-7\r\n", STAFF, policy(resolve)).ok


def test_missing_key_in_dns_is_refused(dkim_keys):
    private_pem, _, resolve = dkim_keys

    verdict = authenticate(sign(COMMAND, "nokey.example", private_pem),
                           "alice@nokey.example", policy(resolve))

    assert not verdict.ok


def test_local_check_can_be_switched_off(dkim_keys):
    private_pem, publish, resolve = dkim_keys
    publish("staff.example")

    verdict = authenticate(sign(COMMAND, "staff.example", private_pem), STAFF,
                           policy(resolve, verify_dkim_locally=False))

    assert not verdict.ok


# -- where our block ends: Received lines --------------------------------------------------

ENTRY = ("Received: from mail.evil.example (mail.evil.example [203.0.113.9]) by mx.canceldesk.example "
         "with ESMTPS id 4Xy;\r\n\tThu, 5 Mar 2026 09:00:01 +0000")
LMTP = ("Received: from mx.canceldesk.example (localhost [127.0.0.1]) by imap.canceldesk.example "
        "(Dovecot) with LMTP id 9;\r\n\tThu, 5 Mar 2026 09:00:02 +0000")


def test_our_fail_above_a_forged_pass_is_refused_even_without_a_line_between():
    raw = with_headers(ar(OUR_MX, "dkim=fail header.d=staff.example"),
                       ar(OUR_MX, "dkim=pass header.d=staff.example; spf=pass smtp.mailfrom=staff.example"))

    verdict = authenticate(raw, STAFF, policy())

    assert not verdict.ok and "DKIM as failed" in verdict.reason


def test_our_fail_above_our_received_and_a_forged_pass_is_refused():
    raw = with_headers(ar(OUR_MX, "dkim=fail header.d=staff.example"), ENTRY,
                       ar(OUR_MX, "dkim=pass header.d=staff.example"))

    assert not authenticate(raw, STAFF, policy()).ok


def test_a_forged_header_with_our_id_alone_is_refused():
    """Our server wrote no header (its filter was down): the one below its Received is the sender's."""
    raw = with_headers(ENTRY, ar(OUR_MX, "dkim=pass header.d=staff.example; spf=pass smtp.mailfrom=staff.example"))

    assert not authenticate(raw, STAFF, policy()).ok


def test_ours_below_a_foreign_received_is_refused():
    raw = with_headers("Received: from mx.relay.example by relay2.relay.example; Thu, 5 Mar 2026 09:00:03 +0000",
                       ar(OUR_MX, "dkim=pass header.d=staff.example"), ENTRY)

    assert not authenticate(raw, STAFF, policy()).ok


def test_our_header_under_our_own_lmtp_hop_counts():
    raw = with_headers(LMTP, ar(OUR_MX, "dkim=pass header.d=staff.example"), ENTRY,
                       ar(OUR_MX, "dkim=fail header.d=staff.example"))

    verdict = authenticate(raw, STAFF, policy(receiving_hosts=(OUR_MX, "imap.canceldesk.example")))

    assert verdict.ok and verdict.method == "dkim"
    # Without the IMAP host listed, its hop is a stranger's and nothing below it counts.
    assert not authenticate(raw, STAFF, policy()).ok


# -- bounded work in our own DKIM check -----------------------------------------------------


def _many_signatures(dkim_keys, count: int) -> bytes:
    private_pem, _publish, _resolve = dkim_keys
    raw = COMMAND
    for n in range(count):
        raw = sign(raw, f"s{n}.example", private_pem)
    return raw


def test_only_a_few_signatures_are_looked_up(dkim_keys):
    asked = []
    raw = _many_signatures(dkim_keys, 40)

    verdict = authenticate(raw, STAFF, policy(lambda name, timeout=5: asked.append(name)))

    assert not verdict.ok
    assert 1 <= len(asked) <= 3
    assert "only the first 3 of 40 DKIM signatures were checked" in verdict.reason


def test_the_dns_budget_is_shared_by_all_lookups(dkim_keys):
    timeouts = []

    def resolver(name, timeout=5):
        timeouts.append(timeout)
        return None

    raw = _many_signatures(dkim_keys, 3)
    authenticate(raw, STAFF, policy(resolver, dkim_dns_budget_seconds=0))
    assert timeouts == []
    authenticate(raw, STAFF, policy(resolver, dkim_dns_budget_seconds=2))
    assert timeouts and all(t <= 2 for t in timeouts)

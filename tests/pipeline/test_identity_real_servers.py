"""Who is writing, through the real servers: mail APPENDed to Dovecot, what we send received by aiosmtpd.

The agency's own desks are never customers: a request forwarded by reception, or a
voicemail transcript sent by the phone system, opens one case on the customer's account
(found from the forwarded content) and waits for the request in writing; an unknown
caller gets the forwarder a question, which `#account` answers. A stranger's request that claims an account: the account's team hears of it with a
provisional final day; the stranger learns nothing about the account. Only a contact of
the claimed account answers for it: a denial withdraws and flags it, a "yes" verifies it,
another account's contact changes nothing.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from pathlib import Path

from daemon.app import build_desk, ensure_dirs, make_source
from daemon.clock import ManualClock
from daemon.config import from_text
from daemon.db import transaction
from daemon.models import Case
from daemon.intake.watcher import Watcher
from tests.commands.helpers import AUTH, AUTH_CONFIG
from tests.pipeline.mailkit import TEAM
from tests.support import START, config_text, load_example_accounts, mail

FORWARDS = Path(__file__).resolve().parents[1] / "fixtures" / "forwards"
DESKS = 'system_addresses = ["reception@agency.example", "voicemail@agency.example"]\n'
STRANGER = "jdoe.home@gmail.example"
REQUEST = ("Hello,\n\nplease cancel our SEO and PPC services at the end of January.\n\n"
           "Kind regards,\nJane Doe\nAcme Outdoor Ltd\n")


@pytest.fixture
def imap_desk(database_url, tmp_path, dovecot_user, smtp_server, monkeypatch):
    monkeypatch.setenv("CANCELDESK_IMAP_PASSWORD", dovecot_user.password)
    text = config_text(database_url, extra=AUTH_CONFIG,
                       mailbox_url=f"imap://{dovecot_user.name}@127.0.0.1:{dovecot_user.server.port}/INBOX?starttls=no",
                       smtp_url=f"smtp://127.0.0.1:{smtp_server.port}?starttls=no")
    config = from_text(text.replace("[mailbox]", DESKS + "\n[mailbox]", 1), tmp_path)   # the agency's desks
    ensure_dirs(config)
    built = build_desk(config, clock=ManualClock(START))
    load_example_accounts(built)
    built.dns = lambda name, timeout=5: None   # no real DNS: our own Authentication-Results decide
    yield built
    built.engine.dispose()


def _authenticated(raw: bytes) -> bytes:
    """As our receiving server marks mail from the agency's own domain."""
    return f"Authentication-Results: {AUTH}\r\n".encode() + raw


def _forward(name: str) -> bytes:
    return _authenticated((FORWARDS / f"{name}.eml").read_bytes().replace(b"\n", b"\r\n"))


def _run(desk, dovecot_user, *raws: bytes) -> None:
    for raw in raws:
        dovecot_user.append(raw)
    Watcher(desk, make_source(desk.config)).run_once()


def _to(smtp_server, address: str) -> list:
    return [m.message for m in smtp_server.messages if address in m.rcpt_tos]


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def _case(desk) -> dict:
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()
        return {"reference": case.reference, "state": case.state, "verified": case.verified,
                "account": case.account.key if case.account else None, "details": dict(case.details or {}), "claimed_account": case.claimed_account,
                "actors": [e.actor for e in case.events], "requester": case.requester,
                "services": list(case.requested_services), "final_day": str(case.requested_final_day)}


@pytest.mark.parametrize("name", ["reception_inline_forward", "voicemail_rfc822", "account_manager_call_note"])
def test_a_forward_from_our_own_desks_opens_one_case_on_the_customers_account(imap_desk, dovecot_user, smtp_server,
                                                                              name):
    _run(imap_desk, dovecot_user, _forward(name))
    case = _case(imap_desk)
    expected = {"reception_inline_forward": ("ACME", "jane@acme.example", ["PPC", "Social"], "2027-01-31"),
                "voicemail_rfc822": ("ACME", "jane@acme.example", ["PPC"], "2027-01-31"),
                "account_manager_call_note": ("INITECH", "peter@initech.example", ["PPC"], "2027-02-01")}[name]
    assert (case["account"], case["requester"], case["services"], case["final_day"]) == expected
    assert case["state"] == "awaiting_written"
    team = {"ACME": TEAM, "INITECH": {"bob@agency.example", "tom@agency.example", "pia@agency.example",
                                      "eve@agency.example"}}[case["account"]]
    smtp_server.wait_for_readers(1 + len(team))
    (asked,) = _to(smtp_server, case["requester"])
    assert "in writing" in _text(asked) and case["reference"] in asked["Subject"]
    told = {a for m in smtp_server.messages if "Verbal" in str(m.message["Subject"]) for a in m.rcpt_tos}
    assert told == team
    for desk_address in ("reception@agency.example", "voicemail@agency.example"):
        assert _to(smtp_server, desk_address) == []


def test_an_unknown_caller_gets_the_forwarder_asked_which_account(imap_desk, dovecot_user, smtp_server):
    _run(imap_desk, dovecot_user, _forward("voicemail_unknown_caller"), _forward("reception_unknown_sender"))
    smtp_server.wait_for(2)
    with transaction(imap_desk.factory) as session:
        assert session.scalars(select(Case)).all() == []
    (voicemail,) = _to(smtp_server, "voicemail@agency.example")
    (reception,) = _to(smtp_server, "reception@agency.example")
    assert "#account" in _text(reception) and "Riverside Bakery" in _text(voicemail)
    headers = {"In-Reply-To": reception["Message-ID"], "References": reception["Message-ID"]}
    _run(imap_desk, dovecot_user, _authenticated(mail(sender="Front Desk <reception@agency.example>",
                                                      subject=f"Re: {reception['Subject']}",
                                                      body="#account INITECH\n", headers=headers)))
    case = _case(imap_desk)
    assert (case["account"], case["requester"], case["state"]) == ("INITECH", "peter@initech.example",
                                                                    "awaiting_written")
    assert case["services"] == ["Email"]
    smtp_server.wait_for(4)
    assert _to(smtp_server, "peter@initech.example")


def _stranger_claims_acme(desk, dovecot_user, smtp_server) -> dict:
    _run(desk, dovecot_user, mail(sender=f"Jane Doe <{STRANGER}>", subject="Cancellation", body=REQUEST,
                                  message_id="<claim-1@gmail.example>"))
    smtp_server.wait_for_readers(1 + len(TEAM))
    return _case(desk)


def test_a_strangers_request_claiming_an_account_tells_its_team_and_nothing_to_the_stranger(
        imap_desk, dovecot_user, smtp_server):
    case = _stranger_claims_acme(imap_desk, dovecot_user, smtp_server)
    assert (case["state"], case["account"], case["claimed_account"]) == ("awaiting_identity", None, "ACME")
    evidence = " ".join(case["details"]["claim_evidence"])
    assert "Jane Doe <jane@acme.example>" in evidence and "Acme Outdoor Ltd" in evidence
    assert case["details"]["provisional_contract"]["final_day"] == "2027-01-31"
    (asked,) = _to(smtp_server, STRANGER)
    seen_by_stranger = f"{asked['Subject']}\n{_text(asked)}\n{asked['Reply-To']}"
    assert "confirm" in seen_by_stranger
    for secret in ("Acme", "ACME", "@agency.example>", "amy", "tom@", "2027-01-31", "31 January 2027", "SEO"):
        assert secret not in seen_by_stranger.replace("cancel@agency.example", ""), secret
    for member in TEAM:
        (notice,) = _to(smtp_server, member)
        assert case["reference"] in notice["Subject"] and "Acme Outdoor Ltd" in notice["Subject"]
        assert "Final day to propose:          31 January 2027" in _text(notice) and "#verify" in _text(notice)


def test_the_contacts_denial_withdraws_and_flags_it(imap_desk, dovecot_user, smtp_server):
    case = _stranger_claims_acme(imap_desk, dovecot_user, smtp_server)
    before = len(smtp_server.messages)
    before_readers = smtp_server.readers
    _run(imap_desk, dovecot_user, mail(subject=f"Re: {case['reference']} cancellation?",
                                       body="I did not send this. Do not cancel anything, please.\n"))
    smtp_server.wait_for_readers(before_readers + len(TEAM))
    after = _case(imap_desk)
    assert (after["state"], after["verified"], after["account"]) == ("withdrawn", False, None)
    assert after["details"]["possible_impersonation"]["denied_by"] == "jane@acme.example"
    flagged = [m for m in smtp_server.messages[before:] if "Possible impersonation" in str(m.message["Subject"])]
    assert {a for m in flagged for a in m.rcpt_tos} == TEAM
    assert len(_to(smtp_server, STRANGER)) == 1


def test_the_contacts_yes_verifies_it(imap_desk, dovecot_user, smtp_server):
    case = _stranger_claims_acme(imap_desk, dovecot_user, smtp_server)
    before = len(smtp_server.messages)
    before_readers = smtp_server.readers
    _run(imap_desk, dovecot_user, mail(subject=f"Re: {case['reference']}",
                                       body="Yes, that was me, writing from home.\n\nJane\n"))
    smtp_server.wait_for_readers(before_readers + 1 + len(TEAM))
    after = _case(imap_desk)
    assert (after["state"], after["verified"], after["account"]) == ("open", True, "ACME")
    assert after["details"]["verified_by"] == "jane@acme.example"
    assert len(_to(smtp_server, STRANGER)) == 1


def test_another_accounts_contact_cannot_touch_it(imap_desk, dovecot_user, smtp_server):
    case = _stranger_claims_acme(imap_desk, dovecot_user, smtp_server)
    for body in ("Yes, I confirm.\n", "I did not send this, do not cancel.\n"):
        _run(imap_desk, dovecot_user, mail(sender="Hank Scorpio <hank@globex.example>",
                                           subject=f"Re: {case['reference']}", body=body))
    after = _case(imap_desk)
    assert (after["state"], after["verified"], after["account"]) == ("awaiting_identity", False, None)
    assert "hank@globex.example" not in after["actors"]
    assert len(_to(smtp_server, STRANGER)) == 1


def test_staff_verify_without_an_account_takes_the_claimed_one(imap_desk, dovecot_user, smtp_server):
    case = _stranger_claims_acme(imap_desk, dovecot_user, smtp_server)
    notice = _to(smtp_server, "amy@agency.example")[0]
    headers = {"In-Reply-To": notice["Message-ID"], "References": notice["Message-ID"]}
    raw = mail(sender="Amy <amy@agency.example>", subject=f"Re: {notice['Subject']}", body="#verify\n",
               headers=headers)
    _run(imap_desk, dovecot_user, _authenticated(raw))
    after = _case(imap_desk)
    assert (after["state"], after["verified"], after["account"]) == ("open", True, "ACME")

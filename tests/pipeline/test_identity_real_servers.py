"""Who is writing, through the real servers: mail APPENDed to Dovecot, what we send received by aiosmtpd.

A stranger's request that claims an account: the account's team hears of it with a
provisional final day; the stranger learns nothing about the account. Only a contact of
the claimed account answers for it: a denial withdraws and flags it, a "yes" verifies it,
another account's contact changes nothing.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from daemon.app import make_source
from daemon.db import transaction
from daemon.models import Case
from daemon.watcher import Watcher
from tests.commands.helpers import AUTH, command_desk
from tests.pipeline.mailkit import TEAM
from tests.support import mail

SYSTEMS = """
[desk]
address = "cancel@agency.example"
name = "Agency cancellation desk"
company = "Agency"
timezone = "Europe/London"
system_addresses = ["reception@agency.example", "voicemail@agency.example"]
"""
STRANGER = "jdoe.home@gmail.example"
REQUEST = ("Hello,\n\nplease cancel our SEO and PPC services at the end of January.\n\n"
           "Kind regards,\nJane Doe\nAcme Outdoor Ltd\n")


@pytest.fixture
def imap_desk(database_url, tmp_path, dovecot_user, smtp_server, monkeypatch):
    monkeypatch.setenv("CANCELDESK_IMAP_PASSWORD", dovecot_user.password)
    built = command_desk(
        tmp_path, database_url,
        mailbox_url=f"imap://{dovecot_user.name}@127.0.0.1:{dovecot_user.server.port}/INBOX?starttls=no",
        smtp_url=f"smtp://127.0.0.1:{smtp_server.port}?starttls=no")
    yield built
    built.engine.dispose()


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
                "account": case.account.key if case.account else None, "details": dict(case.details or {}),
                "actors": [e.actor for e in case.events]}


def _stranger_claims_acme(desk, dovecot_user, smtp_server) -> dict:
    _run(desk, dovecot_user, mail(sender=f"Jane Doe <{STRANGER}>", subject="Cancellation", body=REQUEST,
                                  message_id="<claim-1@gmail.example>"))
    smtp_server.wait_for(1 + len(TEAM))
    return _case(desk)


def test_a_strangers_request_claiming_an_account_tells_its_team_and_nothing_to_the_stranger(
        imap_desk, dovecot_user, smtp_server):
    case = _stranger_claims_acme(imap_desk, dovecot_user, smtp_server)
    assert (case["state"], case["account"], case["details"]["claimed_account"]) == ("awaiting_identity", None, "ACME")
    evidence = " ".join(case["details"]["claim_evidence"])
    assert "Jane Doe <jane@acme.example>" in evidence and "Acme Outdoor Ltd" in evidence
    assert case["details"]["provisional_contract"]["final_day"] == "2027-01-31"
    (asked,) = _to(smtp_server, STRANGER)
    seen_by_stranger = f"{asked['Subject']}\n{_text(asked)}\n{asked['Reply-To']}"
    assert "confirm" in seen_by_stranger
    for secret in ("Acme", "ACME", "@agency.example>", "amy", "tom@", "2027-01-31", "SEO"):
        assert secret not in seen_by_stranger.replace("cancel@agency.example", ""), secret
    for member in TEAM:
        (notice,) = _to(smtp_server, member)
        assert case["reference"] in notice["Subject"] and "Acme Outdoor Ltd" in notice["Subject"]
        assert "Final day to propose:          2027-01-31" in _text(notice) and "#verify" in _text(notice)


def test_the_contacts_denial_withdraws_and_flags_it(imap_desk, dovecot_user, smtp_server):
    case = _stranger_claims_acme(imap_desk, dovecot_user, smtp_server)
    before = len(smtp_server.messages)
    _run(imap_desk, dovecot_user, mail(subject=f"Re: {case['reference']} cancellation?",
                                       body="I did not send this. Do not cancel anything, please.\n"))
    smtp_server.wait_for(before + len(TEAM))
    after = _case(imap_desk)
    assert (after["state"], after["verified"], after["account"]) == ("withdrawn", False, None)
    assert after["details"]["possible_impersonation"]["denied_by"] == "jane@acme.example"
    flagged = [m for m in smtp_server.messages[before:] if "Possible impersonation" in str(m.message["Subject"])]
    assert {a for m in flagged for a in m.rcpt_tos} == TEAM
    assert len(_to(smtp_server, STRANGER)) == 1


def test_the_contacts_yes_verifies_it(imap_desk, dovecot_user, smtp_server):
    case = _stranger_claims_acme(imap_desk, dovecot_user, smtp_server)
    before = len(smtp_server.messages)
    _run(imap_desk, dovecot_user, mail(subject=f"Re: {case['reference']}",
                                       body="Yes, that was me, writing from home.\n\nJane\n"))
    smtp_server.wait_for(before + 1 + len(TEAM))
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
    _run(imap_desk, dovecot_user, f"Authentication-Results: {AUTH}\r\n".encode() + raw)
    after = _case(imap_desk)
    assert (after["state"], after["verified"], after["account"]) == ("open", True, "ACME")

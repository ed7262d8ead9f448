"""Staff mail for the command tests: authenticated the way our receiving server marks it.

`AUTH` is the header our own server (authserv-id mx.agency.example) adds on top of a
mail whose DKIM and SPF pass for agency.example; tests that forge or drop it say so.
"""
from __future__ import annotations

from email import message_from_bytes, policy

from sqlalchemy import select

from daemon.db import transaction
from daemon.models import Case
from tests.pipeline.mailkit import run, sent  # deliver and sweep once; what went out
from tests.support import build_test_desk, mail

AUTH_CONFIG = """
[auth]
authserv_ids = ["mx.agency.example"]
"""
AUTH = "mx.agency.example; dkim=pass header.d=agency.example; spf=pass smtp.mailfrom=agency.example"


def command_desk(tmp_path, database_url, *, extra: str = "", **kwargs):
    desk = build_test_desk(tmp_path, database_url, extra=AUTH_CONFIG + extra, **kwargs)
    # No test may reach real DNS: a mail without a usable key simply fails our DKIM check.
    desk.dns = lambda name, timeout=5: None
    return desk


def staff_mail(body: str, *, sender: str = "Amy <amy@agency.example>", subject: str = "Commands",
               answering=None, auth: str | None = AUTH, headers: dict[str, str] | None = None,
               message_id: str | None = None) -> bytes:
    """A staff mail with `body`; `answering` (a sent message) makes it a reply to that mail."""
    extra = {}
    if auth:
        extra["Authentication-Results"] = auth
    if answering is not None:
        extra["In-Reply-To"] = answering["Message-ID"]
        extra["References"] = answering["Message-ID"]
        subject = f"Re: {answering['Subject']}"
    raw = mail(sender=sender, subject=subject, body=body, message_id=message_id, headers=headers)
    # Our server writes its header on top of everything that came with the mail.
    return _on_top(raw, extra)


def _on_top(raw: bytes, headers: dict[str, str]) -> bytes:
    lines = b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items())
    return lines + raw


def sent_to(desk, address: str) -> list:
    return [m for m in sent(desk) if address in str(m["To"])]


def text(message) -> str:
    return message.get_body(("plain",)).get_content()


def results_for(desk, raw: bytes, staff: str = "amy@agency.example"):
    """Run `raw` and return the one results mail that answers it (other mail to `staff` may follow)."""
    command_id = message_from_bytes(raw, policy=policy.default)["Message-ID"]
    run(desk, raw)
    answers = [m for m in sent_to(desk, staff) if m["In-Reply-To"] == command_id]
    assert len(answers) == 1, [m["Subject"] for m in sent_to(desk, staff)]
    return answers[0]


def open_case(desk, body: str = "Please cancel our SEO and PPC services.\n"):
    """A cancellation from Jane at ACME; returns the team notice Amy received."""
    run(desk, mail(body=body))
    return next(m for m in sent_to(desk, "amy@agency.example") if "request from" in str(m["Subject"]))


def the_case(desk) -> dict:
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()
        return {"state": case.state, "details": dict(case.details or {}), "reasons": list(case.reasons),
                "offers": list(case.offers), "reference": case.reference,
                "events": [(e.kind, e.summary) for e in case.events]}

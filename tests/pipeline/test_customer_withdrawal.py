"""A customer who writes that they want to stay: the team is asked to confirm, nothing is undone by a guess."""
from __future__ import annotations

from email import message_from_bytes, policy

from sqlalchemy import select

from daemon.app import make_source
from daemon.db import transaction
from daemon.models import Case
from daemon.intake.watcher import Watcher
from integrations.maildir import deliver
from tests.pipeline.mailkit import readers
from tests.support import mail


def _run(desk, raw: bytes) -> None:
    deliver(desk.config.path("inbox"), raw)
    Watcher(desk, make_source(desk.config)).run_once()


def _sent(desk):
    return [message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(desk.config.path("outbox").glob("*.eml"))]


def test_customer_withdrawing_by_mail_asks_the_team_to_confirm(desk):
    _run(desk, mail(message_id="<w-1@acme.example>", body="Please cancel our SEO service.\n"))
    ack = next(m for m in _sent(desk) if m["To"] == "jane@acme.example")
    before = len(_sent(desk))
    _run(desk, mail(subject=f"Re: {ack['Subject']}", message_id="<w-2@acme.example>",
                    body="Please disregard my cancellation, we have decided to stay.\n\n"
                         f"On Mon, the desk wrote:\n> {ack['Subject']}\n",
                    headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]}))
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()
        assert case.state == "open"                      # not withdrawn on a guess
        kinds = [e.kind for e in case.events]
        assert kinds.count("mail_in") == 2 and "state:withdrawn" not in kinds
    notices = [m for m in _sent(desk)[before:] if "may be withdrawing" in str(m["Subject"])]
    assert readers(notices) == {"tom@agency.example", "amy@agency.example", "sam@agency.example",
                                "pia@agency.example", "sol@agency.example", "cora@agency.example"}
    assert "#withdrawn" in notices[0].get_body(("plain",)).get_content()
    assert not [m for m in _sent(desk)[before:] if m["To"] == "jane@acme.example"]   # no reply to her

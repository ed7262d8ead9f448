"""The webhook post goes through the outbox: a server error is retried, a refusal is final."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from daemon.db import transaction
from daemon.models import Account, Case, CaseEvent, OutboxEntry, OutboxStatus
from daemon.playbook.offboarding import post_webhook
from tests.playbook.helpers import FailingReceiver, run
from tests.support import mail


def _queue_post(desk, url: str) -> None:
    run(desk, mail(body="Please cancel all our services at the end of March.\n"))
    with transaction(desk.factory) as session:
        session.scalars(select(Account).where(Account.key == "ACME")).one().links = {"slack_webhook": url}
        case = session.scalars(select(Case)).one()
        post_webhook(desk, session, case)


def _entry(desk) -> OutboxEntry:
    with transaction(desk.factory) as session:
        return session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "webhook")).one()


def test_server_error_is_retried_later_and_then_delivered(desk):
    receiver = FailingReceiver([503])
    try:
        _queue_post(desk, receiver.url)
        desk.dispatcher.deliver_due()
        assert (_entry(desk).status, _entry(desk).last_error) == (OutboxStatus.PENDING,
                                                                  "TransientEffectError: webhook answered 503")
        desk.clock.advance(timedelta(minutes=2))
        desk.dispatcher.deliver_due()
        assert _entry(desk).status is OutboxStatus.SENT
        assert "Acme Outdoor Ltd" in receiver.bodies[0]["text"]
    finally:
        receiver.close()


def test_refusal_is_final_and_noted_on_the_case(desk):
    receiver = FailingReceiver([404])
    try:
        _queue_post(desk, receiver.url)
        desk.dispatcher.deliver_due()
        assert _entry(desk).status is OutboxStatus.FAILED
        with transaction(desk.factory) as session:
            failed = session.scalars(select(CaseEvent).where(CaseEvent.kind == "effect_failed")).one()
        assert "webhook refused the post: 404" in failed.summary
        assert receiver.bodies == []
    finally:
        receiver.close()

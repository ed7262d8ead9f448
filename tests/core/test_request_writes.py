"""How a request is written: no read on its path writes the transaction's pending rows
first, so a request from a contact goes to the database in two flushes (the new case, for
its id; everything else at commit), and what is read meanwhile is found among the rows
not written yet."""
from __future__ import annotations

from email import message_from_bytes, policy

from sqlalchemy import event, func, select

from daemon import cases, timers
from daemon.db import made_here, transaction
from daemon.intake import pipeline, store
from daemon.models import Case, MessageStatus, OutboxEntry
from daemon.playbook import calls
from daemon.sheets.projection import APPROVED_EVENT, ever_approved
from tests.support import mail


def _stored(desk, raw: bytes) -> int:
    with transaction(desk.factory) as session:
        return store.store(session, mailbox="m", uidvalidity=1, uid=1, raw=raw, now=desk.clock.now()).message_id


def _flushes(desk) -> list[int]:
    """Each flush's number of rows to write, from now on."""
    seen: list[int] = []
    event.listen(desk.factory, "before_flush", lambda session, *_: seen.append(len(session.new) + len(session.dirty)))
    return seen


def test_a_request_from_a_contact_is_written_in_two_flushes(desk):
    message_id = _stored(desk, mail(body="Please cancel our SEO at the end of the contract.\n",
                                    message_id="<two-flushes@acme.example>"))
    flushes = _flushes(desk)
    outcome = pipeline.process_one(desk, message_id)
    assert outcome is not None and outcome.status is MessageStatus.PROCESSED
    # The case (its id keys every other row), then the rest together: timeline lines,
    # the call, timers, the case's changes and the stored mail's.
    assert len(flushes) == 2, flushes
    assert flushes[1] >= 8
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()
        assert case.state == "open"
        assert session.scalar(select(func.count(OutboxEntry.id))) == 4  # answer, team, two invitations
        payloads = session.scalars(select(OutboxEntry.payload).where(OutboxEntry.recipient == "jane@acme.example"))
        to_customer = [message_from_bytes(p, policy=policy.default) for p in payloads]
    # The invitation answers the customer's mail, found on the timeline before it was written.
    assert len(to_customer) == 2
    assert all(m["In-Reply-To"] == "<two-flushes@acme.example>" for m in to_customer)


def test_an_approval_not_written_yet_counts_without_writing_it(desk):
    pipeline.process_one(desk, _stored(desk, mail(body="Please cancel our SEO.\n", message_id="<appr@acme.example>")))
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()  # its timeline not loaded: the line is added by id
        assert not ever_approved(session, case)
        flushes = _flushes(desk)
        cases.record(session, case, APPROVED_EVENT, at=desk.clock.now(), actor="fin@agency.example")
        assert ever_approved(session, case)
        assert flushes == []


def test_opening_a_case_reads_none_of_its_own_rows_back(desk):
    message_id = _stored(desk, mail(body="Please cancel our SEO at the end of the contract.\n",
                                    message_id="<own-rows@acme.example>"))
    reads: list[str] = []
    listener = lambda _conn, _cur, statement, *_: reads.append(statement) if statement.startswith("SELECT") else None  # noqa: E731
    event.listen(desk.engine, "before_cursor_execute", listener)
    try:
        pipeline.process_one(desk, message_id)
    finally:
        event.remove(desk.engine, "before_cursor_execute", listener)
    # A case opened in this transaction has only what the transaction made for it: its
    # timers, its call and its approvals are looked for there, not in the tables.
    for table in ("timers", "call_invites", "case_events"):
        assert not [s for s in reads if f"FROM {table}" in s], table
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()
        assert len(timers.pending_of(session, case)) == 2
        assert calls.call_of(session, case) is not None


def test_a_timer_of_a_rolled_back_savepoint_is_not_counted_as_made(desk):
    pipeline.process_one(desk, _stored(desk, mail(body="Please cancel our SEO.\n", message_id="<sp@acme.example>")))
    with transaction(desk.factory) as session:
        account = session.scalars(select(Case)).one().account
        case = cases.open_case(desk, session, kind="cancellation", requester="jane@acme.example", account=account,
                               trigger=cases.Trigger.OPENED, inbound=None, actor="jane@acme.example")
        assert made_here(session, case)
        try:
            with session.begin_nested():
                assert timers.schedule(desk, session, case, "probe", desk.clock.now()) is not None
                session.flush()
                raise RuntimeError("the step failed")
        except RuntimeError:
            pass
        # The savepoint took its timer with it: scheduling again is not refused as a repeat.
        assert timers.schedule(desk, session, case, "probe", desk.clock.now()) is not None
        assert timers.schedule(desk, session, case, "probe", desk.clock.now()) is None
    with transaction(desk.factory) as session:
        case = session.get(Case, case.id)
        assert not made_here(session, case)  # another transaction: its rows are looked up again
        assert timers.schedule(desk, session, case, "probe", desk.clock.now()) is None


def _lines(case) -> list[str]:
    return [line.summary for line in case.events]


def test_a_line_joins_the_timeline_in_hand_and_a_rolled_back_savepoint_takes_it_out(desk):
    pipeline.process_one(desk, _stored(desk, mail(body="Please cancel our SEO.\n", message_id="<tl@acme.example>")))
    with transaction(desk.factory) as session:
        case = session.scalars(select(Case)).one()
        before = _lines(case)  # the timeline loaded
        cases.record(session, case, "note", at=desk.clock.now(), summary="kept")
        assert _lines(case) == [*before, "kept"]
        try:
            with session.begin_nested():
                cases.record(session, case, "note", at=desk.clock.now(), summary="undone")
                assert _lines(case) == [*before, "kept", "undone"]
                raise RuntimeError("the command failed")
        except RuntimeError:
            pass
        assert _lines(case) == [*before, "kept"]
        cases.record(session, case, "note", at=desk.clock.now(), summary="after")
    with transaction(desk.factory) as session:
        assert _lines(session.get(Case, case.id)) == [*before, "kept", "after"]


def test_a_line_of_a_transaction_rolled_back_leaves_the_timeline_in_hand(desk):
    pipeline.process_one(desk, _stored(desk, mail(body="Please cancel our SEO.\n", message_id="<rb@acme.example>")))
    session = desk.factory()
    try:
        case = session.scalars(select(Case)).one()
        before = _lines(case)
        cases.record(session, case, "note", at=desk.clock.now(), summary="undone")
        assert _lines(case) == [*before, "undone"]
        session.rollback()
        assert _lines(case) == before
    finally:
        session.close()

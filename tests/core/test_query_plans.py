"""The outbox's busy queries read the rows they need, not every mail ever sent (SQLite plans).

A desk sends about a dozen mails per request and keeps them; after a year the outbox holds
hundreds of thousands of rows. The loop guard counts one recipient's answers for every
answer it sends, and every delivery pass looks for the few entries waiting: both must go
through an index that narrows to those rows (SQLite keeps no statistics, so an index on a
column nearly every row shares is taken as readily as a good one).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from daemon.db import transaction
from daemon.mail import outbox
from tests.support import build_test_desk

READS_EVERY_MAIL = ("SCAN outbox", "ix_outbox_kind")


def _outbox_plans(tmp_path, work) -> list[tuple[str, str]]:
    """(statement, plan) for each SELECT on the outbox that `work(desk)` runs, on SQLite."""
    desk = build_test_desk(tmp_path, f"sqlite:///{tmp_path / 'plans.db'}")
    seen = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT") and "FROM outbox" in statement:
            seen.append((statement, parameters))

    event.listen(desk.engine, "before_cursor_execute", remember)
    try:
        work(desk)
    finally:
        event.remove(desk.engine, "before_cursor_execute", remember)
    raw = desk.engine.raw_connection()
    try:
        cursor = raw.cursor()
        return [(s, "; ".join(row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + s, p).fetchall()))
                for s, p in seen]
    finally:
        raw.close()
        desk.engine.dispose()


def _loop_guard(desk) -> None:
    with transaction(desk.factory) as session:
        outbox.automatic_mails_since(session, "jane@acme.example", desk.clock.now() - timedelta(days=1))


def test_the_loop_guard_counts_only_the_recipients_rows(tmp_path):
    plans = _outbox_plans(tmp_path, _loop_guard)
    assert plans, "the loop guard asked the database nothing"
    for statement, plan in plans:
        assert "ix_outbox_recipient" in plan and not any(w in plan for w in READS_EVERY_MAIL), (statement, plan)


def test_a_delivery_pass_looks_only_at_entries_waiting(tmp_path):
    plans = _outbox_plans(tmp_path, lambda desk: desk.dispatcher.deliver_due())
    assert plans, "the delivery pass asked the database nothing"
    for statement, plan in plans:
        assert not any(w in plan for w in READS_EVERY_MAIL), (statement, plan)

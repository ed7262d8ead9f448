"""Transactions hold on every database: a savepoint never commits on its own."""
from __future__ import annotations

from sqlalchemy import func, select

from daemon.models import ReferenceCounter


def test_savepoint_inside_a_rolled_back_transaction_leaves_nothing(desk):
    with desk.factory() as session:
        session.begin()
        with session.begin_nested():   # the first statement of the transaction is a savepoint
            session.add(ReferenceCounter(year=1999, last=1))
        session.rollback()
    with desk.factory() as session:
        assert session.scalar(select(func.count()).select_from(ReferenceCounter)) == 0

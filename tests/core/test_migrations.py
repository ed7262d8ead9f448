"""Alembic migrations and the models agree, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from daemon.db import ALEMBIC_DIR
from daemon.models import Base, Case, State


def test_migrated_schema_matches_models(desk):
    with desk.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], differences


def _upgrade(engine, revision: str) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_case_details_move_to_their_columns(database_url):
    """A case written before the columns existed keeps what its details said, now in columns."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        _upgrade(engine, "0005_no_job_store")
        details = {"outcome": "lost", "approval_round": 2, "credit": "150.00", "language": "de",
                   "asked": "2026-11-20T09:15:00+00:00", "winback_stopped": "2026-12-24T08:00:00+00:00",
                   "claimed_account": "ACME", "reasons": [{"category": "price", "text": "too dear"}],
                   "offers": [], "changes": {"SEO": {"amount": "400.00", "was": "500.00"}},
                   "scope": {"services": ["SEO"], "kept": [], "unmatched": [], "until_term_end": False},
                   "pause_until": "2027-01-01", "verified_by": "amy@agency.example"}
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(
                "INSERT INTO cases (reference, token, kind, state, requester, verified, opened_at, "
                "requested_services, details) VALUES ('CX-1', 't1', 'cancel', 'closed', 'jane@acme.example', "
                ":verified, :opened, '[]', :details)"),
                {"verified": True, "opened": datetime(2026, 11, 20, 9, 15, tzinfo=timezone.utc),
                 "details": json.dumps(details)})
        _upgrade(engine, "heads")
        with Session(engine) as session:
            case = session.scalars(select(Case)).one()
            assert (case.state, case.outcome, case.approval_round, case.credit, case.language) == \
                (State.CLOSED, "lost", 2, Decimal("150.00"), "de")
            assert (case.asked_at, case.winback_stopped_at) == (datetime(2026, 11, 20, 9, 15, tzinfo=timezone.utc),
                                                                 datetime(2026, 12, 24, 8, tzinfo=timezone.utc))
            assert (case.claimed_account, case.reasons[0]["text"], case.changes["SEO"]["was"]) == \
                ("ACME", "too dear", "500.00")
            assert case.scope["services"] == ["SEO"] and case.details == {"verified_by": "amy@agency.example"}
    finally:
        engine.dispose()

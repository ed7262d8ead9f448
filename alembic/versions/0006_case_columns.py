"""Cases: what was read from the JSON `details` in several places becomes typed columns;
states and statuses are enums (stored as strings, so a new value needs no ALTER TYPE).

The values move from `details` to their columns (and back on downgrade). The key
`pause_until` was never written by the desk and is dropped with the rest.

Revision ID: 0006_case_columns
Revises: 0005_no_job_store
Create Date: 2026-12-01
"""
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0006_case_columns"
down_revision = "0005_no_job_store"
branch_labels = None
depends_on = None

# column -> (details key, empty value): the lists and maps are never NULL, like their models.
JSON_COLUMNS = {"scope": ("scope", dict), "reasons": ("reasons", list), "offers": ("offers", list),
                "changes": ("changes", dict)}
TEXT_COLUMNS = {"language": "language", "claimed_account": "claimed_account", "outcome": "outcome"}
MOMENTS = {"asked_at": "asked", "winback_stopped_at": "winback_stopped"}
STATUSES = ("approval_steps", "call_invites", "offboarding_items")


def _cases(bind):
    return sa.Table(
        "cases", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("details", sa.JSON),
        *(sa.Column(name, sa.JSON) for name in JSON_COLUMNS), *(sa.Column(name, sa.String) for name in TEXT_COLUMNS),
        *(sa.Column(name, sa.DateTime(timezone=True)) for name in MOMENTS),
        sa.Column("credit", sa.Numeric(12, 2)), sa.Column("approval_round", sa.Integer),
    )


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for name in JSON_COLUMNS:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("claimed_account", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("credit", sa.Numeric(12, 2), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("approval_round", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("winback_stopped_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    cases = _cases(bind)
    for row in bind.execute(sa.select(cases.c.id, cases.c.details)).all():
        details = dict(row.details or {})
        values = {name: details.pop(key, None) or empty() for name, (key, empty) in JSON_COLUMNS.items()}
        values.update({name: details.pop(key, None) for name, key in TEXT_COLUMNS.items()})
        values.update({name: _moment(details.pop(key, None)) for name, key in MOMENTS.items()})
        values["credit"] = Decimal(details.pop("credit", None) or "0")
        values["approval_round"] = int(details.pop("approval_round", None) or 0)
        details.pop("pause_until", None)
        bind.execute(cases.update().where(cases.c.id == row.id).values(details=details, **values))
    with op.batch_alter_table("cases") as batch:
        for name in (*JSON_COLUMNS, "credit", "approval_round"):
            batch.alter_column(name, existing_type=_type(name), nullable=False)
        batch.alter_column("state", existing_type=sa.String(length=32), nullable=True)
    for table in STATUSES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("status", existing_type=sa.String(length=16), type_=sa.String(length=32))


def downgrade() -> None:
    for table in STATUSES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("status", existing_type=sa.String(length=32), type_=sa.String(length=16))
    bind = op.get_bind()
    cases = _cases(bind)
    for row in bind.execute(sa.select(cases)).all():
        details = dict(row.details or {})
        details.update({key: row._mapping[name] for name, (key, _) in JSON_COLUMNS.items() if row._mapping[name]})
        details.update({key: row._mapping[name] for name, key in TEXT_COLUMNS.items() if row._mapping[name]})
        details.update({key: _aware(row._mapping[name]).isoformat() for name, key in MOMENTS.items()
                        if row._mapping[name]})
        if row.credit:
            details["credit"] = str(row.credit)
        if row.approval_round:
            details["approval_round"] = row.approval_round
        bind.execute(cases.update().where(cases.c.id == row.id).values(details=details))
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("state", existing_type=sa.String(length=32), nullable=False)
        for name in ("winback_stopped_at", "approval_round", "outcome", "credit", "claimed_account", "asked_at",
                     "language", *JSON_COLUMNS):
            batch.drop_column(name)


def _type(name: str) -> sa.types.TypeEngine:
    return {"credit": sa.Numeric(12, 2), "approval_round": sa.Integer()}.get(name, sa.JSON())


def _moment(text: str | None) -> datetime | None:
    return _aware(datetime.fromisoformat(text)) if text else None


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes: those the desk wrote are UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)

"""A mail answered first: the state changes whose other handlers are still to run; and
the outbox's kind no longer indexed (SQLite chose it over the recipient and the status,
and read every mail ever sent to count one recipient's or to find the few waiting).

Revision ID: 0009_follow_ups
Revises: 0008_inbound_originals
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_follow_ups"
down_revision = "0008_inbound_originals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("follow_ups", sa.JSON(), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_kind")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.create_index("ix_outbox_kind", ["kind"], unique=False)
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("follow_ups")

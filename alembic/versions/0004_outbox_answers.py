"""Outbox: mark the mails that answer their recipient's own mail (the loop guard counts them).

Revision ID: 0004_outbox_answers
Revises: 0003_one_head
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_outbox_answers"
down_revision = "0003_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("answers_recipient", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("answers_recipient")

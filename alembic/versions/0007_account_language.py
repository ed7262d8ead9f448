"""An account's language: the customer's mail in it, whatever the request's words.

Revision ID: 0007_account_language
Revises: 0006_case_columns
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_account_language"
down_revision = "0006_case_columns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("language")

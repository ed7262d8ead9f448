"""Large mail: its exact bytes in slices beside the thinned copy that `inbound_messages.raw` holds.

Revision ID: 0008_inbound_originals
Revises: 0007_account_language
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_inbound_originals"
down_revision = "0007_account_language"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_originals",
        sa.Column("message_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["inbound_messages.id"],
                                name=op.f("fk_inbound_originals_message_id_inbound_messages"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "seq", name=op.f("pk_inbound_originals")),
    )


def downgrade() -> None:
    op.drop_table("inbound_originals")

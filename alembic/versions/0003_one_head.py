"""Join the playbook and timers branches into one head, so `alembic upgrade head` works.

Revision ID: 0003_one_head
Revises: 0002_playbook, 0002_timers
Create Date: 2026-11-22
"""

revision = "0003_one_head"
down_revision = ("0002_playbook", "0002_timers")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

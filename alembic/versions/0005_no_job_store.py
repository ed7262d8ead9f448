"""Drop APScheduler's job store table: the scheduler keeps its jobs in memory and rebuilds
them from the pending timers at every start, so nothing writes or reads this table.

Revision ID: 0005_no_job_store
Revises: 0004_outbox_answers
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_no_job_store"
down_revision = "0004_outbox_answers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_apscheduler_jobs_next_run_time"), table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")


def downgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.String(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    op.create_index(op.f("ix_apscheduler_jobs_next_run_time"), "apscheduler_jobs", ["next_run_time"], unique=False)

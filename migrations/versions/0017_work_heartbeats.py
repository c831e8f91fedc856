"""exports and bulk uploads: a heartbeat, so that one whose worker died is found

A worker sets heartbeat_at when it takes an export or an upload and at each progress
step; the scheduler's sweep marks one running without a heartbeat for longer than its
lease as failed (the user sees it and may start again), and queues again one still
queued after a minute (its job was lost with Redis).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("export_job", "upload_batch"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))


def downgrade():
    for table in ("export_job", "upload_batch"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("heartbeat_at")

"""outbox: when an operator queued a message again (its give-up window starts there)

Mail is now retried with backoff until MAIL_GIVE_UP_AFTER has passed since the message
was written, or since `flask outbox retry` queued it again (retried_at).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retried_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('retried_at')

"""a customer's mail problem: why its people were not told (shown on the Customers page)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 23:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mail_problem', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('mail_problem_detail', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_column('mail_problem_detail')
        batch_op.drop_column('mail_problem')

"""seat purchases: the operator's payment reference, and rejected or cancelled purchases

A purchase is now pending, then active (with the payment reference the operator typed),
rejected (by an operator, with a reason) or cancelled (by the tenant's Administrator
while it was pending); then, if it was active, expired.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('seat_purchase', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_reference', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('rejected_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('rejection_reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_seat_purchase_cancelled_by_user'),
            'user',
            ['cancelled_by'],
            ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('seat_purchase', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_seat_purchase_cancelled_by_user'), type_='foreignkey')
        batch_op.drop_column('cancelled_by')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('rejection_reason')
        batch_op.drop_column('rejected_at')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('payment_reference')

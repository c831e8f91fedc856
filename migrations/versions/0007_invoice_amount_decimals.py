"""invoice amounts keep the decimals their document states

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:40:00

Rows written before this revision were stored with 2 decimals, which is what they get.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('amount_decimals', sa.SmallInteger(), server_default='2', nullable=False)
        )
        batch_op.alter_column('total', existing_type=sa.Numeric(18, 2), type_=sa.Numeric(24, 6),
                              existing_nullable=False)
        batch_op.alter_column('tax_total', existing_type=sa.Numeric(18, 2),
                              type_=sa.Numeric(24, 6), existing_nullable=False)


def downgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.alter_column('tax_total', existing_type=sa.Numeric(24, 6),
                              type_=sa.Numeric(18, 2), existing_nullable=False)
        batch_op.alter_column('total', existing_type=sa.Numeric(24, 6), type_=sa.Numeric(18, 2),
                              existing_nullable=False)
        batch_op.drop_column('amount_decimals')

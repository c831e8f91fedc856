"""recipients linked by a limited uploader see one issuer; an invoice is its issuer's id

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 19:20:00

Existing links keep seeing every issuer's invoices (NULL), as before.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer_company_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_membership_issuer_company_id_company'), 'company',
            ['issuer_company_id'], ['id'], ondelete='CASCADE'
        )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_constraint('uq_invoice_tenant_id_national_id', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_invoice_tenant_id_issuer_company_id_national_id'),
            ['tenant_id', 'issuer_company_id', 'national_id'],
        )
        batch_op.create_index('ix_invoice_national_id', ['tenant_id', 'national_id'])


def downgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_national_id')
        batch_op.drop_constraint(
            'uq_invoice_tenant_id_issuer_company_id_national_id', type_='unique'
        )
        batch_op.create_unique_constraint(
            'uq_invoice_tenant_id_national_id', ['tenant_id', 'national_id']
        )
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_constraint('fk_membership_issuer_company_id_company', type_='foreignkey')
        batch_op.drop_column('issuer_company_id')

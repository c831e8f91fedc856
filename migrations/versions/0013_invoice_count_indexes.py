"""indexes for constant-cost counts

The portal's "Pending downloads" badge and the console dashboard counted over every
invoice of a customer (or tenant) on each page. ix_invoice_pending holds only the
invoices with a file not downloaded yet, so counting them is an index-only scan of
the pending ones; ix_invoice_tenant_created and ix_invoice_tenant_issuer let the
dashboard count per month and per issuer from an index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# The same expression as saas.portal.models.PENDING.
PENDING = sa.text(
    "xml_downloaded_at IS NULL OR (pdf_key IS NOT NULL AND pdf_downloaded_at IS NULL)"
)


def upgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(
            'ix_invoice_pending',
            ['tenant_id', 'customer_company_id', 'issuer_company_id'],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )
        batch_op.create_index(
            'ix_invoice_tenant_created', ['tenant_id', 'created_at', 'issuer_company_id'], unique=False
        )
        batch_op.create_index(
            'ix_invoice_tenant_issuer', ['tenant_id', 'issuer_company_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_tenant_issuer')
        batch_op.drop_index('ix_invoice_tenant_created')
        batch_op.drop_index('ix_invoice_pending')

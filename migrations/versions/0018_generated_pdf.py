"""invoices: whether the PDF is the portal's printable copy, made from the XML

An issuer that sends only the XML (usual for FatturaPA, frequent for CFDI) still gives
its customers a PDF: the portal draws one from the XML the first time it is asked for
(a download or a pending-downloads zip) and keeps it as the invoice's PDF, marked so.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 02:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch copy): SQLite keeps the invoice table and its triggers.
    op.add_column(
        "invoice",
        sa.Column("pdf_generated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade():
    # Plain DROP COLUMN too (SQLite 3.35+): a batch copy cannot re-insert the generated
    # search columns, and would lose the tally triggers.
    op.drop_column("invoice", "pdf_generated")

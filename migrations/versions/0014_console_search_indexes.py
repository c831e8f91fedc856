"""console search: stored folded names, tax ids and numbers, their indexes

The console's invoice search folded accents in the query itself, on every row, with no
index. A company now keeps `search_name` (its name without accents or case) and
`search_tax_id` (its tax id without separators), written by the model at every change
and filled here in SQL for the companies there are; an invoice has `search_number`,
lower(number), computed by the database (stored on PostgreSQL, virtual on SQLite, which
cannot add a stored one to a table), with ix_invoice_number_prefix for a number's start
(text_pattern_ops on PostgreSQL: its comparisons are leakproof, so row-level security
lets the index answer; pg_trgm's LIKE is not, which is why there is no trigram index).
ix_invoice_tenant_issue_date serves the console's list, newest first, over the tenant.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 15:55:00
"""
from alembic import op
import sqlalchemy as sa

from saas.textsearch import ACCENTED, fold


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

PLAIN = "".join(fold(c) for c in ACCENTED)


def _backfill(postgres: bool) -> None:
    # The same folding as saas.textsearch.fold and compact_tax_id (the app registers
    # saas_fold on every SQLite connection, the migrations' too).
    name = f"translate(lower(name), '{ACCENTED}', '{PLAIN}')" if postgres else "saas_fold(name)"
    tax_id = "lower(tax_id)"
    for separator in (" ", ".", "-", "/"):
        tax_id = f"replace({tax_id}, '{separator}', '')"
    op.execute(f"UPDATE company SET search_name = {name}, search_tax_id = {tax_id}")


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('search_name', sa.String(length=300), server_default='', nullable=False)
        )
        batch_op.add_column(
            sa.Column('search_tax_id', sa.String(length=32), server_default='', nullable=False)
        )
    _backfill(postgres)
    kept = "STORED" if postgres else "VIRTUAL"
    op.execute(
        "ALTER TABLE invoice ADD COLUMN search_number VARCHAR(64)"
        f" GENERATED ALWAYS AS (lower(number)) {kept}"
    )
    op.create_index(
        'ix_invoice_number_prefix', 'invoice', ['tenant_id', 'search_number'],
        postgresql_ops={'search_number': 'text_pattern_ops'},
    )
    op.create_index(
        'ix_invoice_tenant_issue_date', 'invoice', ['tenant_id', 'issue_date', 'id']
    )


def downgrade():
    op.drop_index('ix_invoice_tenant_issue_date', table_name='invoice')
    op.drop_index('ix_invoice_number_prefix', table_name='invoice')
    op.execute("ALTER TABLE invoice DROP COLUMN search_number")
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_column('search_tax_id')
        batch_op.drop_column('search_name')

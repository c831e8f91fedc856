"""invoice tallies kept by the database: pending per customer and issuer, invoices per month

The "Pending downloads" badge counted a customer's pending invoices on every page (50,000
index entries for a customer that had never downloaded), and the dashboard counted the
tenant's invoices per month and per issuer (a million rows). pending_tally holds, per
customer and issuer, how many invoices have a file not downloaded yet; monthly_tally,
per issuer and month of publication, how many invoices there are. Both are kept by
triggers on `invoice`, so that every way of writing invoices (one upload, a batch in
bulk, a download, a PDF added later, a delete) keeps them, with nothing to remember in
the code: a statement-level trigger with transition tables on PostgreSQL (one upsert
per statement, whatever its rows), row triggers on SQLite. Deletes only lower existing
tallies, so that a tenant's cascade delete never inserts a row for a tenant being
deleted. Existing invoices are counted here once.

SQLite drops a table's triggers when alembic's batch mode recreates it: a migration
that alters `invoice` in batch mode must create them again (_create_sqlite_triggers);
tests/portal/test_tallies.py checks that the triggers of the head schema exist.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# saas.portal.models.PENDING, written for rows named by `row` (NEW., OLD. or nothing).
def pending(row=''):
    return (
        f"({row}xml_downloaded_at IS NULL "
        f"OR ({row}pdf_key IS NOT NULL AND {row}pdf_downloaded_at IS NULL))"
    )


def _pg_function(name, sources, *, lower_only=False):
    """A trigger function applying the changes of `sources` ((transition table, sign)):
    +1 per new row, -1 per old row, grouped, in key order (two transactions take the
    tallies' row locks in the same order, so they cannot deadlock on them)."""
    changes = " UNION ALL ".join(
        f"SELECT tenant_id, issuer_company_id, customer_company_id, "
        f"date_trunc('month', created_at)::date AS month, {sign} AS n, "
        f"CASE WHEN {pending()} THEN {sign} ELSE 0 END AS p FROM {table}"
        for table, sign in sources
    )
    if lower_only:
        body = f"""
  UPDATE monthly_tally AS t SET invoices = t.invoices + c.n
  FROM (SELECT issuer_company_id, month, sum(n) AS n FROM ({changes}) AS d
        GROUP BY 1, 2 ORDER BY 1, 2) AS c
  WHERE t.issuer_company_id = c.issuer_company_id AND t.month = c.month;
  UPDATE pending_tally AS t SET pending = t.pending + c.p
  FROM (SELECT customer_company_id, issuer_company_id, sum(p) AS p FROM ({changes}) AS d
        GROUP BY 1, 2 HAVING sum(p) <> 0 ORDER BY 1, 2) AS c
  WHERE t.customer_company_id = c.customer_company_id
    AND t.issuer_company_id = c.issuer_company_id;"""
    else:
        body = f"""
  INSERT INTO monthly_tally AS t (tenant_id, issuer_company_id, month, invoices)
  SELECT tenant_id, issuer_company_id, month, sum(n) FROM ({changes}) AS c
  GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 2, 3
  ON CONFLICT (issuer_company_id, month) DO UPDATE SET invoices = t.invoices + EXCLUDED.invoices;
  INSERT INTO pending_tally AS t (tenant_id, customer_company_id, issuer_company_id, pending)
  SELECT tenant_id, customer_company_id, issuer_company_id, sum(p) FROM ({changes}) AS c
  GROUP BY 1, 2, 3 HAVING sum(p) <> 0 ORDER BY 2, 3
  ON CONFLICT (customer_company_id, issuer_company_id)
  DO UPDATE SET pending = t.pending + EXCLUDED.pending;"""
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN{body}\n"
        "  RETURN NULL;\nEND $$"
    )


PG_TRIGGERS = {
    'invoice_tally_insert': ('INSERT', 'NEW TABLE AS new_rows', [('new_rows', 1)], False),
    'invoice_tally_update': (
        'UPDATE',
        'OLD TABLE AS old_rows NEW TABLE AS new_rows',
        [('new_rows', 1), ('old_rows', -1)],
        False,
    ),
    'invoice_tally_delete': ('DELETE', 'OLD TABLE AS old_rows', [('old_rows', -1)], True),
}


def _month(row):
    return f"date({row}created_at, 'start of month')"


def _sqlite_add(row, condition='1'):
    return f"""
  INSERT INTO monthly_tally (tenant_id, issuer_company_id, month, invoices)
  SELECT {row}tenant_id, {row}issuer_company_id, {_month(row)}, 1 WHERE {condition}
  ON CONFLICT (issuer_company_id, month) DO UPDATE SET invoices = invoices + 1;"""


def _sqlite_add_pending(row):
    return f"""
  INSERT INTO pending_tally (tenant_id, customer_company_id, issuer_company_id, pending)
  SELECT {row}tenant_id, {row}customer_company_id, {row}issuer_company_id, 1
  WHERE {pending(row)}
  ON CONFLICT (customer_company_id, issuer_company_id) DO UPDATE SET pending = pending + 1;"""


def _sqlite_lower(row, condition='1'):
    return f"""
  UPDATE monthly_tally SET invoices = invoices - 1
  WHERE issuer_company_id = {row}issuer_company_id AND month = {_month(row)} AND {condition};
  UPDATE pending_tally SET pending = pending - 1
  WHERE customer_company_id = {row}customer_company_id
    AND issuer_company_id = {row}issuer_company_id AND {pending(row)};"""


MOVED = (
    f"({_month('OLD.')} IS NOT {_month('NEW.')} "
    "OR OLD.issuer_company_id IS NOT NEW.issuer_company_id)"
)
SQLITE_TRIGGERS = {
    'invoice_tally_insert': (
        'AFTER INSERT ON invoice',
        _sqlite_add('NEW.') + _sqlite_add_pending('NEW.'),
    ),
    'invoice_tally_update': (
        'AFTER UPDATE OF xml_downloaded_at, pdf_downloaded_at, pdf_key, '
        'customer_company_id, issuer_company_id, created_at ON invoice',
        _sqlite_lower('OLD.', MOVED) + _sqlite_add('NEW.', MOVED) + _sqlite_add_pending('NEW.'),
    ),
    'invoice_tally_delete': ('AFTER DELETE ON invoice', _sqlite_lower('OLD.')),
}


def _create_sqlite_triggers():
    for name, (event, body) in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {event} FOR EACH ROW BEGIN{body}\nEND")


def _create_pg_triggers():
    for name, (event, referencing, sources, lower_only) in PG_TRIGGERS.items():
        op.execute(_pg_function(name, sources, lower_only=lower_only))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON invoice REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


# The same rule as migration 0010's, for the two new tenant tables.
SPANNING = "(SELECT current_setting('app.all_tenants', true) = 'on')"
SAME_TENANT = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::int)"


def upgrade():
    op.create_table(
        'pending_tally',
        sa.Column('customer_company_id', sa.Integer(), nullable=False),
        sa.Column('issuer_company_id', sa.Integer(), nullable=False),
        sa.Column('pending', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['customer_company_id'], ['company.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['issuer_company_id'], ['company.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('customer_company_id', 'issuer_company_id'),
    )
    op.create_index('ix_pending_tally_tenant_id', 'pending_tally', ['tenant_id'])
    op.create_table(
        'monthly_tally',
        sa.Column('issuer_company_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('invoices', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['issuer_company_id'], ['company.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('issuer_company_id', 'month'),
    )
    op.create_index('ix_monthly_tally_tenant_id', 'monthly_tally', ['tenant_id'])
    postgres = op.get_bind().dialect.name == 'postgresql'
    month = "date_trunc('month', created_at)::date" if postgres else _month('')
    op.execute(
        "INSERT INTO monthly_tally (tenant_id, issuer_company_id, month, invoices) "
        f"SELECT tenant_id, issuer_company_id, {month}, count(*) FROM invoice GROUP BY 1, 2, 3"
    )
    op.execute(
        "INSERT INTO pending_tally (tenant_id, customer_company_id, issuer_company_id, pending) "
        "SELECT tenant_id, customer_company_id, issuer_company_id, count(*) FROM invoice "
        f"WHERE {pending()} GROUP BY 1, 2, 3"
    )
    if postgres:
        _create_pg_triggers()
        for table in ('pending_tally', 'monthly_tally'):
            op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
            rule = f'{SPANNING} OR {SAME_TENANT}'
            op.execute(
                f'CREATE POLICY tenant_isolation ON "{table}" USING ({rule}) WITH CHECK ({rule})'
            )
    else:
        _create_sqlite_triggers()
    # The dashboard no longer counts invoices: its two indexes only slowed every insert.
    op.drop_index('ix_invoice_tenant_issuer', table_name='invoice')
    op.drop_index('ix_invoice_tenant_created', table_name='invoice')


def downgrade():
    op.create_index(
        'ix_invoice_tenant_created', 'invoice', ['tenant_id', 'created_at', 'issuer_company_id']
    )
    op.create_index('ix_invoice_tenant_issuer', 'invoice', ['tenant_id', 'issuer_company_id'])
    postgres = op.get_bind().dialect.name == 'postgresql'
    for name in PG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON invoice" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_index('ix_monthly_tally_tenant_id', table_name='monthly_tally')
    op.drop_table('monthly_tally')
    op.drop_index('ix_pending_tally_tenant_id', table_name='pending_tally')
    op.drop_table('pending_tally')

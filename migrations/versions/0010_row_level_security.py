"""row-level security: every table with a tenant_id shows a transaction only its tenant's rows

The app sets two transaction-local settings before a transaction's first statement
(saas.tenancy.scoping): app.tenant_id (empty when no tenant is resolved) and
app.all_tenants ('on' only inside all_tenants()). FORCE makes the rule apply to the
tables' owner too, so the app may own its tables; only superusers and BYPASSRLS roles
skip it (the app warns at start when its role is one). SQLite has no such wall: there
the ORM's scoping is the only one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Listed here, not read from the models: a migration describes the schema of its day.
# tests/test_row_level_security.py fails when a table with a tenant_id has no policy.
TENANT_TABLES = (
    'tenant_domain', 'user', 'company', 'api_key', 'one_time_token', 'upload_batch',
    'invoice', 'download_event', 'export_job', 'seat_purchase', 'seat',
)
# Rows of no tenant are the platform's (its own mail and audit): seen where no tenant is.
OPTIONAL_TABLES = ('audit_event', 'outbox_message')

# Each setting is read in a sub-select, which PostgreSQL evaluates once per statement
# (an InitPlan) instead of once per row: the policy then costs a comparison per row.
SPANNING = "(SELECT current_setting('app.all_tenants', true) = 'on')"
SAME_TENANT = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::int)"
PLATFORM_ROW = (
    "tenant_id IS NULL AND (SELECT COALESCE(current_setting('app.tenant_id', true), '') = '')"
)


def _enable(table, rule):
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(
        f'CREATE POLICY tenant_isolation ON "{table}" USING ({rule}) WITH CHECK ({rule})'
    )


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TENANT_TABLES:
        _enable(table, f'{SPANNING} OR {SAME_TENANT}')
    for table in OPTIONAL_TABLES:
        _enable(table, f'{SPANNING} OR {SAME_TENANT} OR ({PLATFORM_ROW})')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TENANT_TABLES + OPTIONAL_TABLES:
        op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')

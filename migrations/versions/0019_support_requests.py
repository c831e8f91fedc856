"""support requests and their threads

A recipient opens a request (about one of their invoices, or not), with an optional
attachment; Support and Administrators answer it in a thread and close it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 02:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# The same rule as migration 0010's, for the two new tenant tables.
SPANNING = "(SELECT current_setting('app.all_tenants', true) = 'on')"
SAME_TENANT = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::int)"
TABLES = ("support_request", "support_message")


def upgrade():
    op.create_table(
        "support_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("customer_company_id", sa.Integer(), nullable=True),
        sa.Column("issuer_company_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_company_id"], ["company.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["issuer_company_id"], ["company.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["requester_id"], ["user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_support_request_requester_id", "support_request", ["requester_id"])
    op.create_index("ix_support_request_tenant_id", "support_request", ["tenant_id"])
    op.create_index(
        "ix_support_request_queue", "support_request", ["tenant_id", "status", "id"]
    )
    op.create_table(
        "support_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("from_staff", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment_key", sa.String(length=255), nullable=True),
        sa.Column("attachment_name", sa.String(length=200), nullable=True),
        sa.Column("attachment_type", sa.String(length=40), nullable=True),
        sa.Column("attachment_size", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["request_id"], ["support_request.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_support_message_request_id", "support_message", ["request_id"])
    op.create_index("ix_support_message_tenant_id", "support_message", ["tenant_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
            rule = f"{SPANNING} OR {SAME_TENANT}"
            op.execute(
                f'CREATE POLICY tenant_isolation ON "{table}" USING ({rule}) WITH CHECK ({rule})'
            )


def downgrade():
    op.drop_table("support_message")
    op.drop_table("support_request")

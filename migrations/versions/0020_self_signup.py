"""self sign-up: tenants that live in the database, and sign-ups waiting for their email

A tenant says where it comes from (`origin`: its file, or the sign-up page), whether it
is `active` or `suspended` by an operator, its own tax id (one portal per tax id and
country) and when its slug was changed (a signed-up tenant may change it once). A
`signup` row keeps the form until its one-time link is used.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 04:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs (no batch copy): SQLite keeps the tenant table as it is.
    op.add_column(
        "tenant", sa.Column("origin", sa.String(length=16), nullable=False, server_default="file")
    )
    op.add_column(
        "tenant",
        sa.Column("status", sa.String(length=16), nullable=False, server_default="active"),
    )
    op.add_column("tenant", sa.Column("tax_id", sa.String(length=32), nullable=True))
    op.add_column("tenant", sa.Column("slug_changed_at", sa.DateTime(), nullable=True))
    op.create_index("uq_tenant_country_tax_id", "tenant", ["country", "tax_id"], unique=True)
    op.create_table(
        "signup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("admin_name", sa.String(length=200), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("tax_id", sa.String(length=32), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_tenant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_tenant_id"], ["tenant.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_signup_email", "signup", ["email"])
    op.create_index("ix_signup_created_at", "signup", ["created_at"])


def downgrade():
    op.drop_index("ix_signup_created_at", table_name="signup")
    op.drop_index("ix_signup_email", table_name="signup")
    op.drop_table("signup")
    op.drop_index("uq_tenant_country_tax_id", table_name="tenant")
    for column in ("slug_changed_at", "tax_id", "status", "origin"):
        op.drop_column("tenant", column)

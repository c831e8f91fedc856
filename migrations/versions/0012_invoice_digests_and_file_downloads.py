"""invoice digests and per-file downloads

New invoices reach a recipient in one email per window (tenant.notify_window_minutes,
default 5; 0 = at once): notice_digest is that email, open while its invoices gather,
invoice_notice the invoices it tells of.

An invoice's XML and PDF are downloaded apart: invoice.xml_downloaded_at and
pdf_downloaded_at replace first_downloaded_at, which downloading either file set. They
are filled from the download events (a zip held both files); an export remembers the
files it holds (export_job.files; NULL for older exports: all their files).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:32:41
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

NEW_TENANT_TABLES = ('notice_digest', 'invoice_notice')
# Row-level security as migration 0010 sets it for every table with a tenant_id.
RULE = (
    "(SELECT current_setting('app.all_tenants', true) = 'on') OR "
    "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::int)"
)


def _first_download(kinds):
    return (
        "(SELECT MIN(download_event.created_at) FROM download_event"
        " WHERE download_event.invoice_id = invoice.id"
        f" AND download_event.what IN ({', '.join(repr(k) for k in kinds)}))"
    )


def upgrade():
    op.create_table('notice_digest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('open_for_user', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_message.id'], name=op.f('fk_notice_digest_outbox_message_id_outbox_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_notice_digest_tenant_id_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notice_digest_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_digest')),
    sa.UniqueConstraint('tenant_id', 'open_for_user', name=op.f('uq_notice_digest_tenant_id_open_for_user'))
    )
    with op.batch_alter_table('notice_digest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_digest_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_digest_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_digest_user_id'), ['user_id'], unique=False)

    op.create_table('invoice_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['notice_digest.id'], name=op.f('fk_invoice_notice_digest_id_notice_digest'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_notice_invoice_id_invoice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_invoice_notice_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_notice')),
    sa.UniqueConstraint('tenant_id', 'digest_id', 'invoice_id', name=op.f('uq_invoice_notice_tenant_id_digest_id_invoice_id'))
    )
    with op.batch_alter_table('invoice_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_notice_digest_id'), ['digest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_notice_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_notice_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        for table in NEW_TENANT_TABLES:
            op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
            op.execute(
                f'CREATE POLICY tenant_isolation ON "{table}" USING ({RULE}) WITH CHECK ({RULE})'
            )

    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files', sa.JSON(), nullable=True))

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('xml_downloaded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('pdf_downloaded_at', sa.DateTime(), nullable=True))
    # Which file each earlier download was: the events say (a zip held both).
    op.execute(
        f"UPDATE invoice SET xml_downloaded_at = {_first_download(('xml', 'zip'))}"
        " WHERE first_downloaded_at IS NOT NULL"
    )
    op.execute(
        f"UPDATE invoice SET pdf_downloaded_at = {_first_download(('pdf', 'zip'))}"
        " WHERE first_downloaded_at IS NOT NULL AND pdf_key IS NOT NULL"
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_column('first_downloaded_at')

    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_window_minutes', sa.Integer(), server_default='5', nullable=False))


def downgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('notify_window_minutes')

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_downloaded_at', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE invoice SET first_downloaded_at = CASE"
        " WHEN xml_downloaded_at IS NULL THEN pdf_downloaded_at"
        " WHEN pdf_downloaded_at IS NULL OR xml_downloaded_at <= pdf_downloaded_at"
        " THEN xml_downloaded_at ELSE pdf_downloaded_at END"
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_column('pdf_downloaded_at')
        batch_op.drop_column('xml_downloaded_at')

    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_column('files')

    with op.batch_alter_table('invoice_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_notice_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_notice_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_notice_digest_id'))

    op.drop_table('invoice_notice')
    with op.batch_alter_table('notice_digest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_digest_user_id'))
        batch_op.drop_index(batch_op.f('ix_notice_digest_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_notice_digest_due_at'))

    op.drop_table('notice_digest')

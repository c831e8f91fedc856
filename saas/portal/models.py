"""Invoices, their downloads, pending-download exports and the notices of new invoices."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Computed,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas import clock
from saas.extensions import Model
from saas.tenancy.models import TenantScoped


class Invoice(TenantScoped, Model):
    """One published invoice: metadata from its XML, files in storage."""

    __tablename__ = "invoice"
    __table_args__ = (
        # An invoice is its issuer's national id: a FatturaPA id is built from what the
        # sender writes, so two issuers may send the same one (see portal.publishing).
        UniqueConstraint("tenant_id", "issuer_company_id", "national_id"),
        Index("ix_invoice_national_id", "tenant_id", "national_id"),
        # The portal's list: one company's invoices, newest first, by keyset.
        Index(
            "ix_invoice_customer_listing", "tenant_id", "customer_company_id", "issue_date", "id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    customer_company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    number: Mapped[str] = mapped_column(String(64))
    # The number as the console's search compares it: computed by the database, so that
    # no way of inserting invoices (one, or a batch in bulk) can leave it out. Numbers
    # are ASCII in every format the portal reads: lower case is their folding.
    search_number: Mapped[str] = mapped_column(String(64), Computed("lower(number)"))
    kind: Mapped[str] = mapped_column(String(16))  # invoice | credit_note | debit_note
    issue_date: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Numeric(24, 6))
    tax_total: Mapped[Decimal] = mapped_column(Numeric(24, 6))
    # How many decimals the document states its amounts with: they are shown exactly so.
    amount_decimals: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="2")
    national_id: Mapped[str] = mapped_column(String(128))  # CUFE / CUDE, CFDI UUID, SdI-based
    format: Mapped[str] = mapped_column(String(16))
    xml_key: Mapped[str] = mapped_column(String(255))
    xml_sha256: Mapped[str] = mapped_column(String(64))
    # Size and CRC-32 of each file, so a zip of them needs no second pass over the bytes.
    xml_size: Mapped[int] = mapped_column(BigInteger)
    xml_crc32: Mapped[int] = mapped_column(BigInteger)
    pdf_key: Mapped[str | None] = mapped_column(String(255))
    pdf_size: Mapped[int | None] = mapped_column(BigInteger)
    pdf_crc32: Mapped[int | None] = mapped_column(BigInteger)
    # The PDF is the portal's printable copy, drawn from the XML (saas.portal.reading).
    pdf_generated: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # When the customer first downloaded each file (alone or in a zip): a file not yet
    # downloaded is pending, and "Pending downloads" zips exactly those.
    xml_downloaded_at: Mapped[datetime | None]
    pdf_downloaded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    issuer = relationship("Company", foreign_keys=[issuer_company_id], lazy="joined")
    customer = relationship("Company", foreign_keys=[customer_company_id], lazy="joined")

    @hybrid_property
    def downloaded(self) -> bool:
        """Every file of the invoice downloaded: its XML and, if it has one, its PDF."""
        return self.xml_downloaded_at is not None and (
            self.pdf_key is None or self.pdf_downloaded_at is not None
        )

    @downloaded.inplace.expression
    @classmethod
    def _downloaded_expression(cls):
        return and_(
            cls.xml_downloaded_at.is_not(None),
            or_(cls.pdf_key.is_(None), cls.pdf_downloaded_at.is_not(None)),
        )

    def file_name(self, ext: str) -> str:
        """`<issue-date>_<number>.<ext>`, safe for any file system and zip.

        Works on any row with number, issue_date and id (the zip job streams plain rows).
        """
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", self.number).strip("-.") or str(self.id)
        return f"{self.issue_date.isoformat()}_{safe}.{ext}"


# An invoice with a file not downloaded yet: the negation of `Invoice.downloaded`, spelt
# as the partial index below states it, so that the planner matches the two.
PENDING = or_(
    Invoice.xml_downloaded_at.is_(None),
    and_(Invoice.pdf_key.is_not(None), Invoice.pdf_downloaded_at.is_(None)),
)
# The pending-downloads zip reads only the invoices still pending, whatever the history.
Index(
    "ix_invoice_pending",
    Invoice.tenant_id,
    Invoice.customer_company_id,
    Invoice.issuer_company_id,
    postgresql_where=PENDING,
    sqlite_where=PENDING,
)
# The console's list and search, newest first by keyset over the whole tenant.
Index("ix_invoice_tenant_issue_date", Invoice.tenant_id, Invoice.issue_date, Invoice.id)
# The console's search by the start of a number (saas.textsearch.starts_with).
Index(
    "ix_invoice_number_prefix",
    Invoice.tenant_id,
    Invoice.search_number,
    postgresql_ops={"search_number": "text_pattern_ops"},
)

FILE_KINDS = ("xml", "pdf")


def undownloaded_files(row) -> list[str]:
    """The files of `row` (an Invoice or a plain row with its keys and download times)
    not downloaded yet, XML first."""
    files = [] if row.xml_downloaded_at is not None else ["xml"]
    if row.pdf_key is not None and row.pdf_downloaded_at is None:
        files.append("pdf")
    return files


class DownloadEvent(TenantScoped, Model):
    __tablename__ = "download_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    what: Mapped[str] = mapped_column(String(8))  # pdf | xml | zip
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class ExportJob(TenantScoped, Model):
    """A "pending downloads" zip, built by a job into storage, with its progress."""

    __tablename__ = "export_job"
    # At most one export being built per user: two clicks never build two zips at once.
    __table_args__ = (UniqueConstraint("tenant_id", "active_for_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # One company, or None for every company of the user.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed
    # The user's id while queued or running, NULL after (NULLs never collide).
    active_for_user: Mapped[int | None]
    invoice_ids: Mapped[list] = mapped_column(JSON, default=list)
    # The files it holds, [invoice id, "xml" | "pdf"] each: those pending when it was
    # asked for. NULL in exports made before files were told apart: all their files.
    files: Mapped[list | None] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    zip_key: Mapped[str | None] = mapped_column(String(255))
    zip_size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Set when a worker takes it and at each progress step: a running export whose
    # heartbeat is older than maintenance.WORK_LEASE lost its worker.
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    downloaded_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def file_pairs(self) -> list[tuple[int, str]]:
        """(invoice id, "xml" | "pdf") of each file the zip holds."""
        if self.files is None:
            return [(invoice_id, kind) for invoice_id in self.invoice_ids for kind in FILE_KINDS]
        return [(int(invoice_id), str(kind)) for invoice_id, kind in self.files]

    @property
    def percent(self) -> int:
        return (
            100 if self.status == "done" else int(100 * self.done / self.total) if self.total else 0
        )


class NoticeDigest(TenantScoped, Model):
    """One email telling a recipient of the invoices published for them within a short
    window (the tenant's `notify_window_minutes`), instead of one email per invoice.

    Open while `open_for_user` holds the recipient's id: invoices published meanwhile
    join it (saas.portal.notices). The job due at `due_at` claims it (open_for_user to
    NULL) and writes the one email to the outbox in the same transaction, so an invoice
    is told once: never lost with a failed job, never twice.
    """

    __tablename__ = "notice_digest"
    # At most one open digest per recipient: every invoice of a burst joins the same one.
    __table_args__ = (UniqueConstraint("tenant_id", "open_for_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # The recipient's id while open, NULL once claimed (NULLs never collide).
    open_for_user: Mapped[int | None]
    due_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class InvoiceNotice(TenantScoped, Model):
    """An invoice a digest tells its recipient of: written in the publishing transaction."""

    __tablename__ = "invoice_notice"
    __table_args__ = (UniqueConstraint("tenant_id", "digest_id", "invoice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(
        ForeignKey("notice_digest.id", ondelete="CASCADE"), index=True
    )
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )


# The tallies below are kept by the database itself: triggers on `invoice` (migration
# 0015) change them in the statement that inserts, updates or deletes invoices, so no
# way of writing invoices can leave them behind. Pages read them instead of counting
# invoices: their cost is the number of issuers and customers, never the history's.


class PendingTally(TenantScoped, Model):
    """How many invoices of one issuer to one customer have a file not downloaded yet."""

    __tablename__ = "pending_tally"

    customer_company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    issuer_company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    pending: Mapped[int]


class MonthlyTally(TenantScoped, Model):
    """How many invoices one issuer published in one month (by `Invoice.created_at`)."""

    __tablename__ = "monthly_tally"

    issuer_company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    month: Mapped[date] = mapped_column(primary_key=True)  # its first day
    invoices: Mapped[int]

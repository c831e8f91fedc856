"""Companies, their invoices, downloads and pending-download exports."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
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
    first_downloaded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    issuer = relationship("Company", foreign_keys=[issuer_company_id], lazy="joined")
    customer = relationship("Company", foreign_keys=[customer_company_id], lazy="joined")

    @property
    def downloaded(self) -> bool:
        return self.first_downloaded_at is not None

    def file_name(self, ext: str) -> str:
        """`<issue-date>_<number>.<ext>`, safe for any file system and zip.

        Works on any row with number, issue_date and id (the zip job streams plain rows).
        """
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", self.number).strip("-.") or str(self.id)
        return f"{self.issue_date.isoformat()}_{safe}.{ext}"


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
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    zip_key: Mapped[str | None] = mapped_column(String(255))
    zip_size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None]
    downloaded_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def percent(self) -> int:
        return (
            100 if self.status == "done" else int(100 * self.done / self.total) if self.total else 0
        )

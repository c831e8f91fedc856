"""A support request and the messages of its thread."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas import clock
from saas.extensions import Model
from saas.tenancy.models import TenantScoped

STATUSES = ("open", "answered", "closed")


class SupportRequest(TenantScoped, Model):
    __tablename__ = "support_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # Whose request it is (the requester's company) and which issuer it concerns (the
    # invoice's): staff limited to some issuers see only theirs.
    customer_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("company.id", ondelete="SET NULL")
    )
    issuer_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("company.id", ondelete="SET NULL")
    )
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")  # STATUSES
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    requester = relationship("User", foreign_keys=[requester_id], lazy="joined")
    invoice = relationship("Invoice", foreign_keys=[invoice_id])
    messages = relationship(
        "SupportMessage", order_by="SupportMessage.id", back_populates="request", lazy="selectin"
    )


# The queue: a tenant's requests of one status, oldest first.
Index(
    "ix_support_request_queue", SupportRequest.tenant_id, SupportRequest.status, SupportRequest.id
)


class SupportMessage(TenantScoped, Model):
    __tablename__ = "support_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("support_request.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    from_staff: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    attachment_key: Mapped[str | None] = mapped_column(String(255))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(40))
    attachment_size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    request = relationship("SupportRequest", back_populates="messages")
    author = relationship("User", foreign_keys=[author_id], lazy="joined")

"""A sign-up waiting for its email to be verified: the platform's row, not a tenant's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from saas import clock
from saas.extensions import Model


class Signup(Model):
    """What the sign-up form said, kept until its one-time link is used.

    Only the link's SHA-256 is kept (the raw token travels in the email only). The tenant
    exists once the link is used: `used_at` and `created_tenant_id` are set then, in the
    transaction that creates it. Not TenantScoped: it belongs to no tenant yet.
    """

    __tablename__ = "signup"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    admin_name: Mapped[str] = mapped_column(String(200))
    company_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    tax_id: Mapped[str] = mapped_column(String(32))
    plan: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenant.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)

"""Companies: the tenant's own issuers and its customers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas import clock
from saas.auth.models import membership
from saas.extensions import db
from saas.tenancy.models import TenantScoped


class Company(TenantScoped, db.Model):
    __tablename__ = "company"
    __table_args__ = (UniqueConstraint("tenant_id", "tax_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tax_id: Mapped[str] = mapped_column(String(32))  # normalised per country
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(254))  # registered address
    kind: Mapped[str] = mapped_column(String(16))  # issuer | customer
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    users = relationship("User", secondary=membership, back_populates="companies")

    def __repr__(self) -> str:
        return f"<Company {self.tax_id} {self.name}>"

"""Companies, issuers and customers, and the people who belong to them.

Below both `auth` (a user belongs to companies) and `portal` (an invoice is between two
companies), so neither feature imports the other's models for them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from saas import clock, textsearch
from saas.extensions import Model, db
from saas.tenancy.models import TenantScoped

membership = Table(
    "membership",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("company_id", ForeignKey("company.id", ondelete="CASCADE"), primary_key=True),
    # A recipient linked by an upload of staff limited to some issuer companies sees only
    # that issuer's invoices of the company (NULL: all of them). See portal.visibility.
    Column("issuer_company_id", ForeignKey("company.id", ondelete="CASCADE"), nullable=True),
)


class Company(TenantScoped, Model):
    __tablename__ = "company"
    __table_args__ = (UniqueConstraint("tenant_id", "tax_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tax_id: Mapped[str] = mapped_column(String(32))  # normalised per country
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(254))  # registered address
    kind: Mapped[str] = mapped_column(String(16))  # issuer | customer
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Why the company's people were not told of its latest invoice, for staff to act
    # on: "invalid_address" (detail: the address its XML names). None when all is well.
    mail_problem: Mapped[str | None] = mapped_column(String(32))
    mail_problem_detail: Mapped[str | None] = mapped_column(String(300))
    # What the console's search compares, kept with every write of `name` and `tax_id`
    # (the validators below): the name without accents or case, the tax id without
    # separators ("800765432-3" -> "8007654323"). No index: a tenant's customers are
    # scanned (thousands of rows, about 2 ms), see saas.textsearch.
    search_name: Mapped[str] = mapped_column(String(300), default="", server_default="")
    search_tax_id: Mapped[str] = mapped_column(String(32), default="", server_default="")

    users = relationship(
        "User",
        secondary=membership,
        primaryjoin="Company.id == membership.c.company_id",
        secondaryjoin="User.id == membership.c.user_id",
        back_populates="companies",
    )

    @validates("name")
    def _fold_name(self, _key: str, name: str) -> str:
        self.search_name = textsearch.fold(name)
        return name

    @validates("tax_id")
    def _compact_tax_id(self, _key: str, tax_id: str) -> str:
        self.search_tax_id = textsearch.compact_tax_id(tax_id)
        return tax_id

    def __repr__(self) -> str:
        return f"<Company {self.tax_id} {self.name}>"

"""The tenant: an invoice-issuing business with its own portal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from saas import clock
from saas.extensions import Model

COUNTRIES = {
    # country: (currency, timezone, tax id label)
    "CO": ("COP", "America/Bogota", "NIT"),
    "IT": ("EUR", "Europe/Rome", "Partita IVA / Codice fiscale"),
    "MX": ("MXN", "America/Mexico_City", "RFC"),
}


# Where a tenant comes from: its file under tenants/ (`tenants sync` owns it), or the
# platform's sign-up page (it lives in the database only; `tenants sync` never touches it).
ORIGINS = ("file", "signup")
# A suspended tenant's pages and API answer 403 (saas.tenancy); nothing else changes.
STATUSES = ("active", "suspended")


class Tenant(Model):
    __tablename__ = "tenant"
    # One portal per company: a tax id signs up once in its country.
    __table_args__ = (Index("uq_tenant_country_tax_id", "country", "tax_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    locales: Mapped[list] = mapped_column(JSON)
    login_methods: Mapped[list] = mapped_column(JSON)
    password_reset: Mapped[str] = mapped_column(String(16))
    onboarding: Mapped[str] = mapped_column(String(32))
    password_max_age_days: Mapped[int] = mapped_column(default=0)
    magic_link_minutes: Mapped[int] = mapped_column(default=30)
    # New invoices within this many minutes reach a recipient in one email (0 = at once).
    notify_window_minutes: Mapped[int] = mapped_column(default=5, server_default="5")
    plan: Mapped[str] = mapped_column(String(32))
    primary_color: Mapped[str] = mapped_column(String(7))
    accent_color: Mapped[str | None] = mapped_column(String(7))
    logo_key: Mapped[str | None] = mapped_column(String(255))
    logo_content_type: Mapped[str | None] = mapped_column(String(64))
    support_phones: Mapped[list] = mapped_column(JSON, default=list)
    # Settings an Administrator changed in the console: `tenants sync` leaves them alone.
    console_settings: Mapped[list] = mapped_column(JSON, default=list)
    origin: Mapped[str] = mapped_column(String(16), default="file", server_default="file")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    # The company's own tax id, normalised (saas.einvoice.taxids); file tenants have none.
    tax_id: Mapped[str | None] = mapped_column(String(32))
    # A signed-up tenant may change its slug once (its first one is derived from the name).
    slug_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantDomain.host"
    )

    @property
    def default_locale(self) -> str:
        return self.locales[0]

    @property
    def suspended(self) -> bool:
        return self.status == "suspended"

    @property
    def tax_id_label(self) -> str:
        return COUNTRIES[self.country][2]

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantScoped:
    """Mixin for every tenant-owned table: a non-null, indexed tenant_id.

    Queries of such models are limited to the current tenant automatically, and a
    query with no tenant raises (see saas.tenancy.scoping): no caller writes the filter.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)


class TenantOptional:
    """Mixin for tables whose rows belong to a tenant or to the platform (tenant_id
    null): audit events and mail. A tenant's context sees its rows; outside one, the
    platform's."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)


class TenantDomain(TenantScoped, Model):
    """A host name that serves one tenant's pages at its root."""

    __tablename__ = "tenant_domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")

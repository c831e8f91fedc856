"""Seats: a tenant's staff users beyond the owner, each holding one seat.

A seat comes from the plan (its included extra users) or from an activated purchase
(one year). A seat is free, assigned (to a user, active or deactivated) or burned (its
user was deleted and the plan does not release it); a seat of an expired purchase is
expired. Rows are never deleted: the history of who held what stays.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas import clock
from saas.extensions import Model
from saas.tenancy.models import TenantScoped

# A purchase leaves "pending" once, for one of the three decisions; "active" ends "expired".
STATUSES = ("pending", "active", "rejected", "cancelled", "expired")


class SeatPurchase(TenantScoped, Model):
    __tablename__ = "seat_purchase"

    id: Mapped[int] = mapped_column(primary_key=True)
    quantity: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    subtotal: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    tax: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    # pending, then active (then expired), rejected or cancelled: see STATUSES.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    activated_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # What the operator typed when activating: the bank transfer or invoice it was paid by.
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    # The operator who activated or rejected it (an email: operators may be deleted later).
    decided_by: Mapped[str | None] = mapped_column(String(254))
    rejected_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    tenant = relationship("Tenant")


class Seat(TenantScoped, Model):
    __tablename__ = "seat"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: one of the plan's included seats; else the purchase it came with.
    purchase_id: Mapped[int | None] = mapped_column(
        ForeignKey("seat_purchase.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="free")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

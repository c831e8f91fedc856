"""Buying seats: the price, the request (acknowledged to the Administrator who asked),
the decision on it (the platform's activation for one year with the payment reference,
an operator's rejection with a reason, or the tenant's cancellation while pending), the
reminder before expiry, and at expiry the most recently created users deactivated
(never deleted) when fewer seats remain than holders.

A purchase leaves "pending" once: each decision is one conditional write (claim()), so
of two operators clicking, or an operator and the tenant's Administrator, one wins and
the other is told it is no longer pending, with nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import g
from sqlalchemy import select, update

from saas import audit, clock
from saas.auth.models import User
from saas.auth.services import (
    end_other_sessions,
)
from saas.extensions import db
from saas.jobs import job
from saas.mail import absolute_url, email_user, send_email
from saas.platform.models import PlatformAdmin
from saas.seats.ledger import SeatError, plan_of, seats_in
from saas.seats.models import Seat, SeatPurchase
from saas.transactions import claim
from saas.validation import has_control_characters

PURCHASE_TERM = timedelta(days=365)
REMIND_BEFORE = timedelta(days=30)
MAX_PURCHASE = 100
MAX_REFERENCE = 100  # SeatPurchase.payment_reference
MAX_REASON = 500  # SeatPurchase.rejection_reason


@dataclass
class Price:
    quantity: int
    currency: str
    unit_price: Decimal
    tax_rate: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def price(tenant, quantity: int) -> Price:
    plan = plan_of(tenant)
    unit = plan.extra_user_price[tenant.currency]
    rate = plan.tax_rate[tenant.currency]
    cents = Decimal("0.01")
    subtotal = (unit * quantity).quantize(cents, ROUND_HALF_UP)
    tax = (subtotal * rate).quantize(cents, ROUND_HALF_UP)
    return Price(quantity, tenant.currency, unit, rate, subtotal, tax, subtotal + tax)


def request_purchase(tenant, by: User, quantity: int) -> SeatPurchase:
    """A pending purchase; the platform's operators are emailed to confirm it."""
    if not 1 <= quantity <= MAX_PURCHASE:
        raise SeatError("quantity")
    quote = price(tenant, quantity)
    purchase = SeatPurchase(
        tenant_id=tenant.id,
        quantity=quantity,
        currency=quote.currency,
        unit_price=quote.unit_price,
        tax_rate=quote.tax_rate,
        subtotal=quote.subtotal,
        tax=quote.tax,
        total=quote.total,
        requested_by=by.id,
    )
    db.session.add(purchase)
    db.session.flush()
    audit.record("seats.requested", user_id=by.id, purchase=purchase.id, quantity=quantity)
    # The Administrator who asked gets what they asked for, its price, and what happens next.
    email_user(
        by,
        "seats_requested_ack",
        tenant=tenant,
        purchase=purchase,
        link=absolute_url("seats.buy_seats", tenant=tenant.slug) + "#purchases",
    )
    for operator in db.session.scalars(select(PlatformAdmin)):
        send_email(
            operator.email,
            "seats_requested",
            tenant=tenant,
            locale="en",
            purchase=purchase,
            requester=by,
            link=absolute_url("platform.index"),
        )
    return purchase


def _admins() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.role == "admin",
                User.active.is_(True),
                User.deleted_at.is_(None),
            )
        )
    )


def _tell_admins(tenant, template: str, purchase: SeatPurchase, page: str) -> None:
    """Email every active Administrator of `tenant` about `purchase`, linking to `page`."""
    for admin in _admins():
        email_user(
            admin,
            template,
            tenant=tenant,
            purchase=purchase,
            link=absolute_url(page, tenant=tenant.slug),
        )


def tenant_purchases() -> list[SeatPurchase]:
    """The tenant's purchases, newest first: what the Buy page lists."""
    return list(
        db.session.scalars(
            select(SeatPurchase).order_by(SeatPurchase.created_at.desc(), SeatPurchase.id.desc())
        )
    )


def _one_line(text: str | None, limit: int, code: str) -> str:
    """An operator's text for the record and the tenant's email: required, one line."""
    text = " ".join((text or "").split())
    if not text or len(text) > limit or has_control_characters(text):
        raise SeatError(code)
    return text


def _decide(purchase: SeatPurchase, status: str, **values) -> None:
    """Take the purchase out of "pending", once: SeatError("not_pending") for the loser."""
    if not claim(
        SeatPurchase,
        SeatPurchase.id == purchase.id,
        SeatPurchase.status == "pending",
        status=status,
        **values,
    ):
        raise SeatError("not_pending")  # nothing written: someone else decided first
    db.session.refresh(purchase)


def activate_purchase(
    purchase: SeatPurchase, operator: PlatformAdmin, payment_reference: str
) -> None:
    """Confirm a pending, paid purchase: its seats exist for a year; the Administrators
    are told. `payment_reference` (the transfer or invoice it was paid by) is kept."""
    reference = _one_line(payment_reference, MAX_REFERENCE, "payment_reference")
    now = clock.now()
    _decide(
        purchase,
        "active",
        activated_at=now,
        expires_at=now + PURCHASE_TERM,
        payment_reference=reference,
        decided_by=operator.email,
    )
    for _ in range(purchase.quantity):
        db.session.add(Seat(tenant_id=purchase.tenant_id, purchase_id=purchase.id, state="free"))
    tenant = purchase.tenant
    audit.record(
        "seats.activated",
        tenant_id=tenant.id,
        purchase=purchase.id,
        quantity=purchase.quantity,
        operator=operator.email,
        reference=reference,
    )
    _tell_admins(tenant, "seats_activated", purchase, "seats.users")


def reject_purchase(purchase: SeatPurchase, operator: PlatformAdmin, reason: str) -> None:
    """An operator turns a pending purchase down; the tenant's Administrators get why."""
    why = _one_line(reason, MAX_REASON, "reason")
    _decide(
        purchase,
        "rejected",
        rejected_at=clock.now(),
        rejection_reason=why,
        decided_by=operator.email,
    )
    audit.record(
        "seats.rejected",
        tenant_id=purchase.tenant_id,
        purchase=purchase.id,
        operator=operator.email,
        reason=why,
    )
    _tell_admins(purchase.tenant, "seats_rejected", purchase, "seats.buy_seats")


def cancel_purchase(purchase: SeatPurchase, by: User) -> None:
    """The tenant's Administrator withdraws a purchase that is still pending."""
    _decide(purchase, "cancelled", cancelled_at=clock.now(), cancelled_by=by.id)
    audit.record("seats.cancelled", user_id=by.id, purchase=purchase.id)


def expire_purchases(tenant) -> int:
    """Remind 30 days before a purchase expires; at expiry take its seats away.

    Returns how many purchases expired. Seats beyond what remains are taken from the
    most recently created users, who are deactivated (never deleted).
    """
    now = clock.now()
    for purchase in db.session.scalars(
        select(SeatPurchase).where(
            SeatPurchase.status == "active",
            SeatPurchase.reminded_at.is_(None),
            SeatPurchase.expires_at <= now + REMIND_BEFORE,
            SeatPurchase.expires_at > now,
        )
    ).all():
        # Claimed like every other change of a purchase: two daily runs send one reminder.
        if claim(
            SeatPurchase,
            SeatPurchase.id == purchase.id,
            SeatPurchase.reminded_at.is_(None),
            reminded_at=now,
        ):
            _tell_admins(tenant, "seats_expiring", purchase, "seats.buy_seats")
    candidates = db.session.scalars(
        select(SeatPurchase).where(
            SeatPurchase.status == "active",
            SeatPurchase.expires_at <= now,
        )
    ).all()
    expired = [
        purchase
        for purchase in candidates
        if claim(
            SeatPurchase,
            SeatPurchase.id == purchase.id,
            SeatPurchase.status == "active",
            status="expired",
        )
    ]
    displaced: set[int] = set()
    for purchase in expired:
        displaced |= set(
            db.session.scalars(
                select(Seat.user_id).where(
                    Seat.purchase_id == purchase.id, Seat.state == "assigned"
                )
            )
        )
        db.session.execute(
            update(Seat)
            .where(Seat.purchase_id == purchase.id)
            .values(state="expired", user_id=None)
            .execution_options(synchronize_session=False)
        )
        audit.record("seats.expired", tenant_id=tenant.id, purchase=purchase.id)
    if expired:
        _rebalance(tenant, displaced)
    return len(expired)


def _rebalance(tenant, displaced: set[int]) -> None:
    """After seats expired: holders keep seats oldest first; the newest lose theirs."""
    db.session.flush()
    db.session.expire_all()
    holding = select(Seat.user_id).where(Seat.state == "assigned")
    holders = list(
        db.session.scalars(
            select(User)
            .where(User.deleted_at.is_(None))
            .where(User.id.in_(holding) | User.id.in_(displaced or {0}))
            .order_by(User.created_at, User.id)
        )
    )
    # Every seat that can still be held, whoever holds it now, is dealt out again.
    usable = db.session.scalars(
        seats_in("free", "assigned").order_by(Seat.purchase_id.is_not(None), Seat.id)
    ).all()
    for seat in usable:
        seat.state, seat.user_id = "free", None
    keep, lose = holders[: len(usable)], holders[len(usable) :]
    for user, seat in zip(keep, usable, strict=False):
        seat.state, seat.user_id = "assigned", user.id
    for user in lose:
        if user.active:
            user.active = False
            end_other_sessions(user)  # and its API keys are revoked at the flush (apikeys)
        audit.record("user.unseated", tenant_id=tenant.id, target=user.id)


@job(queue="default")
def expire_seat_purchases() -> int:
    """The daily task: reminders 30 days before, and expiry, of the tenant's purchases."""
    return expire_purchases(g.tenant)

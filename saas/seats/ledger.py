"""The seat ledger: how many seats a tenant has (its plan's plus those of active
purchases) and who holds them.

Rules (as Factura.com does it): the tenant's first Administrator (the owner) holds no
seat. Every other staff user holds one seat while they exist, active or deactivated.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from saas.auth.models import User
from saas.extensions import db
from saas.plans import PLANS, Plan
from saas.seats.models import Seat, SeatPurchase
from saas.transactions import claim


class SeatError(ValueError):
    """A seat rule stops the action; `code` says which (the page words it)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def plan_of(tenant) -> Plan:
    return PLANS[tenant.plan]


def seats_in(*states):
    return select(Seat).where(Seat.state.in_(states))


def _missing_plan_seats(tenant) -> int:
    have = db.session.execute(
        select(func.count(Seat.id)).where(Seat.purchase_id.is_(None), Seat.state != "expired")
    ).scalar_one()
    return max(0, plan_of(tenant).extra_users_included - have)


def ensure_plan_seats(tenant) -> None:
    """The plan's included seats exist as rows (a plan change up adds the missing ones).
    Written only by what takes a seat: reading the ledger writes nothing."""
    for _ in range(_missing_plan_seats(tenant)):
        db.session.add(Seat(tenant_id=tenant.id, state="free"))
    db.session.flush()


@dataclass
class SeatSummary:
    total: int
    assigned: int
    burned: int
    free: int
    pending: int  # seats bought but not yet activated

    @property
    def in_use(self) -> int:
        return self.assigned + self.burned


def summary(tenant) -> SeatSummary:
    """The ledger as it stands; plan seats not yet written as rows count as free."""
    counts = dict(
        db.session.execute(select(Seat.state, func.count(Seat.id)).group_by(Seat.state)).all()
    )
    pending = db.session.execute(
        select(func.coalesce(func.sum(SeatPurchase.quantity), 0)).where(
            SeatPurchase.status == "pending"
        )
    ).scalar_one()
    assigned, burned, free = (counts.get(s, 0) for s in ("assigned", "burned", "free"))
    free += _missing_plan_seats(tenant)
    return SeatSummary(assigned + burned + free, assigned, burned, free, int(pending))


def seat_holders() -> set[int]:
    """Ids of the tenant's users who hold a seat now."""
    return set(db.session.scalars(select(Seat.user_id).where(Seat.state == "assigned")))


def seat_of(user: User) -> Seat | None:
    return db.session.scalars(
        select(Seat).where(Seat.user_id == user.id, Seat.state == "assigned")
    ).first()


def take_seat(tenant, user: User) -> None:
    """Give `user` a free seat, claimed with a conditional write (two admins, one seat)."""
    ensure_plan_seats(tenant)
    candidates = db.session.scalars(
        seats_in("free").order_by(Seat.purchase_id.is_not(None), Seat.id)
    ).all()
    for seat in candidates:
        if claim(Seat, Seat.id == seat.id, Seat.state == "free", state="assigned", user_id=user.id):
            db.session.expire(seat)
            return
    raise SeatError("no_free_seat")

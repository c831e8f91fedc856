"""Staff users as seats: creating, editing, deactivating and deleting them; buying seats.

Rules (as Factura.com does it): the tenant's first Administrator (the owner) holds no
seat. Every other staff user holds one seat while they exist, active or deactivated,
so an Administrator can deactivate a user and later edit that user's data for another
person. Deleting a user burns the seat unless the plan's `delete_releases_seat` says
otherwise. Seats = the plan's included ones + those of activated purchases (one year);
when a purchase expires and fewer seats remain than holders, the most recently
created users are deactivated (never deleted) and lose their seat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import g
from sqlalchemy import func, select, update

from saas import audit, clock
from saas.auth.apikeys import revoke_user_keys
from saas.auth.models import User
from saas.auth.passwords import password_problem
from saas.auth.services import (
    UserError,
    change_password,
    checked_email,
    checked_name,
    create_staff_user,
    end_other_sessions,
    find_user_by_email,
    unique_username,
)
from saas.extensions import db
from saas.jobs import job
from saas.mail import absolute_url, send_email
from saas.plans import PLANS, Plan
from saas.seats.models import PlatformAdmin, Seat, SeatPurchase

PURCHASE_TERM = timedelta(days=365)
REMIND_BEFORE = timedelta(days=30)
MAX_PURCHASE = 100


class SeatError(ValueError):
    """A seat rule stops the action; `code` says which (the page words it)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def plan_of(tenant) -> Plan:
    return PLANS[tenant.plan]


def _seats(*states):
    return select(Seat).where(Seat.state.in_(states))


def ensure_plan_seats(tenant) -> None:
    """The plan's included seats exist as rows (a plan change up adds the missing ones)."""
    have = db.session.scalar(
        select(func.count(Seat.id)).where(Seat.purchase_id.is_(None), Seat.state != "expired")
    )
    for _ in range(plan_of(tenant).extra_users_included - have):
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
    ensure_plan_seats(tenant)
    counts = dict(
        db.session.execute(select(Seat.state, func.count(Seat.id)).group_by(Seat.state)).all()
    )
    pending = db.session.scalar(
        select(func.coalesce(func.sum(SeatPurchase.quantity), 0)).where(
            SeatPurchase.status == "pending"
        )
    )
    assigned, burned, free = (counts.get(s, 0) for s in ("assigned", "burned", "free"))
    return SeatSummary(assigned + burned + free, assigned, burned, free, int(pending))


def seat_holders() -> set[int]:
    """Ids of the tenant's users who hold a seat now."""
    return set(db.session.scalars(select(Seat.user_id).where(Seat.state == "assigned")))


def seat_of(user: User) -> Seat | None:
    return db.session.scalars(
        select(Seat).where(Seat.user_id == user.id, Seat.state == "assigned")
    ).first()


def _take_seat(tenant, user: User) -> None:
    """Give `user` a free seat, claimed with a conditional write (two admins, one seat)."""
    ensure_plan_seats(tenant)
    candidates = db.session.scalars(
        _seats("free").order_by(Seat.purchase_id.is_not(None), Seat.id)
    ).all()
    for seat in candidates:
        claimed = db.session.execute(
            update(Seat)
            .where(Seat.id == seat.id, Seat.state == "free")
            .values(state="assigned", user_id=user.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            db.session.expire(seat)
            return
    raise SeatError("no_free_seat")


def staff_users() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.kind == "staff", User.deleted_at.is_(None))
            .order_by(User.is_owner.desc(), User.name)
        )
    )


def _active_admins() -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(
            User.kind == "staff",
            User.role == "admin",
            User.active.is_(True),
            User.deleted_at.is_(None),
        )
    )


def _guard_last_admin(user: User) -> None:
    if user.is_owner:
        raise SeatError("owner")
    if user.role == "admin" and user.active and _active_admins() <= 1:
        raise SeatError("last_admin")


def create_user(tenant, by: User | None, *, name, email, password, role, companies=()) -> User:
    """A new staff user holding a free seat (the tenant's first Administrator holds none).

    Raises SeatError("no_free_seat") or UserError; nothing is written then.
    """
    try:
        user = create_staff_user(
            tenant, email=email, name=name, role=role, password=password, companies=companies
        )
        if not user.is_owner:
            _take_seat(tenant, user)
        if by is not None:  # an Administrator chose the password: changed at first sign-in
            user.must_change_password = True
        audit.record("seat.assigned", user_id=by.id if by else None, target=user.id)
        db.session.commit()
    except (SeatError, UserError):
        db.session.rollback()
        raise
    return user


def update_user(tenant, by: User, user: User, *, name, email, role, companies, password=None):
    """Edit any field; the seat stays with the row.

    A new email address means another person takes the seat: they get a username of
    their own and must be given a password, and what the previous person held (their
    sessions, their API keys) ends. A password set by someone else is changed at the
    first sign-in. The owner's email and password are the owner's alone to change.
    """
    if user.is_owner and role != "admin":
        raise SeatError("owner")
    if user.role == "admin" and role != "admin":
        _guard_last_admin(user)
    email, name = checked_email(email), checked_name(name)
    new_person = email != user.email
    if user.is_owner and by.id != user.id and (new_person or password):
        raise SeatError("owner_credentials")
    if (
        user.is_owner
        and by.id != user.id
        and {c.id for c in companies} != {c.id for c in user.companies}
    ):
        raise SeatError("owner_scope")  # the owner's scope is the owner's alone to change
    other = find_user_by_email(email)
    if other is not None and other.id != user.id:
        raise UserError(f"{email} already has an account", "email_taken")
    if new_person and not password:
        raise UserError("another person needs a password of their own", "password_required")
    username = unique_username(email) if new_person else user.username
    if password:
        problem = password_problem(password, email=email, username=username)
        if problem:
            raise UserError(problem, "weak_password")
    changed = [
        f
        for f, new in (("name", name), ("email", email), ("role", role))
        if getattr(user, f) != new
    ]
    user.name, user.email, user.role, user.username = name, email, role, username
    user.companies = list(companies)
    if new_person:
        # The seat changes hands: nothing of the previous person's access carries over.
        end_other_sessions(user)
        revoke_user_keys(user, "user_replaced")
    if password:
        change_password(user, password, reason="set_by_admin" if by.id != user.id else "changed")
        user.must_change_password = by.id != user.id
    audit.record("user.updated", user_id=by.id, target=user.id, fields=changed)
    db.session.commit()


def deactivate_user(tenant, by: User, user: User) -> None:
    """The user can no longer sign in or use an API key; the seat stays assigned."""
    _guard_last_admin(user)
    user.active = False
    end_other_sessions(user)
    revoke_user_keys(user, "user_deactivated")
    audit.record("user.deactivated", user_id=by.id, target=user.id)
    db.session.commit()


def reactivate_user(tenant, by: User, user: User) -> None:
    """A deactivated user comes back; one who lost the seat at an expiry needs a free one."""
    if not user.is_owner and seat_of(user) is None:
        try:
            _take_seat(tenant, user)
        except SeatError:
            db.session.rollback()
            raise
    user.active = True
    audit.record("user.reactivated", user_id=by.id, target=user.id)
    db.session.commit()


def delete_user(tenant, by: User, user: User) -> None:
    """The user stops existing for sign-in; the row and its history stay. The seat burns."""
    _guard_last_admin(user)
    seat = seat_of(user)
    releases = plan_of(tenant).delete_releases_seat
    if seat is not None:
        seat.state = "free" if releases else "burned"
        if releases:
            seat.user_id = None
    user.active = False
    user.deleted_at = clock.now()
    revoke_user_keys(user, "user_deleted")
    # The address and username become free for a new user; the originals stay in the audit.
    original = (user.email, user.username)
    user.email = f"deleted-{user.id}.{user.email}"[:254]
    user.username = f"deleted-{user.id}.{user.username}"[:64]
    end_other_sessions(user)
    audit.record(
        "user.deleted", user_id=by.id, target=user.id, email=original[0], username=original[1]
    )
    db.session.commit()


# --- buying seats ---------------------------------------------------------------------------


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
    db.session.commit()
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
        send_email(
            admin.email,
            template,
            tenant=tenant,
            locale=admin.locale,
            purchase=purchase,
            user=admin,
            link=absolute_url(page, tenant=tenant.slug),
        )


def activate_purchase(purchase: SeatPurchase, operator: PlatformAdmin) -> None:
    """Confirm a pending purchase: its seats exist for a year; the Administrators are told."""
    claimed = db.session.execute(
        update(SeatPurchase)
        .where(SeatPurchase.id == purchase.id, SeatPurchase.status == "pending")
        .values(
            status="active",
            activated_at=clock.now(),
            expires_at=clock.now() + PURCHASE_TERM,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise SeatError("not_pending")
    db.session.refresh(purchase)
    for _ in range(purchase.quantity):
        db.session.add(Seat(tenant_id=purchase.tenant_id, purchase_id=purchase.id, state="free"))
    tenant = purchase.tenant
    audit.record(
        "seats.activated",
        tenant_id=tenant.id,
        purchase=purchase.id,
        quantity=purchase.quantity,
        operator=operator.email,
    )
    _tell_admins(tenant, "seats_activated", purchase, "console.users")
    db.session.commit()


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
    ):
        purchase.reminded_at = now
        _tell_admins(tenant, "seats_expiring", purchase, "console.buy_seats")
    expired = db.session.scalars(
        select(SeatPurchase).where(
            SeatPurchase.status == "active",
            SeatPurchase.expires_at <= now,
        )
    ).all()
    displaced: set[int] = set()
    for purchase in expired:
        purchase.status = "expired"
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
    db.session.commit()
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
        _seats("free", "assigned").order_by(Seat.purchase_id.is_not(None), Seat.id)
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

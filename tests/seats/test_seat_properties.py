"""Seat accounting as properties: any sequence of actions keeps the books straight."""

from datetime import timedelta

import pytest
from flask import g
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select

from saas import clock
from saas.auth.models import User
from saas.extensions import db
from saas.platform.models import PlatformAdmin
from saas.seats import ledger, purchases, staff_accounts
from saas.seats.models import Seat, SeatPurchase
from tests.conftest import empty_all_tables
from tests.factories import make_tenant

PASSWORD = "correct horse battery staple"


@pytest.fixture
def seat_app(app):
    return app


def machine_for(app):
    class SeatBooks(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.ctx = app.test_request_context("/")
            self.ctx.push()
            clock.freeze()
            empty_all_tables()
            self.tenant = make_tenant("books", plan="pyme", currency="MXN", country="MX")
            g.tenant = self.tenant
            self.operator = PlatformAdmin(email="ops@platform.test", name="Ops", password_hash="x")
            db.session.add(self.operator)
            db.session.commit()
            self.owner = staff_accounts.create_user(
                self.tenant, None, name="Owner", email="owner@x.mx", password=PASSWORD, role="admin"
            )
            self.n = 0
            self.burned: set[int] = set()
            self.rows = 1

        def teardown(self):
            db.session.rollback()
            clock.reset()
            self.ctx.pop()

        def users(self, **criteria):
            query = (
                select(User)
                .where(
                    User.tenant_id == self.tenant.id,
                    User.is_owner.is_(False),
                    User.deleted_at.is_(None),
                )
                .filter_by(**criteria)
            )
            return db.session.scalars(query.order_by(User.id)).all()

        @rule(role=st.sampled_from(["admin", "biller", "accountant", "support"]))
        def create(self, role):
            self.n += 1
            try:
                staff_accounts.create_user(
                    self.tenant,
                    self.owner,
                    name=f"U{self.n}",
                    email=f"u{self.n}@x.mx",
                    password=PASSWORD,
                    role=role,
                )
                self.rows += 1
            except ledger.SeatError as error:
                assert error.code == "no_free_seat"
                assert ledger.summary(self.tenant).free == 0

        @rule(data=st.data())
        def deactivate(self, data):
            users = self.users(active=True)
            if users:
                user = data.draw(st.sampled_from(users))
                held = ledger.seat_of(user)
                staff_accounts.deactivate_user(self.tenant, self.owner, user)
                assert ledger.seat_of(user) == held  # the seat stays assigned

        @rule(data=st.data())
        def reactivate(self, data):
            users = self.users(active=False)
            if users:
                user = data.draw(st.sampled_from(users))
                try:
                    staff_accounts.reactivate_user(self.tenant, self.owner, user)
                except ledger.SeatError as error:
                    assert error.code == "no_free_seat"

        @rule(data=st.data(), role=st.sampled_from(["admin", "biller", "accountant", "support"]))
        def edit(self, data, role):
            """Another person takes the seat (new address, new password) or the same one
            gets another profile."""
            users = self.users()
            if users:
                user = data.draw(st.sampled_from(users))
                self.n += 1
                new_person = data.draw(st.booleans())
                held = ledger.seat_of(user)
                staff_accounts.update_user(
                    self.tenant,
                    self.owner,
                    user,
                    name=f"Someone {self.n}",
                    email=f"other{self.n}@x.mx" if new_person else user.email,
                    role=role,
                    companies=[],
                    password=f"{PASSWORD} {self.n}" if new_person else None,
                )
                assert ledger.seat_of(user) == held  # the seat stays with the row

        @rule(action=st.sampled_from(["deactivate", "delete", "demote"]))
        def touch_the_owner(self, action):
            """Nobody removes or demotes the owner, the admin who can never go."""
            with pytest.raises(ledger.SeatError):
                if action == "demote":
                    staff_accounts.update_user(
                        self.tenant,
                        self.owner,
                        self.owner,
                        name="Owner",
                        email=self.owner.email,
                        role="biller",
                        companies=[],
                    )
                else:
                    getattr(staff_accounts, f"{action}_user")(self.tenant, self.owner, self.owner)
            db.session.rollback()

        @rule(data=st.data())
        def delete(self, data):
            users = self.users()
            if users:
                user = data.draw(st.sampled_from(users))
                seat = ledger.seat_of(user)
                staff_accounts.delete_user(self.tenant, self.owner, user)
                if seat is not None:
                    self.burned.add(seat.id)

        @rule(quantity=st.integers(min_value=1, max_value=3))
        def purchase(self, quantity):
            purchases.request_purchase(self.tenant, self.owner, quantity)

        @rule()
        def activate(self):
            pending = db.session.scalars(
                select(SeatPurchase).where(SeatPurchase.status == "pending")
            ).first()
            if pending is not None:
                purchases.activate_purchase(pending, self.operator, "TR-1")

        @rule(days=st.integers(min_value=1, max_value=400))
        def time_passes(self, days):
            clock.travel(timedelta(days=days))
            purchases.expire_purchases(self.tenant)

        @invariant()
        def books_balance(self):
            db.session.commit()  # each rule is a request of its own; commit reads anew
            counts = dict(
                db.session.execute(
                    select(Seat.state, func.count(Seat.id))
                    .where(Seat.tenant_id == self.tenant.id)
                    .group_by(Seat.state)
                ).all()
            )
            total = sum(counts.get(s, 0) for s in ("free", "assigned", "burned"))
            # Seats that exist: at most the plan's included ones plus active purchases'.
            bought = db.session.scalar(
                select(func.coalesce(func.sum(SeatPurchase.quantity), 0)).where(
                    SeatPurchase.tenant_id == self.tenant.id, SeatPurchase.status == "active"
                )
            )
            assert total <= ledger.plan_of(self.tenant).extra_users_included + bought
            # Every assigned seat has one living user, and nobody holds two.
            holders = db.session.scalars(
                select(Seat.user_id).where(
                    Seat.tenant_id == self.tenant.id, Seat.state == "assigned"
                )
            ).all()
            assert None not in holders and len(holders) == len(set(holders))
            for user_id in holders:
                assert db.session.get(User, user_id).deleted_at is None
            # An active staff user other than the owner always holds a seat.
            for user in self.users(active=True):
                assert user.id in holders
            assert not any(
                u.is_owner
                for u in db.session.scalars(select(User).where(User.id.in_(holders or [0])))
            )

        @invariant()
        def burned_seats_stay_burned(self):
            for seat_id in self.burned:
                assert db.session.get(Seat, seat_id).state in ("burned", "expired")

        @invariant()
        def the_owner_stays_an_active_administrator(self):
            owner = db.session.get(User, self.owner.id)
            assert owner.active and owner.role == "admin" and owner.deleted_at is None

        @invariant()
        def nothing_is_deleted(self):
            count = db.session.scalar(
                select(func.count(User.id)).where(User.tenant_id == self.tenant.id)
            )
            assert count == self.rows

    return SeatBooks


def test_seat_books_always_balance(seat_app):
    machine = machine_for(seat_app)
    machine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine.TestCase().runTest()

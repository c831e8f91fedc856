"""One owner of each transaction (saas.transactions): a request commits what it wrote
when its view answers and rolls it back when the view raises; a job commits at its end
and may checkpoint; every CLI command owns its own; services only add and flush."""

from __future__ import annotations

import pytest
from flask import abort, g
from sqlalchemy import func, select

from saas import clock, transactions
from saas.auth.models import User
from saas.extensions import db
from saas.seats import ledger, staff_accounts
from saas.seats.models import Seat
from saas.tenancy import all_tenants
from saas.tenancy.models import Tenant
from tests.auth.conftest import sign_in
from tests.factories import PASSWORD, make_tenant, make_user


def _names(app, tenant_id) -> set[str]:
    with app.app_context(), all_tenants():
        return set(db.session.scalars(select(User.name).where(User.tenant_id == tenant_id)))


@pytest.fixture
def writing_app(app):
    """Views that write a user's name and then answer in different ways."""

    def write(name):
        user = db.session.get(User, int(g.user_id))
        user.name = name

    @app.get("/test/<int:user_id>/<how>")
    def answer(user_id, how):
        g.user_id = user_id
        with all_tenants():
            write(f"by {how}")
        if how == "refused":
            return "no", 422  # an answer: what it recorded stands (an audit row, a spent token)
        if how == "aborted":
            abort(404)  # a raise: nothing it wrote stands
        if how == "checkpoint":
            transactions.checkpoint()
        return "ok"

    with app.app_context():
        tenant = make_tenant("owners")
        tenant_id, user_id = tenant.id, make_user(tenant, name="before").id
    return app, tenant_id, user_id


@pytest.mark.parametrize(
    ("how", "status", "name"),
    [("answered", 200, "by answered"), ("refused", 422, "by refused"), ("aborted", 404, "before")],
)
def test_a_request_commits_what_its_view_answered_and_not_what_it_raised(
    writing_app, how, status, name
):
    app, tenant_id, user_id = writing_app
    assert app.test_client().get(f"/test/{user_id}/{how}").status_code == status
    assert _names(app, tenant_id) == {name}


def test_a_request_may_not_commit_half_way(writing_app):
    app, tenant_id, user_id = writing_app
    with pytest.raises(RuntimeError, match="a request commits once"):
        app.test_client().get(f"/test/{user_id}/checkpoint")
    assert _names(app, tenant_id) == {"before"}


def test_a_claim_is_won_once(ctx):
    tenant = make_tenant("claims")
    user = make_user(tenant, name="x")
    won = [
        transactions.claim(
            User, User.id == user.id, User.welcomed_at.is_(None), welcomed_at=clock.now()
        )
        for _ in range(2)
    ]
    assert won == [True, False]


@pytest.mark.committed  # on SQLite, what opens the transaction is the point
def test_a_refused_service_undoes_only_its_own_rows(app):
    """A savepoint nests inside the owner's transaction, also on SQLite (where pysqlite
    would otherwise let the savepoint open, and its RELEASE commit, the transaction)."""
    with app.app_context():
        tenant = make_tenant("nest", plan="pyme")
        owner = make_user(tenant, name="Owner", is_owner=True)
        tenant_id, owner_id = tenant.id, owner.id
    with app.app_context():
        g.tenant = tenant = db.session.get(Tenant, tenant_id)
        owner = db.session.get(User, owner_id)
        free = ledger.summary(tenant).free
        assert free >= 1
        # The first write of the transaction is inside a savepoint.
        made = [
            staff_accounts.create_user(
                tenant,
                owner,
                name=f"U{n}",
                email=f"u{n}@nest.test",
                password=PASSWORD,
                role="biller",
            )
            for n in range(free)
        ]
        owner.name = "Renamed"
        with pytest.raises(ledger.SeatError):
            staff_accounts.create_user(
                tenant,
                owner,
                name="One too many",
                email="x@nest.test",
                password=PASSWORD,
                role="biller",
            )
        assert len(made) == free
        assert db.session.scalar(select(func.count(User.id))) == free + 1  # none of the refused
        db.session.rollback()  # the owner gives up: the savepoints' RELEASE committed nothing
    assert _names(app, tenant_id) == {"Owner"}


def test_reading_the_seat_ledger_writes_nothing(app):
    """The Users page and the platform index show seats without creating their rows."""
    with app.app_context():
        tenant = make_tenant("reads", plan="pyme")
        make_user(tenant, email="owner@reads.test", username="owner", is_owner=True)
        included, tenant_id = ledger.plan_of(tenant).extra_users_included, tenant.id
    client = app.test_client()
    assert sign_in(client, "reads", "owner", PASSWORD).status_code == 302
    page = client.get("/t/reads/console/users")
    assert page.status_code == 200
    with app.app_context(), all_tenants():
        assert db.session.scalar(select(func.count(Seat.id))) == 0
        g.tenant = db.session.get(Tenant, tenant_id)
        assert ledger.summary(g.tenant).free == included


def test_every_command_owns_its_transaction(app):
    """A command that writes and does not commit would lose its work in production, and
    the suite would not see it (a test's own block commits): so each says who owns it."""
    # They run jobs (or queue them, the scheduler), and each job owns its transaction.
    not_writing = {"worker", "scheduler"}

    def commands(group, prefix=""):
        for name, command in getattr(group, "commands", {}).items():
            yield from commands(command, f"{prefix}{name} ")
            if command.callback is not None:
                yield f"{prefix}{name}", command.callback

    ours = [(n, cb) for n, cb in commands(app.cli) if cb.__module__.startswith("saas")]
    assert len(ours) >= 12
    missing = [
        n for n, cb in ours if n not in not_writing and not getattr(cb, "owns_transaction", False)
    ]
    assert missing == []


def test_jobs_wait_for_the_real_commit_and_a_savepoints_rollback_drops_only_its_own(ctx):
    """Releasing a savepoint is not a commit; rolling one back forgets only what was
    queued inside it."""
    from saas import jobs

    ran: list[str] = []

    @jobs.job()
    def note(what):
        ran.append(what)

    note.task_path = "tests.test_transactions:_NOTE"
    globals()["_NOTE"] = note
    tenant = make_tenant("queue")
    make_user(tenant)  # commits; the next read opens a transaction
    db.session.scalars(select(User)).all()
    jobs.enqueue(note, None, "before")
    with db.session.begin_nested():
        jobs.enqueue(note, None, "kept")
    with pytest.raises(ValueError), db.session.begin_nested():
        jobs.enqueue(note, None, "dropped")
        raise ValueError
    assert ran == []  # the savepoints' release ran nothing
    db.session.commit()
    assert ran == ["before", "kept"]

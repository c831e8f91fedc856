"""Tenant scoping in the ORM: every statement of a tenant model is about the current
tenant, a statement with no tenant raises, and spanning tenants takes all_tenants()."""

from __future__ import annotations

import pytest
from flask import g
from lxml import html
from sqlalchemy import delete, func, insert, select, update

from saas.audit import AuditEvent
from saas.auth.models import User
from saas.companies import Company, membership
from saas.extensions import db
from saas.tenancy import NoTenantError, all_tenants, as_tenant
from saas.tenancy.models import Tenant
from tests.auth.conftest import csrf_from
from tests.factories import PASSWORD, CompanyFactory, TenantFactory, UserFactory, make_user


@pytest.fixture
def two(ctx):
    """Tenants a and b, a company and a user each; a's user is (wrongly) also linked to
    b's company, so a relationship load has something to leak."""
    a, b = TenantFactory(slug="alpha"), TenantFactory(slug="beta")
    tenant_ids = a.id, b.id
    ids = {
        "ca": CompanyFactory(tenant=a, name="Alpha SA").id,
        "ua": UserFactory(tenant=a, kind="recipient").id,
        "cb": CompanyFactory(tenant=b, name="Beta SA").id,
        "ub": UserFactory(tenant=b, kind="recipient").id,
    }
    with all_tenants():
        db.session.execute(
            insert(membership),
            [
                {"user_id": ids["ua"], "company_id": ids["ca"]},
                {"user_id": ids["ua"], "company_id": ids["cb"]},
            ],
        )
        db.session.commit()
    db.session.expunge_all()  # nothing answered from the identity map
    ids["a"], ids["b"] = (db.session.get(Tenant, n) for n in tenant_ids)
    g.pop("tenant", None)
    return ids


@pytest.mark.parametrize(
    "statement",
    [
        lambda: select(Company),
        lambda: select(func.count(User.id)),
        lambda: select(Company.name).join(User.companies.property.mapper.class_),
        lambda: update(Company).values(name="x"),
        lambda: delete(User),
    ],
    ids=["select", "count", "join", "update", "delete"],
)
def test_a_statement_with_no_tenant_raises(two, statement):
    with pytest.raises(NoTenantError, match="queried with no tenant"):
        db.session.execute(statement())


def test_reads_see_only_the_current_tenant(two):
    g.tenant = two["a"]
    assert [c.id for c in db.session.scalars(select(Company))] == [two["ca"]]
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert db.session.get(Company, two["cb"]) is None
    names = db.session.scalars(select(Company.name).select_from(User).join(User.companies))
    assert names.all() == ["Alpha SA"]


def test_relationship_loads_follow_the_rule(two):
    g.tenant = two["a"]
    user = db.session.get(User, two["ua"])
    assert [c.id for c in user.companies] == [two["ca"]]


def test_bulk_update_and_delete_touch_only_the_current_tenant(two):
    g.tenant = two["a"]
    assert db.session.execute(update(Company).values(name="Renamed")).rowcount == 1
    gone = db.session.execute(delete(User).where(User.id == two["ub"])).rowcount
    assert gone == 0
    db.session.commit()
    with all_tenants():
        names = db.session.scalars(select(Company.name).order_by(Company.id)).all()
        assert names == ["Renamed", "Beta SA"]
        assert db.session.get(User, two["ub"]) is not None


def test_new_rows_take_the_current_tenant_and_refuse_another(two):
    g.tenant = two["b"]
    company = Company(tax_id="800111222", name="New", kind="customer")
    db.session.add(company)
    db.session.flush()
    assert company.tenant_id == two["b"].id
    db.session.add(Company(tenant_id=two["a"].id, tax_id="800111223", name="X", kind="customer"))
    with pytest.raises(NoTenantError, match="written in tenant"):
        db.session.flush()
    db.session.rollback()


def test_all_tenants_spans_and_as_tenant_narrows_again(two):
    with all_tenants():
        assert db.session.scalar(select(func.count(Company.id))) == 2
        with as_tenant(two["b"]):
            assert [c.id for c in db.session.scalars(select(Company))] == [two["cb"]]
        assert db.session.scalar(select(func.count(Company.id))) == 2
    assert g.get("tenant") is None
    with pytest.raises(NoTenantError):
        db.session.scalar(select(func.count(Company.id)))


def test_platform_rows_of_optional_tables_are_seen_only_outside_a_tenant(two):
    with all_tenants():
        db.session.add_all(
            [
                AuditEvent(event="test.platform", tenant_id=None),
                AuditEvent(event="test.alpha", tenant_id=two["a"].id),
                AuditEvent(event="test.beta", tenant_id=two["b"].id),
            ]
        )
        db.session.commit()
    mine = select(AuditEvent.event).where(AuditEvent.event.like("test.%"))
    assert db.session.scalars(mine).all() == ["test.platform"]
    g.tenant = two["a"]
    assert db.session.scalars(mine).all() == ["test.alpha"]
    g.tenant = two["b"]
    assert db.session.scalars(mine).all() == ["test.beta"]


def test_the_platform_console_counts_each_tenants_seats_apart(app, tenants):
    """Its pages span tenants (span_all_tenants) and visit each one with as_tenant()."""
    from saas.platform.views import create_platform_admin
    from saas.seats import ledger

    with app.app_context(), all_tenants():
        create_platform_admin(email="ops@p.test", name="Ops", password=PASSWORD)
        included = {
            t.name: ledger.plan_of(t).extra_users_included
            for t in db.session.scalars(select(Tenant))
        }
    ops = app.test_client()
    page = ops.get("/platform/login").text
    form = {"csrf_token": csrf_from(page), "email": "ops@p.test", "password": PASSWORD}
    assert ops.post("/platform/login", data=form).status_code == 302
    ops.get("/platform/?lang=en")  # the first view creates each plan's seat rows
    rows = html.fromstring(ops.get("/platform/?lang=en").text).xpath(
        "//article[header/h2='Tenants']//tbody/tr"
    )
    shown = {r.xpath("string(td[1]/a)").strip(): int(r.xpath("string(td[4])")) for r in rows}
    assert shown == included and len(set(included.values())) > 1


def test_a_job_given_another_tenants_row_does_nothing_and_says_so(app, tenants, caplog):
    """Every job runs as the tenant it was queued for; an id of another tenant's row (a
    misrouted or forged job) changes nothing and leaves a warning."""
    from saas.console.models import UploadBatch
    from saas.console.uploads import process_upload
    from saas.jobs import run_task
    from saas.mail import OutboxMessage, deliver, send_email
    from saas.portal.exports import build_export
    from saas.portal.models import ExportJob

    with app.app_context():
        tenant = tenants["intertec"].load()
        user = make_user(tenant, role="biller")
        send_email("ana@example.com", "test", tenant=tenant)
        rows = [
            ExportJob(user_id=user.id, status="queued"),
            UploadBatch(user_id=user.id, status="queued"),
        ]
        db.session.add_all(rows)
        db.session.commit()
        message = db.session.scalars(select(OutboxMessage)).one()
        ids = {"mail": message.id, "export": rows[0].id, "batch": rows[1].id}
        before = (message.status, message.attempts)
    caplog.set_level("WARNING", logger="saas.jobs")
    other = tenants["azteca"].id
    for task, ident in ((deliver, "mail"), (build_export, "export"), (process_upload, "batch")):
        with app.app_context():
            assert run_task(task.task_path, other, ids[ident]) is None
    warnings = [r.getMessage() for r in caplog.records if r.name == "saas.jobs"]
    assert len(warnings) == 3 and all(f"is not tenant {other}'s" in w for w in warnings)
    with app.app_context(), all_tenants():
        message = db.session.get(OutboxMessage, ids["mail"])
        assert (message.status, message.attempts) == before
        assert db.session.get(ExportJob, ids["export"]).status == "queued"
        assert db.session.get(UploadBatch, ids["batch"]).status == "queued"

"""Row-level security, the second wall: PostgreSQL itself shows a transaction only its
tenant's rows, whatever SQL reaches it (migration 0010, saas.tenancy.scoping)."""

from __future__ import annotations

import logging

import pytest
from flask import g
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from saas.extensions import db
from saas.tenancy import all_tenants
from tests.conftest import APP_ROLE, base_config, postgres_server_url
from tests.invoices import ubl_invoice
from tests.portal.conftest import publish_for

# Its checks look through other connections (a plain engine, a raw pooled connection).
pytestmark = [pytest.mark.postgres, pytest.mark.committed]


@pytest.fixture
def pg(database_url):
    if not database_url.startswith("postgresql"):
        from tests.conftest import require

        require("PostgreSQL", "DATABASE_URL is not set")
    engine = create_engine(database_url)  # plain: none of the app's hooks
    yield engine
    engine.dispose()


@pytest.fixture
def published(app, tenants, pg):
    """Invoices at Intertec, and a company at each tenant."""
    ids = publish_for(app, "intertec", ubl_invoice("RLS-1")) + publish_for(
        app, "intertec", ubl_invoice("RLS-2")
    )
    from saas.tenancy import load_tenant
    from tests.factories import make_company

    with app.app_context():
        for slug in ("adriatica", "azteca"):
            make_company(load_tenant(slug))
    return ids


def test_the_suite_runs_as_a_role_that_rls_applies_to(pg):
    with pg.connect() as conn:
        role, bypasses = conn.execute(
            text(
                "SELECT rolname, rolsuper OR rolbypassrls FROM pg_roles "
                "WHERE rolname = current_user"
            )
        ).one()
    assert (role, bypasses) == (APP_ROLE, False)


def test_every_table_with_a_tenant_id_has_rls_forced_and_a_policy(pg):
    with pg.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "  (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN information_schema.columns col "
                "  ON col.table_name = c.relname AND col.table_schema = n.nspname "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
                "  AND col.column_name = 'tenant_id'"
            )
        ).all()
    assert len(tables) >= 13
    for name, enabled, forced, policies in tables:
        assert (name, enabled, forced, policies) == (name, True, True, 1)


def test_raw_sql_with_no_tenant_set_sees_nothing(published, pg):
    with pg.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM invoice")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM company")).scalar() == 0
        assert conn.execute(text("UPDATE company SET name = 'x'")).rowcount == 0


def test_raw_sql_sees_the_tenant_it_sets_and_all_only_when_asked(published, tenants, pg):
    intertec, azteca = tenants["intertec"].id, tenants["azteca"].id
    with pg.connect() as conn:
        count = "SELECT count(*) FROM invoice"
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(azteca)})
        assert conn.execute(text(count)).scalar() == 0
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(intertec)})
        assert conn.execute(text(count)).scalar() == 2
        companies = conn.execute(text("SELECT DISTINCT tenant_id FROM company")).scalars()
        assert set(companies) == {intertec}
        conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
        assert conn.execute(text("SELECT count(DISTINCT tenant_id) FROM company")).scalar() == 3
        conn.commit()
        # Transaction-local: the next transaction on the same connection starts with none.
        assert conn.execute(text(count)).scalar() == 0


def test_a_row_for_another_tenant_cannot_be_written(published, tenants, pg):
    with pg.connect() as conn:
        conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenants["azteca"].id)}
        )
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(
                text(
                    "INSERT INTO company (tenant_id, tax_id, name, kind) "
                    "VALUES (:t, 'X1', 'X', 'customer')"
                ),
                {"t": tenants["intertec"].id},
            )


def test_the_apps_sql_gets_the_wall_too(app, published, tenants):
    """A statement the ORM's criteria never see (text()) is still held to the tenant."""
    with app.app_context():
        g.tenant = tenants["azteca"].load()
        assert db.session.execute(text("SELECT count(*) FROM invoice")).scalar() == 0
        db.session.commit()
        g.tenant = tenants["intertec"].load()
        assert db.session.execute(text("SELECT count(*) FROM invoice")).scalar() == 2
        db.session.commit()
        with all_tenants():
            assert db.session.execute(text("SELECT count(*) FROM company")).scalar() >= 3


def test_a_pooled_connection_carries_no_tenant_into_the_next_use(app, published, tenants):
    assert app.test_client().get("/t/intertec/login").status_code == 200
    with app.app_context():
        raw = db.engine.raw_connection()  # the DBAPI connection, past the app's hooks
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT current_setting('app.tenant_id', true), count(*) FROM invoice")
            setting, count = cursor.fetchone()
            raw.rollback()
        finally:
            raw.close()
    assert (setting or "", count) == ("", 0)


def test_a_role_that_bypasses_rls_is_warned_about_at_start(pg, database_url, tmp_path, caplog):
    server = postgres_server_url()
    superuser = server.rsplit("/", 1)[0] + "/" + database_url.rsplit("/", 1)[1]
    from saas import create_app

    caplog.set_level(logging.WARNING, logger="saas.tenancy.scoping")
    app = create_app(base_config(tmp_path, DATABASE_URL=superuser))
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        db.engine.dispose()
    assert any("row-level security" in r.getMessage() for r in caplog.records)

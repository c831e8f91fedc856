"""Tenant resolution by URL and host, url_for, and the tenant-scoped loaders."""

import pytest
from flask import g, url_for
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from saas.companies import Company
from saas.extensions import db
from saas.tenancy import NoTenantError, all_tenants, current_tenant, get_or_404
from tests.factories import CompanyFactory, TenantFactory, make_company, make_tenant


def test_tenant_page_by_slug(client, tenants):
    response = client.get("/t/intertec/")
    assert response.status_code == 200
    assert "Intertec" in response.text


def test_unknown_slug_is_404(client, tenants):
    response = client.get("/t/nobody/")
    assert response.status_code == 404
    assert "Intertec" not in response.text


def test_tenant_domain_serves_its_pages_at_the_root(client, tenants):
    response = client.get("/", headers={"Host": "fatture.adriatica.localhost"})
    assert response.status_code == 200
    assert "Fatture Adriatica" in response.text
    # Links on the tenant's own host have no /t/<slug> prefix.
    assert 'href="/theme.css' in response.text or 'href="/theme.css?' in response.text
    assert "/t/adriatica" not in response.text
    theme = client.get("/theme.css", headers={"Host": "fatture.adriatica.localhost"})
    assert theme.status_code == 200 and "#1b6e43" in theme.text


def test_unknown_host_is_404_but_health_answers(client, tenants):
    assert client.get("/", headers={"Host": "evil.example.com"}).status_code == 404
    assert client.get("/t/intertec/", headers={"Host": "evil.example.com"}).status_code == 404
    assert client.get("/healthz", headers={"Host": "10.0.0.7"}).status_code == 200


def test_url_for_fills_the_slug(app, tenants):
    with app.test_request_context("/t/intertec/"):
        app.preprocess_request()
        assert url_for("site.theme") == "/t/intertec/theme.css"
        assert url_for("site.home", tenant="azteca") == "/t/azteca/"


def test_scoped_loader_404s_on_another_tenants_row(other_tenant, ctx):
    g.tenant = TenantFactory()
    mine, theirs = CompanyFactory(tenant=g.tenant).id, other_tenant.company_id
    assert get_or_404(Company, mine).id == mine
    with pytest.raises(NotFound):
        get_or_404(Company, theirs)
    with pytest.raises(NotFound):
        get_or_404(Company, "not-a-number")
    assert [c.id for c in db.session.scalars(select(Company))] == [mine]


def test_no_tenant_is_an_error_never_all_tenants(ctx):
    make_company(make_tenant())
    g.pop("tenant", None)
    with pytest.raises(NoTenantError):
        db.session.scalars(select(Company)).all()
    with pytest.raises(NoTenantError):
        current_tenant.id  # noqa: B018


def test_same_tax_id_in_two_tenants_is_allowed(ctx):
    a, b = make_tenant(), make_tenant()
    make_company(a, tax_id="900123456")
    make_company(b, tax_id="900123456")
    with all_tenants():
        assert db.session.query(Company).count() == 2


def test_every_tenant_owned_table_keeps_to_the_rules():
    """Non-null, indexed tenant_id; every unique constraint starts with it."""
    from sqlalchemy import UniqueConstraint

    from saas import models  # noqa: F401  every model
    from saas.extensions import db
    from saas.tenancy.models import TenantScoped

    # Random values (tokens) are unique on their own: no tenant's data in them.
    random_values = {
        ("user", "session_token"),
        ("one_time_token", "token_hash"),
        ("api_key", "key_hash"),
        # A host serves one tenant on the whole platform.
        ("tenant_domain", "host"),
    }
    owned = [m for m in db.Model.__subclasses__() if issubclass(m, TenantScoped)]
    assert len(owned) >= 10, [m.__name__ for m in owned]
    for model in owned:
        table = model.__table__
        column = table.c.tenant_id
        assert not column.nullable, table.name
        indexed = column.index or any(
            next(iter(index.columns)) is column for index in table.indexes
        )
        assert indexed, table.name
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                first = next(iter(constraint.columns))
                if (table.name, first.name) not in random_values:
                    assert first is column, (table.name, constraint.name)

"""The platform console's view of new tenants (pending, active, suspended), suspending one,
and `tenants sync`, which never touches a tenant that signed up by itself."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from saas.auth import apikeys
from saas.auth.models import User
from saas.extensions import db
from saas.platform.views import create_platform_admin
from saas.tenancy import all_tenants, load_tenant
from saas.tenancy.files import TenantFileError
from saas.tenancy.models import Tenant
from saas.tenancy.services import sync_tenants
from tests import html
from tests.auth.conftest import csrf_from, sign_in
from tests.conftest import ROOT
from tests.factories import PASSWORD
from tests.signup.conftest import FORM, sign_up


def operator(app):
    with app.app_context():
        create_platform_admin(email="ops@platform.test", name="Ops", password=PASSWORD)
    client = app.test_client()
    login = client.get("/platform/login")
    data = {"csrf_token": csrf_from(login.text), "email": "ops@platform.test"}
    assert client.post("/platform/login", data={**data, "password": PASSWORD}).status_code == 302
    return client


def tenant_id(app, slug) -> int:
    with app.app_context(), all_tenants():
        return load_tenant(slug).id


def status_of(page, name) -> str:
    rows = page.xpath(f"//table[@id='tenants']/tbody/tr[td[1]/a='{name}']")
    assert len(rows) == 1, name
    return html.text(rows[0], "td[2]")


def test_the_console_lists_sign_ups_and_tenants_with_their_status(app, signed_up):
    _client, slug = signed_up
    sign_up(
        app.test_client(),
        company_name="Rossi S.r.l.",
        country="IT",
        tax_id="12345670017",
        email="rossi@rossi.test",
    )
    ops = operator(app)
    page = html.doc(ops.get("/platform/?lang=en"))
    assert status_of(page, "Ferretería Núñez S.A.S.") == "Active"
    assert status_of(page, "Intertec") == "Active"
    origin = html.text(page, "//table[@id='tenants']//tr[td[1]/a='Ferretería Núñez S.A.S.']//small")
    assert origin.startswith(f"{slug} · Sign-up · ")
    [pending] = page.xpath("//table[@id='signups']/tbody/tr")
    assert html.texts(pending, "td")[:4] == [
        "Rossi S.r.l. Italy",
        "Pending verification",
        "12345670017",
        "Nora Núñez <rossi@rossi.test>",
    ]
    # In the operator's language too.
    spanish = html.doc(ops.get("/platform/?lang=es"))
    assert html.text(spanish, "//table[@id='signups']//td[2]") == "Pendiente de verificación"


def test_an_operator_suspends_a_tenant_and_reactivates_it(app, signed_up):
    client, slug = signed_up
    with app.app_context():
        tenant = load_tenant(slug)
        from flask import g

        g.tenant = tenant
        owner = db.session.scalars(select(User)).one()
        _row, key = apikeys.create_api_key(owner)
        db.session.commit()
    ident = tenant_id(app, slug)
    ops = operator(app)
    page = ops.get(f"/platform/tenants/{ident}?lang=en")
    facts = html.doc(page)
    assert html.text(facts, "//td[@id='tenant-status']") == "Active"
    assert "Nora Núñez (nora@ferreteria.test)" in html.text(facts, "//article[@id='tenant']")
    token = csrf_from(page.text)
    no_reason = ops.post(f"/platform/tenants/{ident}/suspend?lang=en", data={"csrf_token": token})
    assert no_reason.status_code == 422
    assert html.field_error(no_reason, "reason") == "Say why the tenant is suspended."
    done = ops.post(
        f"/platform/tenants/{ident}/suspend?lang=en",
        data={"csrf_token": token, "reason": "Unpaid"},
    )
    assert done.status_code == 303
    assert (
        html.text(
            html.doc(ops.get(f"/platform/tenants/{ident}?lang=en")), "//td[@id='tenant-status']"
        )
        == "Suspended"
    )

    # Its pages, its console and its API are closed; its colours still load for the page.
    for path in (f"/t/{slug}/", f"/t/{slug}/login", f"/t/{slug}/console/"):
        answer = client.get(f"{path}?lang=es")
        assert answer.status_code == 403, path
        assert html.text(html.doc(answer), "//h1") == "Portal suspendido"
    api = app.test_client().get(
        f"/t/{slug}/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}
    )
    assert api.status_code == 403 and api.get_json()["error"] == "tenant_suspended"
    assert client.get(f"/t/{slug}/theme.css").status_code == 200
    # Nor does a Google sign-in coming back to it open a session.
    back_from_google = app.test_client().get(f"/auth/google/callback?state={slug}.x&lang=es")
    assert back_from_google.status_code == 403
    # Other tenants are untouched.
    assert client.get("/t/intertec/login").status_code == 200

    with app.app_context():  # no daily reminders that would link to closed pages
        from saas.daily import daily_tasks, run_daily

        assert run_daily() == 3 * len(daily_tasks())  # the three file tenants only

    back = ops.post(f"/platform/tenants/{ident}/reactivate?lang=en", data={"csrf_token": token})
    assert back.status_code == 303
    assert client.get(f"/t/{slug}/console/").status_code == 200
    with app.app_context(), all_tenants():
        from saas.audit import AuditEvent

        events = db.session.scalars(
            select(AuditEvent.event).where(
                AuditEvent.tenant_id == ident, AuditEvent.event.like("tenant.%")
            )
        ).all()
        assert events[-2:] == ["tenant.suspended", "tenant.reactivated"]


def test_only_an_operator_suspends(app, signed_up, tenants):
    client, slug = signed_up
    ident = tenant_id(app, slug)
    token = csrf_from(client.get(f"/t/{slug}/console/").text)
    # The tenant's own Administrator is no operator: the platform's sign-in page.
    answer = client.post(
        f"/platform/tenants/{ident}/suspend", data={"csrf_token": token, "reason": "x"}
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/platform/login")
    ops = operator(app)
    assert ops.get("/platform/tenants/999999").status_code == 404
    with app.app_context(), all_tenants():
        assert load_tenant(slug).status == "active"


def test_sync_never_touches_a_signed_up_tenant(app, signed_up, tmp_path):
    _client, slug = signed_up
    with app.app_context():
        # The shipped files: the signed-up tenant is not theirs, and stays as it is.
        results = dict(sync_tenants())
        assert slug not in results and set(results.values()) == {"unchanged"}
        db.session.commit()
        # A file of the same name is refused, and nothing changes.
        folder = tmp_path / "tenants"
        shutil.copytree(ROOT / "tenants", folder)
        shutil.copytree(folder / "intertec", folder / slug)
        copy = folder / slug / "tenant.toml"
        copy.write_text(copy.read_text().replace('tax_id = "900123456-8"', ""))
        with pytest.raises(TenantFileError) as refused:
            sync_tenants(folder)
        assert f"tenant {slug!r} signed up by itself" in str(refused.value)
        # Nor may a file claim the company's tax id: one portal per tax id.
        shutil.rmtree(folder / slug)
        file = folder / "azteca" / "tenant.toml"
        file.write_text(
            file.read_text()
            .replace('country = "MX"', 'country = "CO"')
            .replace('tax_id = "AZT010101AB1"', 'tax_id = "830012345-9"')
        )
        with pytest.raises(TenantFileError) as refused:
            sync_tenants(folder)
        assert f"tax_id: '830012345-9' is the tax id of tenant {slug!r}" in str(refused.value)
        db.session.rollback()
    with app.app_context(), all_tenants():
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        assert (tenant.name, tenant.origin, tenant.tax_id) == (
            FORM["company_name"],
            "signup",
            "830012345-9",
        )


def test_a_signed_up_tenant_isolated_from_the_others(app, signed_up, tenants):
    """The new tenant's Administrator reaches none of another tenant's pages, and the
    other tenants' staff none of its."""
    client, slug = signed_up
    for path in ("/t/intertec/console/", "/t/intertec/console/settings", "/t/intertec/invoices"):
        assert client.get(path).status_code in (302, 404), path
    stranger = app.test_client()
    with app.app_context():
        from tests.factories import make_user

        make_user(
            tenants["intertec"].load(), email="adm@intertec.test", username="adm", role="admin"
        )
    assert sign_in(stranger, "intertec", "adm", PASSWORD).status_code == 302
    for path in (f"/t/{slug}/console/", f"/t/{slug}/console/settings", f"/t/{slug}/console/users"):
        answer = stranger.get(path)
        assert answer.status_code == 302 and f"/t/{slug}/login" in answer.headers["Location"], path

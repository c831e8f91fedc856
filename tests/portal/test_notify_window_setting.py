"""The notify window (`notify_window_minutes`): one rule for the tenant file and the
Settings page, kept over a sync once changed in the console, and used by the digests."""

import pydantic
import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.portal.models import NoticeDigest
from saas.tenancy import all_tenants
from saas.tenancy.models import Tenant
from saas.tenancy.services import sync_tenants
from saas.tenancy.settings_model import TenantFile
from tests import html
from tests.auth.conftest import sign_in
from tests.factories import PASSWORD, make_user
from tests.invoices import ubl_invoice
from tests.portal.conftest import mails, publish_for

FILE = {
    "name": "Uno",
    "country": "CO",
    "locales": ["es"],
    "branding": {"primary_color": "#123456"},
}


def test_the_tenant_file_sets_it_within_its_range():
    assert TenantFile.model_validate(FILE).notify_window_minutes == 5  # the default
    assert (
        TenantFile.model_validate({**FILE, "notify_window_minutes": 0}).notify_window_minutes == 0
    )
    for wrong in (-1, 1441, "5", True):
        with pytest.raises(pydantic.ValidationError) as error:
            TenantFile.model_validate({**FILE, "notify_window_minutes": wrong})
        [problem] = error.value.errors()
        assert problem["loc"] == ("notify_window_minutes",)


def admin_client(app, tenants):
    with app.app_context():
        login = make_user(tenants["intertec"].load(), role="admin").username
    client = app.test_client()
    assert sign_in(client, "intertec", login, PASSWORD).status_code == 302
    return client


def settings_form(page):
    """Every field of the Settings form as the browser would post it."""
    form = html.doc(page).xpath("//form[contains(@action, '/console/settings')]")[0]
    data = {}
    for name, value in form.form_values():
        data.setdefault(name, []).append(value)
    return {
        k: v if len(v) > 1 or k in ("locales", "login_methods") else v[0] for k, v in data.items()
    }


def test_the_settings_page_changes_it_and_a_sync_keeps_it(portal_app, tenants):
    client = admin_client(portal_app, tenants)
    page = client.get("/t/intertec/console/settings?lang=en")
    field = html.doc(page).xpath("//input[@name='notify_window_minutes']")[0]
    assert field.get("value") == "5"
    label = html.doc(page).xpath(f"//label[@for='{field.get('id')}']")[0]
    assert html.text(label).startswith("Minutes to gather new invoices into one email")
    data = settings_form(page)
    data["notify_window_minutes"] = "0"
    saved = client.post("/t/intertec/console/settings?lang=en", data=data)
    assert saved.status_code == 303
    with portal_app.app_context(), all_tenants():
        sync_tenants()  # the file says nothing of it: the console's choice stays
        tenant = db.session.scalars(select(Tenant).filter_by(slug="intertec")).one()
        assert tenant.notify_window_minutes == 0
        assert "notify_window_minutes" in tenant.console_settings
    # And the digests follow it: at once now.
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    sent = mails(portal_app, "compras@andina.example")
    assert [m["template"] for m in sent][-1] == "invoices_published"


@pytest.mark.parametrize("value", ["-1", "1441", "soon"])
def test_the_settings_page_refuses_a_window_out_of_range(portal_app, tenants, value):
    client = admin_client(portal_app, tenants)
    page = client.get("/t/intertec/console/settings?lang=en")
    data = settings_form(page)
    data["notify_window_minutes"] = value
    response = client.post("/t/intertec/console/settings?lang=en", data=data)
    assert response.status_code == 422
    expected = (
        "Not a valid integer value." if value == "soon" else "Choose a number from 0 to 1440."
    )
    assert html.field_error(response, "notify_window_minutes") == expected
    with portal_app.app_context(), all_tenants():
        tenant = db.session.scalars(select(Tenant).filter_by(slug="intertec")).one()
        assert tenant.notify_window_minutes == 5


def test_a_digest_is_due_when_the_tenants_window_ends(portal_app, frozen_clock):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    with portal_app.app_context(), all_tenants():
        digest = db.session.scalars(select(NoticeDigest)).one()
        assert (digest.due_at - digest.created_at).total_seconds() == 300

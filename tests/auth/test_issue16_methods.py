"""Issue 16, item 2: no set of sign-in methods may leave a portal without a way in.

Google needs the server's GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET; without them the
Settings page does not offer it (its box is disabled, with the reason) and refuses a set
of methods in which nothing works here, a tenant file with only Google is refused by
`tenants sync`, and a sign-in page whose every method cannot work says whom to call.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from saas.config import configured_login_methods
from saas.extensions import db
from saas.tenancy import all_tenants, load_tenant
from saas.tenancy.files import TenantFileError
from saas.tenancy.services import sync_tenants
from tests.auth.conftest import sign_in
from tests.console.test_console import settings_data
from tests.factories import PASSWORD, make_tenant, make_user
from tests.html import doc, problems, text, texts
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET

SETTINGS = "/t/intertec/console/settings?lang=en"
GOOGLE_BOX = "//input[@name='login_methods'][@value='google']"


def admin_client(app, tenants):
    with app.app_context():
        make_user(tenants["intertec"].load(), username="ana", role="admin")
    client = app.test_client()
    assert sign_in(client, "intertec", "ana", PASSWORD).status_code == 302
    return client


def methods_of(app, slug="intertec") -> list[str]:
    with app.app_context(), all_tenants():
        return list(load_tenant(slug).login_methods)


def test_which_methods_a_server_can_serve():
    assert configured_login_methods({}) == {"password", "magic_link"}
    assert configured_login_methods({"GOOGLE_CLIENT_ID": "id"}) == {"password", "magic_link"}
    both = {"GOOGLE_CLIENT_ID": "id", "GOOGLE_CLIENT_SECRET": "secret"}
    assert configured_login_methods(both) == {"password", "magic_link", "google"}


def test_settings_do_not_offer_google_when_this_server_has_none(app, tenants):
    client = admin_client(app, tenants)
    page = doc(client.get(SETTINGS))
    [google] = page.xpath(GOOGLE_BOX)
    assert google.get("disabled") is not None
    # Intertec's file lists Google: the box shows that choice, kept as it is.
    assert google.get("checked") is not None
    reason = page.xpath(f"//small[@id='{google.get('aria-describedby')}']")
    assert text(reason[0]) == (
        "Not available: Google sign-in is not set up on this server. "
        "The platform's operator can set it up."
    )
    for method in ("password", "magic_link"):
        [box] = page.xpath(f"//input[@name='login_methods'][@value='{method}']")
        assert box.get("disabled") is None


def test_settings_refuse_google_alone_without_google(app, tenants):
    client = admin_client(app, tenants)
    page = client.get(SETTINGS)
    response = client.post(SETTINGS, data=settings_data(page.text, login_methods=["google"]))
    assert response.status_code == 422
    assert problems(response) == ["Keep at least one sign-in method."]
    assert methods_of(app) == ["password", "magic_link", "google"]  # nothing saved
    # The sign-in page still has its password form.
    login = doc(app.test_client().get("/t/intertec/login?lang=en"))
    assert login.xpath("//form[@action='/t/intertec/login']//input[@name='password']")


def test_a_posted_google_is_ignored_and_the_tenants_own_choice_kept(app, tenants):
    client = admin_client(app, tenants)
    with app.app_context(), all_tenants():
        load_tenant("intertec").login_methods = ["password"]
        db.session.commit()
    page = client.get(SETTINGS)
    posted = settings_data(page.text, login_methods=["password", "google"])
    assert client.post(SETTINGS, data=posted).status_code == 303
    assert methods_of(app) == ["password"]  # Google was never offered: not taken
    # A tenant that has Google (from its file) keeps it through a save of other things.
    with app.app_context(), all_tenants():
        load_tenant("intertec").login_methods = ["password", "google"]
        db.session.commit()
    page = client.get(SETTINGS)
    saved = client.post(SETTINGS, data=settings_data(page.text, login_methods=["password"]))
    assert saved.status_code == 303
    assert methods_of(app) == ["password", "google"]


def test_with_google_configured_the_box_works(make_app, tenants):
    app = make_app(GOOGLE_CLIENT_ID=CLIENT_ID, GOOGLE_CLIENT_SECRET=CLIENT_SECRET)
    client = admin_client(app, tenants)
    page = client.get(SETTINGS)
    [google] = doc(page).xpath(GOOGLE_BOX)
    assert google.get("disabled") is None
    saved = client.post(SETTINGS, data=settings_data(page.text, login_methods=["google"]))
    assert saved.status_code == 303
    assert methods_of(app) == ["google"]


# --- the sign-in page ----------------------------------------------------------------


def test_a_sign_in_page_with_no_working_method_says_whom_to_call(app, tenants):
    # Settings and the files refuse this; a server that loses its Google client can
    # still leave a tenant so.
    with app.app_context(), all_tenants():
        load_tenant("intertec").login_methods = ["google"]
        db.session.commit()
    page = doc(app.test_client().get("/t/intertec/login?lang=en"))
    assert not page.xpath("//form[@action='/t/intertec/login']")
    [alert] = page.xpath("//article//div[@role='alert'][contains(@class, 'no-way-in')]")
    assert texts(alert, "p")[0] == "Signing in to Intertec is not possible at the moment."
    assert texts(alert, ".//span[@class='support-phone']") == [
        "Service line: 300 3292",
        "Electronic invoicing: +57 601 743 0000",
    ]
    assert alert.xpath(".//a/@href") == ["tel:3003292", "tel:+576017430000"]


def test_without_phones_the_page_names_the_tenant(app):
    with app.app_context():
        make_tenant(slug="nophones", name="Sin Teléfono", login_methods=["google"])
    page = doc(app.test_client().get("/t/nophones/login?lang=en"))
    [alert] = page.xpath("//div[contains(@class, 'no-way-in')]")
    assert texts(alert, "p") == [
        "Signing in to Sin Teléfono is not possible at the moment.",
        "Please contact Sin Teléfono, who run this portal.",
    ]


def test_a_working_method_shows_no_such_message(app, tenants):
    page = doc(app.test_client().get("/t/adriatica/login?lang=en"))
    assert page.xpath("//div[contains(@class, 'no-way-in')]") == []


# --- tenant files ----------------------------------------------------------------------

TENANT_FILE = """
name = "Solo Google"
country = "CO"
locales = ["es"]
login_methods = {methods}
[branding]
primary_color = "#0b5394"
"""


def write_tenant(folder: Path, methods: str) -> Path:
    (folder / "sologoogle").mkdir(parents=True)
    path = folder / "sologoogle" / "tenant.toml"
    path.write_text(TENANT_FILE.format(methods=methods), encoding="utf-8")
    return path


def test_a_tenant_file_with_only_unconfigured_methods_is_refused(app, tmp_path):
    path = write_tenant(tmp_path / "tenants", '["google"]')
    with app.app_context(), pytest.raises(TenantFileError) as refused:
        sync_tenants(tmp_path / "tenants")
    assert refused.value.problems == [
        f"{path}: login_methods: ['google'] leaves no way to sign in: this server has no "
        "Google sign-in (GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set); add "
        "password or magic_link"
    ]
    with app.app_context(), all_tenants():
        assert load_tenant("sologoogle") is None  # nothing written


def test_a_tenant_file_that_also_has_a_working_method_syncs_with_a_warning(app, tmp_path, caplog):
    path = write_tenant(tmp_path / "tenants", '["password", "google"]')
    with app.app_context(), caplog.at_level(logging.WARNING):
        assert sync_tenants(tmp_path / "tenants") == [("sologoogle", "created")]
    assert f"{path}: login_methods: google is not configured on this server" in caplog.text
    assert methods_of(app, "sologoogle") == ["password", "google"]


def test_google_alone_syncs_where_google_is_configured(make_app, tmp_path):
    app = make_app(GOOGLE_CLIENT_ID=CLIENT_ID, GOOGLE_CLIENT_SECRET=CLIENT_SECRET)
    write_tenant(tmp_path / "tenants", '["google"]')
    with app.app_context():
        assert sync_tenants(tmp_path / "tenants") == [("sologoogle", "created")]

"""Every page that has a form renders real input types, read with an HTML parser: what a
person types in a password field is hidden, a file field opens the file picker, an email
field is an email field, and no attribute renders as the text "None"."""

from __future__ import annotations

from datetime import timedelta

import lxml.html
import pytest

from saas.auth import tokens
from saas.extensions import db
from saas.tenancy import load_tenant
from tests.auth.conftest import sign_in
from tests.factories import PASSWORD, make_tenant, make_user

SECRET_NAMES = {"password", "current_password", "new_password", "confirm_password"}


def parse(response):
    assert response.status_code == 200, (response.status_code, response.request.path)
    return lxml.html.document_fromstring(response.text)


def no_attribute_says_none(doc, where: str) -> None:
    wrong = [
        (element.tag, name)
        for element in doc.iter()
        if isinstance(element.tag, str)
        for name, value in element.attrib.items()
        if value.strip() == "None"
    ]
    assert wrong == [], f"{where}: attributes rendered as None: {wrong}"


def check_form_page(response, **expected_types) -> None:
    """The page has a form; every named input has the expected type; secrets are hidden."""
    where = response.request.path
    doc = parse(response)
    assert doc.xpath("//form"), f"{where}: no form"
    no_attribute_says_none(doc, where)
    inputs = {i.get("name"): i for i in doc.xpath("//form//input[@name]")}
    for name, kind in expected_types.items():
        assert name in inputs, f"{where}: no input named {name}"
        assert inputs[name].get("type") == kind, (where, name, inputs[name].get("type"))
    for name, element in inputs.items():
        if name in SECRET_NAMES:
            assert element.get("type") == "password", (where, name, element.get("type"))


@pytest.fixture
def admin(app, tenants):
    with app.app_context():
        user = make_user(load_tenant("intertec"), role="admin")
        ids = {"admin": user.id, "login": user.username}
    client = app.test_client()
    assert sign_in(client, "intertec", ids["login"], PASSWORD).status_code == 302
    client.user_id = ids["admin"]
    return client


def test_sign_in_and_recovery_pages(app, tenants):
    anonymous = app.test_client()
    check_form_page(anonymous.get("/t/intertec/login"), password="password")
    check_form_page(anonymous.get("/t/intertec/login/magic"), email="email")
    check_form_page(anonymous.get("/t/intertec/password/forgot"), tax_id="text")
    check_form_page(anonymous.get("/t/adriatica/password/forgot"), email="email")
    with app.app_context():
        tenant = load_tenant("intertec")
        user = make_user(tenant, kind="recipient", role=None)
        links = {
            purpose: tokens.issue(purpose, timedelta(hours=1), user_id=user.id)
            for purpose in ("reset_email", "set_password", "access_link", "magic_link")
        }
        db.session.commit()
    reset = anonymous.get(f"/t/intertec/password/reset/{links['reset_email']}")
    check_form_page(reset, new_password="password", confirm_password="password")
    welcome = anonymous.get(f"/t/intertec/welcome/{links['set_password']}")
    check_form_page(welcome, new_password="password", confirm_password="password")
    check_form_page(anonymous.get(f"/t/intertec/access/{links['access_link']}"))
    check_form_page(anonymous.get(f"/t/intertec/login/magic/{links['magic_link']}"))


def test_account_pages_and_the_forced_change(app, tenants, admin):
    check_form_page(admin.get("/t/intertec/account"))
    check_form_page(
        admin.get("/t/intertec/account/password"),
        current_password="password",
        new_password="password",
        confirm_password="password",
    )
    with app.app_context():
        user = make_user(load_tenant("intertec"), role="biller", must_change_password=True)
        login = user.username
    forced = app.test_client()
    sign_in(forced, "intertec", login, PASSWORD)
    page = forced.get("/t/intertec/account/password")
    check_form_page(page, new_password="password", confirm_password="password")


def test_console_pages(app, tenants, admin):
    check_form_page(
        admin.get("/t/intertec/console/settings"),
        logo="file",
        primary_color="color",
        accent_color="color",
        password_max_age_days="number",
    )
    check_form_page(admin.get("/t/intertec/console/users"), email="email", password="password")
    check_form_page(
        admin.get(f"/t/intertec/console/users/{admin.user_id}"), email="email", password="password"
    )
    check_form_page(admin.get("/t/intertec/console/users/buy"), quantity="number")
    check_form_page(admin.get("/t/intertec/console/companies"), email="email")
    check_form_page(admin.get("/t/intertec/console/upload"), xml="file", pdf="file", email="email")
    check_form_page(admin.get("/t/intertec/console/uploads"), files="file")
    check_form_page(admin.get("/t/intertec/console/api"), password="password")


def test_platform_sign_in(app):
    check_form_page(app.test_client().get("/platform/login"), email="email", password="password")


def test_no_page_renders_an_attribute_as_none(app, tenants, admin):
    """Every page a signed-in Administrator can open without an id, parsed."""
    with app.app_context():
        make_tenant()  # the list of portals on / has more than one entry
    for rule in app.url_map.iter_rules():
        arguments = set(rule.arguments) - {"tenant"}
        if "GET" not in rule.methods or arguments or rule.endpoint == "static":
            continue
        path = rule.rule.replace("<tenant>", "intertec")
        response = admin.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        no_attribute_says_none(lxml.html.document_fromstring(response.text), path)

"""Recovery by company tax id in real Chromium: request, email, choose a user, restore."""

import re

import pytest

from tests.conftest import LiveServer, wait_until
from tests.factories import PASSWORD, make_company, make_user

pytestmark = pytest.mark.browser

NEW = "otoño en la sabana de bogotá"


def test_tax_id_recovery_journey(make_app, smtp, tenants, page):
    app = make_app(MAIL_URL=smtp.url)
    with app.app_context():
        tenant = tenants["intertec"].load()
        company = make_company(
            tenant, tax_id="900123456-8", name="Empresa SAS", email="juana@empresa.com.co"
        )
        for username, name in (("ana", "Ana Gómez"), ("bruno", "Bruno Díaz")):
            make_user(
                tenant,
                email=f"{username}@empresa.com.co",
                username=username,
                name=name,
                kind="recipient",
                role=None,
                companies=[company],
            )
    with LiveServer(app) as server:
        app.config["BASE_URL"] = server.url
        page.goto(f"{server.url}/t/intertec/login?lang=en")
        page.get_by_role("link", name="Forgot your user and/or password?").click()
        page.get_by_label("Tax ID (NIT)").fill("900.123.456-8")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("heading", name="Confirmation").wait_for()
        shown = page.locator("main").inner_text()
        assert "If this tax ID is registered with us" in shown and "@" not in shown

        message = wait_until(lambda: smtp.messages, message="the reset email")[0]
        assert message["To"] == "juana@empresa.com.co"
        link = re.search(
            r"https?://\S+/password/reset/\S+", message.get_body(("plain",)).get_content()
        )
        page.goto(link.group(0))
        page.get_by_role("heading", name="Restore your password").wait_for()
        page.get_by_label("Bruno Díaz (bruno)").check()
        page.get_by_label("New password").fill(NEW)
        page.get_by_label("Confirm password").fill(NEW)
        page.get_by_role("button", name="Restore").click()
        page.get_by_role("heading", name="Password restored").wait_for()
        assert page.get_by_role("alert").inner_text().startswith("The password of bruno")

        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_label("Email or username").input_value() == "bruno"
        page.get_by_label("Password", exact=True).fill(PASSWORD)  # the old one fails
        page.get_by_role("button", name="Sign in").click()
        assert (
            "The email, username or password is not correct." in page.locator("main").inner_text()
        )
        page.get_by_label("Email or username").fill("bruno")
        page.get_by_label("Password", exact=True).fill(NEW)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/t/intertec/invoices")

        page.goto(link.group(0))  # the second time the link does not work
        assert page.get_by_role("heading", name="This link no longer works").is_visible()
        assert page.get_by_role("button", name="Request a new link").is_visible()

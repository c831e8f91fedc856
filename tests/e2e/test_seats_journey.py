"""An Administrator in real Chromium: creates users until the seats run out (one invited
by email, one given a password), sees the offer to buy, deletes one (the seat stays
used), then deactivates one and reuses its seat for another person, who is invited,
chooses a password from the email's link and is signed in; the link works once."""

import re

import pytest
from flask import g
from playwright.sync_api import expect

from saas.extensions import db
from saas.platform.views import create_platform_admin
from saas.seats import purchases, staff_accounts
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.portal.conftest import mails

pytestmark = pytest.mark.browser

NEW_PASSWORD = "una clave nueva y larga"


def sign_in(page, url, who, password=PASSWORD):
    page.goto(f"{url}/t/azteca/login?lang=en")
    page.get_by_label("Email or username").fill(who)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def create(page, name, email, profile, password=None):
    """A new user: invited by email (the form's default), or given `password`."""
    form = page.locator("#new-user")
    form.get_by_label("Full name").fill(name)
    form.get_by_label("Email", exact=True).fill(email)
    if password:
        form.get_by_role("radio", name="Set a password myself").check()
        form.get_by_label("Password", exact=True).fill(password)
    else:
        invite = form.get_by_role("radio", name="Email them a link to choose their own password")
        assert invite.is_checked()
        # Nothing to type: the password input is hidden while the invitation is chosen.
        assert not form.get_by_label("Password", exact=True).is_visible()
    form.get_by_role("radio", name=profile).check()
    form.get_by_role("button", name="Create").click()
    if password:
        page.get_by_text(f"{name} can now sign in as").wait_for()
    else:
        page.get_by_text(f"We emailed {name} a link to choose a password").wait_for()


def invitation_link(app, email):
    sent = [m["text"] for m in mails(app, email) if m["template"] == "staff_invitation"]
    return re.search(r"https?://\S+/invitation/\S+", sent[-1]).group(0)


def row(page, name):
    return page.locator("tbody tr").filter(has_text=name)


def test_seats_journey(make_app, tenants, page):
    app = make_app()
    with app.app_context():
        tenant = g.tenant = tenants["azteca"].load()
        tenant.plan = "pyme"  # one extra user included
        db.session.commit()
        owner = staff_accounts.create_user(
            tenant, None, name="Olga Owner", email="olga@azteca.mx", password=PASSWORD, role="admin"
        )
        ops = create_platform_admin(email="ops@platform.test", name="Ops", password=PASSWORD)
        bought = purchases.request_purchase(tenant, owner, 1)
        purchases.activate_purchase(bought, ops, "TR-1")

    with LiveServer(app) as server:
        app.config["BASE_URL"] = server.url  # the emails' links lead here
        sign_in(page, server.url, "olga")
        page.get_by_role("link", name="Users", exact=True).click()
        meter = page.locator(".seat-meter")
        assert "0 of 2 extra users in use" in meter.inner_text()

        create(page, "Bruno Biller", "bruno@azteca.mx", "Biller")
        assert row(page, "Bruno Biller").locator("td").nth(4).inner_text() == "Invited"
        create(page, "Ana Accountant", "ana@azteca.mx", "Accountant", password=NEW_PASSWORD)
        assert "2 of 2 extra users in use" in meter.inner_text()
        # The seats ran out: no form, an offer to buy instead.
        assert page.locator("#new-user form").count() == 0
        page.get_by_text("There is no free seat for a new user.").wait_for()
        assert page.locator("#new-user").get_by_role("button", name="Buy extra users").is_visible()

        # Deleting warns that the seat is lost; afterwards it stays used.
        ana = row(page, "Ana Accountant")
        ana.get_by_text("Delete", exact=True).click()
        dialog = ana.get_by_role("alertdialog")
        assert "uses up the seat for good" in dialog.inner_text()
        assert "deactivate the user" in dialog.inner_text()
        dialog.get_by_role("button", name="Delete and lose the seat").click()
        page.get_by_text("Ana Accountant was deleted; that seat is used up.").wait_for()
        assert row(page, "Ana Accountant").count() == 0
        assert "2 of 2 extra users in use" in meter.inner_text()
        assert "1 used up by a deleted user" in meter.inner_text()
        assert page.locator("#new-user form").count() == 0

        # Deactivate Bruno, give his seat to Carla by editing the data, reactivate.
        row(page, "Bruno Biller").get_by_role("button", name="Deactivate").click()
        page.get_by_text("Bruno Biller is deactivated; the seat stays assigned").wait_for()
        row(page, "Bruno Biller").get_by_role("link", name="Edit").click()
        page.get_by_label("Full name").fill("Carla Support")
        page.get_by_label("Email").fill("carla@azteca.mx")
        page.get_by_role("radio", name="Support").check()
        page.get_by_role("button", name="Save").click()  # no password: Carla is invited
        page.get_by_text("Changes to Carla Support saved.").wait_for()
        assert mails(app, "carla@azteca.mx") == []  # not while the user is deactivated
        row(page, "Carla Support").get_by_role("button", name="Reactivate").click()
        page.get_by_text("Carla Support can sign in again.").wait_for()
        page.get_by_text("We emailed Carla Support a link to choose a password").wait_for()
        assert "2 of 2 extra users in use" in meter.inner_text()
        assert "Bruno" not in page.locator("tbody").inner_text()

        # The offer to buy shows the price of one more, with tax, in pesos.
        page.locator("#new-user").get_by_role("button", name="Buy extra users").click()
        quote = page.locator("#quote")
        assert "$249.00" in quote.inner_text() and "$288.84" in quote.inner_text()
        page.get_by_label("Extra users").fill("3")
        expect(quote).to_contain_text("$866.52")  # the price follows the quantity (htmx)

        page.get_by_role("button", name="Sign out").click()
        # Carla opens the link of her email and chooses the password nobody else knows.
        link = invitation_link(app, "carla@azteca.mx")
        page.goto(link + "?lang=en")
        page.get_by_role("heading", name="Choose your password").wait_for()
        assert "Your username is carla." in page.locator("main").inner_text()
        page.get_by_label("New password").fill("solo yo conozco esta clave")
        page.get_by_label("Confirm password").fill("solo yo conozco esta clave")
        page.get_by_role("button", name="Save and sign in").click()
        page.get_by_role("heading", name="Dashboard").wait_for()
        assert "Carla Support" in page.locator("header").first.inner_text()
        # A Support profile: no Users page in the menu.
        assert page.get_by_role("link", name="Users", exact=True).count() == 0
        # The link was spent: opened again (forwarded, or from the history) it opens nothing.
        page.get_by_role("button", name="Sign out").click()
        page.goto(link + "?lang=en")
        page.get_by_role("heading", name="This link no longer works").wait_for()
        sign_in(page, server.url, "carla", "solo yo conozco esta clave")
        page.get_by_role("heading", name="Dashboard").wait_for()

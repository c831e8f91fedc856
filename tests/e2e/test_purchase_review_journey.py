"""Seat purchases in real Chromium, as the two people see them: the tenant's Administrator
buys (and is told by email), cancels one; the platform's operator confirms an activation
with the payment reference, which both then see, and rejects another with a reason."""

import pytest
from flask import g

from saas.extensions import db
from saas.platform.views import create_platform_admin
from saas.seats import staff_accounts
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.portal.conftest import mails

pytestmark = pytest.mark.browser


def buy(page, url, quantity):
    page.goto(f"{url}/t/azteca/console/users/buy?lang=en")
    page.get_by_label("Extra users").fill(str(quantity))
    page.get_by_role("button", name="Confirm purchase").click()
    page.get_by_text("will be active once we confirm the purchase").wait_for()


def purchase_rows(page):
    return page.locator("#purchases tbody tr")


def test_purchase_review_journey(make_app, tenants, browser, page):
    app = make_app()
    with app.app_context():
        tenant = g.tenant = tenants["azteca"].load()
        tenant.plan = "pyme"
        db.session.commit()
        owner = staff_accounts.create_user(
            tenant, None, name="Olga Owner", email="olga@azteca.mx", password=PASSWORD, role="admin"
        )
        owner.locale = "en"
        create_platform_admin(email="ops@platform.test", name="Ops", password=PASSWORD)
    ops = browser.new_context(locale="en-US").new_page()

    with LiveServer(app) as server:
        url = server.url
        page.goto(f"{url}/t/azteca/login?lang=en")
        page.get_by_label("Email or username").fill("olga")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        buy(page, url, 2)
        (ack,) = [m for m in mails(app, "olga@azteca.mx") if m["template"] == "seats_requested_ack"]
        assert ack["subject"] == "We received your order for 2 extra users"

        # The operator: "Activate" asks to confirm and wants the payment reference.
        ops.goto(f"{url}/platform/login?lang=en")
        ops.get_by_label("Email").fill("ops@platform.test")
        ops.get_by_label("Password").fill(PASSWORD)
        ops.get_by_role("button", name="Sign in").click()
        ops.get_by_role("button", name="Activate").click()
        confirm = ops.locator("#activate")
        assert "Activate 2 extra users for Comercializadora Azteca, until" in confirm.inner_text()
        confirm.get_by_role("button", name="Yes, activate 2 extra users").click()
        ops.get_by_text("Write the reference of the payment you received.").wait_for()
        assert "Waiting for activation" in ops.locator("#purchase").inner_text()
        ops.get_by_label("Payment reference").fill("TR-2026-0042")
        ops.get_by_role("button", name="Yes, activate 2 extra users").click()
        ops.get_by_text("2 extra users activated for Comercializadora Azteca.").wait_for()
        decided = ops.locator("#decided tbody tr").first
        assert "TR-2026-0042" in decided.inner_text() and "Active" in decided.inner_text()

        # The Administrator sees it active, with the reference.
        page.goto(f"{url}/t/azteca/console/users/buy?lang=en")
        first = purchase_rows(page).first
        assert "Active" in first.inner_text() and "TR-2026-0042" in first.inner_text()
        assert page.locator("#purchases form").count() == 0  # nothing left to cancel

        # She orders one more and withdraws it while it is pending.
        buy(page, url, 1)
        page.goto(f"{url}/t/azteca/console/users/buy?lang=en")
        pending = purchase_rows(page).first
        assert "Waiting for activation" in pending.inner_text()
        pending.get_by_text("Cancel", exact=True).click()
        dialog = pending.get_by_role("alertdialog")
        assert "nothing is charged for it" in dialog.inner_text()
        dialog.get_by_role("button", name="Cancel the purchase").click()
        page.get_by_text("The purchase of 1 extra user is cancelled.").wait_for()
        assert "Cancelled" in purchase_rows(page).first.inner_text()
        ops.goto(f"{url}/platform/?lang=en")
        ops.get_by_text("No purchases are waiting for activation.").wait_for()

        # And a third, which the operator turns down, saying why.
        buy(page, url, 3)
        ops.goto(f"{url}/platform/?lang=en")
        ops.get_by_role("button", name="Reject").click()
        ops.get_by_label("Reason, for the tenant's Administrators").fill(
            "The transfer did not arrive."
        )
        ops.get_by_role("button", name="Reject the purchase").click()
        ops.get_by_text("The purchase of Comercializadora Azteca was rejected.").wait_for()
        page.goto(f"{url}/t/azteca/console/users/buy?lang=en")
        rejected = purchase_rows(page).first
        assert "Rejected" in rejected.inner_text()
        assert "The transfer did not arrive." in rejected.inner_text()
        told = [m for m in mails(app, "olga@azteca.mx") if m["template"] == "seats_rejected"]
        assert len(told) == 1 and "The transfer did not arrive." in told[0]["text"]
    ops.context.close()

"""A recipient signs in with a magic link in real Chromium, then signs out."""

import pytest

from tests.auth.conftest import link_in
from tests.conftest import LiveServer, wait_until
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_magic_link_journey(make_app, smtp, tenants, page):
    app = make_app(MAIL_URL=smtp.url)
    with app.app_context():
        make_user(
            tenants["intertec"].load(),
            email="bea@gmail.com",
            username="bea",
            name="Bea Ruiz",
            kind="recipient",
            role=None,
        )
    with LiveServer(app) as server:
        app.config["BASE_URL"] = server.url  # links in the email point at this server
        page.goto(f"{server.url}/t/intertec/login?lang=en")
        page.get_by_role("button", name="Email me a sign-in link").click()
        page.get_by_label("Email").fill("bea@gmail.com")
        page.get_by_role("button", name="Send magic link").click()

        page.get_by_role("heading", name="Check your email").wait_for()
        assert page.get_by_role("button", name="Go to Gmail").is_visible()
        again = page.get_by_role("button", name="Send again")
        assert again.is_disabled()
        first = again.inner_text()
        page.wait_for_timeout(1100)
        assert again.inner_text() != first  # the countdown is running

        message = wait_until(lambda: smtp.messages)[0]
        link = link_in(message.get_body(("plain",)).get_content())
        page.goto(link)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/t/intertec/invoices")
        assert page.get_by_role("heading", name="Your invoices").is_visible()
        assert "Bea Ruiz" in page.locator("header.brand-bar").inner_text()

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/t/intertec/login")
        assert "You have signed out." in page.locator("main").inner_text()
        # The used link does not sign in again.
        page.goto(link)
        assert page.get_by_role("heading", name="This link no longer works").is_visible()

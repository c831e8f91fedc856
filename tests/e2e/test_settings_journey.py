"""An Administrator in real Chromium: the password is hidden while typed, and a new logo is
chosen with the file picker on Settings and shown in the portal's header."""

import pytest

from tests.conftest import LiveServer
from tests.console.test_console import SAFE_SVG
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_change_the_logo_from_settings(make_app, tenants, page, tmp_path):
    app = make_app()
    with app.app_context():
        make_user(tenants["intertec"].load(), username="ana", role="admin")
    logo = tmp_path / "new-logo.svg"
    logo.write_bytes(SAFE_SVG)
    with LiveServer(app) as server:
        page.goto(f"{server.url}/t/intertec/login?lang=en")
        password = page.get_by_label("Password", exact=True)
        assert password.evaluate("input => input.type") == "password"
        page.get_by_label("Email or username").fill("ana")
        password.fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Dashboard").wait_for()

        page.goto(f"{server.url}/t/intertec/console/settings?lang=en")
        picker = page.get_by_label("Logo (SVG or PNG, at most 512 KB)")
        assert picker.evaluate("input => input.type") == "file"
        picker.set_input_files(str(logo))
        page.get_by_role("button", name="Save settings").click()
        page.wait_for_url(lambda url: "/console/settings" in url)
        served = page.request.get(f"{server.url}/t/intertec/logo")
        assert served.ok and served.body() == SAFE_SVG
        header_logo = page.locator("header img").first
        assert header_logo.evaluate("img => img.complete && img.naturalWidth > 0")

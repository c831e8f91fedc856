"""The Settings brand preview in real Chromium, under the app's own Content-Security-Policy
(style-src 'self', so no style="" attribute applies): its colours are the tenant's, from
the branding stylesheet, and follow the colour inputs while the admin edits them."""

import pytest
from playwright.sync_api import expect

from saas.branding import text_on
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

INTERTEC_PRIMARY, INTERTEC_ACCENT = "#0b5394", "#f1c232"  # tenants/intertec/tenant.toml


def rgb(color: str) -> str:
    """A #rrggbb colour as Chromium's computed style writes it."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def expect_preview(preview, primary: str, accent: str):
    button, badge, link = (
        preview.locator(c) for c in (".preview-button", ".preview-accent", ".preview-link")
    )
    expect(button).to_have_css("background-color", rgb(primary))
    expect(button).to_have_css("color", rgb(text_on(primary)))
    expect(badge).to_have_css("background-color", rgb(accent))
    expect(badge).to_have_css("color", rgb(text_on(accent)))
    expect(link).to_have_css("color", rgb(primary))


def test_brand_preview_shows_and_follows_the_colours(make_app, tenants, page):
    app = make_app()
    with app.app_context():
        make_user(tenants["intertec"].load(), username="ana", role="admin")
    problems = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.status != 422 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    with LiveServer(app) as server:
        page.goto(f"{server.url}/t/intertec/login?lang=en")
        page.get_by_label("Email or username").fill("ana")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Dashboard").wait_for()

        response = page.goto(f"{server.url}/t/intertec/console/settings?lang=en")
        policy = response.headers["content-security-policy"]
        assert "style-src 'self';" in policy and "unsafe-inline" not in policy
        preview = page.locator("#brand-preview")
        expect_preview(preview, INTERTEC_PRIMARY, INTERTEC_ACCENT)
        # The same colours as the portal's own header, which the tenant's theme.css paints.
        header = page.locator("header.brand-bar")
        expect(header).to_have_css("background-color", rgb(INTERTEC_PRIMARY))

        # Live: htmx fetches the preview again and app.js sets its colours via the CSSOM.
        page.locator("#primary_color").fill("#7a1f5c")
        expect_preview(preview, "#7a1f5c", INTERTEC_ACCENT)
        expect(preview).to_contain_text("Contrast: button text")
        page.locator("#accent_color").fill("#1b6e43")
        expect_preview(preview, "#7a1f5c", "#1b6e43")
        # Nothing is saved by previewing: the header keeps the tenant's colour.
        expect(header).to_have_css("background-color", rgb(INTERTEC_PRIMARY))

        # A form sent back with an error (422) previews the colours typed, from the
        # first paint: they are not the tenant's, so only app.js can have set them.
        page.locator("#name").fill("")
        page.get_by_role("button", name="Save settings").click()
        page.locator("#name[aria-invalid='true']").wait_for()
        expect_preview(page.locator("#brand-preview"), "#7a1f5c", "#1b6e43")
        expect(header).to_have_css("background-color", rgb(INTERTEC_PRIMARY))

        # Saved, they are the tenant's colours: the branding stylesheet paints both.
        page.locator("#name").fill("Intertec")
        page.get_by_role("button", name="Save settings").click()
        page.get_by_text("Settings saved. They apply now.").wait_for()
        expect(header).to_have_css("background-color", rgb("#7a1f5c"))
        expect_preview(page.locator("#brand-preview"), "#7a1f5c", "#1b6e43")

    # No style was refused by the Content-Security-Policy, and no script failed.
    assert problems == []

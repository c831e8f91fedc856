"""A person opens a tenant's portal in real Chromium and switches language."""

import pytest

pytestmark = pytest.mark.browser


def test_branded_portal_and_language_switch(live_server, page, tenants):
    page.goto(f"{live_server.url}/t/intertec/")
    assert page.title() == "Sus facturas electrónicas · Intertec"
    assert page.locator(".brand-name").inner_text() == "Intertec"
    logo = page.locator(".brand img")
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "Línea de servicio: 300 3292" in page.locator("footer").inner_text()
    # The tenant colour reaches the page through the theme stylesheet.
    colour = page.locator(".brand-bar").evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(11, 83, 148)"
    phone = page.locator("footer a").first
    assert phone.evaluate("el => getComputedStyle(el).color") == "rgb(11, 83, 148)"

    page.get_by_role("link", name="Italiano").click()
    page.wait_for_url("**/t/intertec/?lang=it")
    assert page.locator("h1").inner_text() == "Le tue fatture elettroniche di Intertec"
    assert "Assistenza: 300 3292" in page.locator("footer").inner_text()
    # Remembered: a later visit without ?lang stays in Italian.
    page.goto(f"{live_server.url}/t/intertec/")
    assert page.locator("html").get_attribute("lang") == "it"


def test_htmx_requests_carry_the_csrf_token(app, page, tenants):
    from flask import request

    @app.post("/t/<tenant>/echo")
    def echo():
        return f'<p id="echo">{request.headers.get("X-CSRFToken") is not None}</p>'

    from tests.conftest import LiveServer

    with LiveServer(app) as server:
        page.goto(f"{server.url}/t/intertec/")
        page.wait_for_function("window.htmx !== undefined")
        page.evaluate(
            "() => htmx.ajax('POST', '/t/intertec/echo', {target: 'main', swap: 'innerHTML'})"
        )
        page.wait_for_selector("#echo")
        # CSRF protection is on: the POST passed only because htmx sent the token.
        assert page.locator("#echo").inner_text() == "True"

"""In real Chromium: a new access for one recipient, asked and confirmed (with htmx and
without JavaScript); the API key shown once, not again on reload; the dev outbox's email
whole, its links opening a tab of their own."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from saas import clock
from saas.auth.models import ApiKey, User
from saas.extensions import db
from saas.mail import OutboxMessage
from saas.tenancy import all_tenants
from tests.conftest import LiveServer
from tests.factories import PASSWORD, hashed, make_user
from tests.invoices import ubl_invoice
from tests.portal.conftest import publish_for

pytestmark = pytest.mark.browser

FIRST, SECOND = "compras@andina.example", "pagos@andina.example"


def sign_in(page, url, login):
    page.goto(f"{url}/t/intertec/login?lang=en")
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


def two_recipients(app, tenants):
    publish_for(app, "intertec", ubl_invoice("FE-1", email=FIRST))
    publish_for(app, "intertec", ubl_invoice("FE-2", email=SECOND))
    with app.app_context():
        tenant = tenants["intertec"].load()
        for person in db.session.scalars(select(User).where(User.kind == "recipient")):
            person.password_hash, person.must_change_password = hashed(), False
        make_user(tenant, email="ayuda@intertec.co", username="ayuda", role="support")


def hashes(app):
    with app.app_context(), all_tenants():
        return dict(db.session.execute(select(User.email, User.password_hash)).all())


def test_a_new_access_is_asked_then_sent_to_one_person(make_app, tenants, page, browser):
    app = make_app()
    two_recipients(app, tenants)
    before = hashes(app)
    with LiveServer(app) as server:
        sign_in(page, server.url, "ayuda")
        page.get_by_role("link", name="Customers", exact=True).click()
        page.get_by_role("link", name=f"New access for {FIRST}…").click()
        # htmx shows the question in the row; nothing was sent yet.
        question = page.get_by_role("alertdialog")
        question.wait_for()
        assert page.url.endswith("/console/customers")
        assert f"Sends {FIRST} a new access link and a new password" in question.inner_text()
        assert "Their current password stops working" in question.inner_text()
        assert hashes(app) == before
        question.get_by_role("button", name="Send new access").click()
        page.get_by_text(f"{FIRST} got a new access link and a new password").wait_for()
        after = hashes(app)
        assert after[FIRST] != before[FIRST] and after[SECOND] == before[SECOND]

        # Without JavaScript the question is a page of its own, and Cancel changes nothing.
        plain = browser.new_context(locale="en-US", java_script_enabled=False)
        try:
            other = plain.new_page()
            sign_in(other, server.url, "ayuda")
            other.goto(f"{server.url}/t/intertec/console/customers?lang=en")
            other.get_by_role("link", name=f"New access for {SECOND}…").click()
            other.get_by_role("heading", name=f"New access for {SECOND}").wait_for()
            assert re.search(r"/customers/\d+/recipients/\d+/access", other.url)
            other.get_by_role("button", name="Cancel").click()
            other.get_by_role("heading", name="Customers").wait_for()
            assert hashes(app)[SECOND] == before[SECOND]
            other.get_by_role("link", name=f"New access for {SECOND}…").click()
            other.get_by_role("button", name="Send new access").click()
            other.get_by_text(f"{SECOND} got a new access link and a new password").wait_for()
            assert hashes(app)[SECOND] != before[SECOND]
        finally:
            plain.close()


def test_the_api_key_is_shown_once_and_a_reload_makes_no_other(make_app, tenants, page):
    app = make_app()
    with app.app_context():
        make_user(
            tenants["intertec"].load(), email="bill@intertec.co", username="bill", role="biller"
        )
    with LiveServer(app) as server:
        sign_in(page, server.url, "bill")
        page.get_by_role("link", name="API", exact=True).click()
        page.get_by_role("button", name="Get API key").click()  # empty: the browser asks
        assert page.locator("#new-key").count() == 0
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Get API key").click()
        key = page.locator("#new-key").inner_text()
        assert key.startswith("inv_")
        page.reload()
        page.get_by_role("heading", name="Your keys").wait_for()
        assert page.locator("#new-key").count() == 0 and key not in page.content()
        assert page.locator("article table tbody tr").count() == 1
        page.go_back()
        page.go_forward()
        with app.app_context(), all_tenants():
            assert db.session.scalar(select(func.count(ApiKey.id))) == 1
        # Revoking asks first.
        page.goto(f"{server.url}/t/intertec/console/api?lang=en")
        question = page.get_by_role("alertdialog")
        assert not question.is_visible()
        page.get_by_role("button", name="Revoke", exact=True).click()
        assert "stops publishing at once" in question.inner_text()
        question.get_by_role("button", name="Revoke the key").click()
        page.get_by_text("revoked: it no longer works.").wait_for()


def test_the_outbox_shows_a_long_email_whole_and_opens_its_links_outside(make_app, page):
    app = make_app()
    with LiveServer(app) as server:
        paragraphs = "".join(f"<p>Line {n} of a long email.</p>" for n in range(120))
        body = (
            "<!doctype html><html><head><title>Long</title></head><body>"
            f'<p><a href="{server.url}/healthz">Open the portal</a></p>{paragraphs}'
            "<p id='last'>The end.</p></body></html>"
        )
        with app.app_context(), all_tenants():
            message = OutboxMessage(
                template="magic_link",
                to_addr="ana@example.com",
                from_addr="no-reply@localhost",
                subject="A long email",
                text_body="Long",
                html_body=body,
                message_id="<long@localhost>",
                locale="en",
                status="sent",
                created_at=clock.now(),
            )
            db.session.add(message)
            db.session.commit()
            message_id = message.id
        page.goto(f"{server.url}/dev/outbox/{message_id}?lang=en")
        frame_element = page.locator("iframe.email-preview")
        frame = page.frame_locator("iframe.email-preview")
        frame.locator("#last").wait_for()
        page.wait_for_function(
            "() => document.querySelector('iframe.email-preview').offsetHeight > 1000"
        )
        inner = frame_element.evaluate("f => f.contentDocument.documentElement.scrollHeight")
        assert frame_element.evaluate("f => f.clientHeight") >= inner  # nothing scrolls inside
        with page.context.expect_page() as opened:
            frame.get_by_role("link", name="Open the portal").click()
        tab = opened.value
        tab.wait_for_load_state()
        assert tab.url == f"{server.url}/healthz"
        assert page.url.endswith(f"/dev/outbox/{message_id}?lang=en")  # the outbox stays
        # Without scripts in the frame, whatever the email holds.
        assert "allow-scripts" not in (frame_element.get_attribute("sandbox") or "")

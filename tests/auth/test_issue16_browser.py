"""Issue 16, items 2, 7, 8, 11 and 15, as a person sees them in real Chromium."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.auth.models import User
from saas.extensions import db
from saas.mail import OutboxMessage
from saas.tenancy import all_tenants, load_tenant
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

NEW = "otoño en la sabana de bogotá"


def sign_in(page, url, login, password=PASSWORD):
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_settings_never_offer_google_and_a_portal_never_shows_an_empty_card(
    make_app, tenants, page
):
    app = make_app()
    with app.app_context():
        make_user(tenants["intertec"].load(), username="ana", role="admin")
    with LiveServer(app) as server:
        page.goto(f"{server.url}/t/intertec/login?lang=en")
        sign_in(page, server.url, "ana")
        page.get_by_role("heading", name="Dashboard").wait_for()
        page.goto(f"{server.url}/t/intertec/console/settings?lang=en")
        google = page.get_by_role("checkbox", name="Google")
        assert google.is_disabled()
        assert page.get_by_text(
            "Not available: Google sign-in is not set up on this server."
        ).is_visible()
        page.get_by_role("checkbox", name="Email or username and password").uncheck()
        page.get_by_role("checkbox", name="Magic link by email").uncheck()
        page.get_by_role("button", name="Save settings").click()
        page.get_by_text("Keep at least one sign-in method.").wait_for()
        with app.app_context(), all_tenants():
            assert "password" in load_tenant("intertec").login_methods

        # A server that lost its Google client after the fact: whom to call, not nothing.
        with app.app_context(), all_tenants():
            load_tenant("intertec").login_methods = ["google"]
            db.session.commit()
        context = page.context.browser.new_context(locale="en-US")
        visitor = context.new_page()
        visitor.goto(f"{server.url}/t/intertec/login?lang=en")
        card = visitor.locator("article.auth-card")
        assert "Signing in to Intertec is not possible at the moment." in card.inner_text()
        assert card.get_by_role("link", name="300 3292").get_attribute("href") == "tel:3003292"
        assert card.get_by_role("button", name="Sign in").count() == 0
        context.close()


def test_a_recipient_switches_to_english_and_gets_the_email_in_english(make_app, tenants, page):
    app = make_app()
    with app.app_context():
        rosa = make_user(
            tenants["intertec"].load(),
            email="rosa@example.com",
            username="rosa",
            name="Rosa Díaz",
            kind="recipient",
            role=None,
        ).id
    with LiveServer(app) as server:
        page.goto(f"{server.url}/t/intertec/login?lang=es")
        page.get_by_label("Correo electrónico o usuario").fill("rosa")
        page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.wait_for_url("**/t/intertec/invoices")
        page.locator("header").get_by_role("button", name="English").click()
        page.get_by_role("heading", name="Your invoices").wait_for()
        assert page.locator("html").get_attribute("lang") == "en"

        page.goto(f"{server.url}/t/intertec/account/password")  # no ?lang: the account's
        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_label("New password").fill(NEW)
        page.get_by_label("Confirm password").fill(NEW)
        page.get_by_role("button", name="Update").click()
        page.get_by_text("Your password has been updated.").wait_for()
    with app.app_context(), all_tenants():
        assert db.session.get(User, rosa).locale == "en"
        [mail] = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "password_changed")
        ).all()
        assert (mail.to_addr, mail.subject) == (
            "rosa@example.com",
            "Your Intertec password was changed",
        )


def test_sign_in_dead_ends_say_what_to_do(make_app, tenants, page):
    app = make_app()
    with app.app_context():
        tenant = tenants["intertec"].load()
        make_user(tenant, username="ana", role="admin")
        make_user(tenant, username="leo", role="biller", active=False)
    with LiveServer(app) as server:
        # A deactivated account, with its right password: deactivated, and whom to call.
        page.goto(f"{server.url}/t/intertec/login?lang=en")
        sign_in(page, server.url, "leo")
        notice = page.get_by_role("alert").filter(has_text="deactivated")
        assert "Your account at Intertec is deactivated" in notice.inner_text()
        assert notice.get_by_role("link", name="300 3292").is_visible()
        # With a wrong one: only what anyone is told.
        sign_in(page, server.url, "leo", "not the password")
        alert = page.get_by_role("alert")
        assert alert.inner_text() == "The email, username or password is not correct."

        # Four wrong passwords: the fourth warns of the pause.
        for n in range(4):
            sign_in(page, server.url, "ana", f"guess {n}")
        assert "One attempt left before sign-in is paused for 15 minutes." in (
            page.get_by_role("alert").inner_text()
        )
        sign_in(page, server.url, "ana", "guess 4")
        sign_in(page, server.url, "ana", PASSWORD)
        page.get_by_role("heading", name="Too many attempts").wait_for()
        assert page.get_by_role("link", name="Email me a sign-in link").is_visible()
        page.get_by_role("link", name="Choose a new password").click()
        page.wait_for_url("**/password/forgot")


def test_the_mailbox_button_follows_the_address(make_app, tenants, page):
    app = make_app()
    with LiveServer(app) as server:
        page.goto(f"{server.url}/t/intertec/login/magic?lang=en")
        page.get_by_label("Email").fill("bea@yahoo.com.mx")
        page.get_by_role("button", name="Send magic link").click()
        button = page.get_by_role("button", name="Go to Yahoo Mail")
        assert button.get_attribute("href") == "https://mail.yahoo.com/"
        assert button.get_attribute("target") == "_blank"

        page.goto(f"{server.url}/t/intertec/login/magic?lang=en")
        page.get_by_label("Email").fill("bea@empresa.com.co")
        page.get_by_role("button", name="Send magic link").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        assert page.get_by_text("Open your inbox and look for our email").is_visible()
        assert page.locator("a[href^='mailto:']").count() == 0
        assert page.get_by_role("button", name="Go to", exact=False).count() == 0


def test_a_password_with_the_username_is_refused_in_spanish(make_app, tenants, page):
    app = make_app()
    with app.app_context():
        make_user(tenants["intertec"].load(), username="marta", email="marta.gil@example.com")
    with LiveServer(app) as server:
        page.goto(f"{server.url}/t/intertec/login?lang=es")
        page.get_by_label("Correo electrónico o usuario").fill("marta")
        page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.wait_for_url("**/console/")
        page.goto(f"{server.url}/t/intertec/account/password")
        page.get_by_label("Contraseña actual").fill(PASSWORD)
        page.get_by_label("Nueva contraseña").fill("Marta.Gil en Bogotá")
        page.get_by_label("Confirmar contraseña").fill("Marta.Gil en Bogotá")
        page.locator("main form button[type=submit]").click()
        page.get_by_text(
            "Su contraseña no debe contener su nombre de usuario ni su correo electrónico."
        ).wait_for()

"""A portal where nobody signs in with a password has no password recovery: its pages
answer 404 and no page links to them (the sign-in page, the pause after wrong tries)."""

from __future__ import annotations

from sqlalchemy import update

from saas.extensions import db
from saas.tenancy import all_tenants
from saas.tenancy.models import Tenant
from tests.html import doc


def only_magic_links(app, slug="intertec"):
    with app.app_context(), all_tenants():
        db.session.execute(
            update(Tenant).where(Tenant.slug == slug).values(login_methods=["magic_link"])
        )


def test_no_password_sign_in_no_recovery_pages(app, tenants):
    client = app.test_client()
    assert client.get("/t/intertec/password/forgot").status_code == 200  # with passwords
    only_magic_links(app)
    assert client.get("/t/intertec/password/forgot").status_code == 404
    assert client.get("/t/intertec/password/forgot?by=email").status_code == 404
    assert client.get("/t/intertec/password/reset/some-token").status_code == 404
    login = doc(client.get("/t/intertec/login?lang=en"))
    assert login.xpath("//a[contains(@href, '/password/forgot')]") == []
    assert login.xpath("//a[@href='/t/intertec/login/magic']")  # the way in that is left
    # Another tenant keeps its recovery.
    assert client.get("/t/adriatica/password/forgot").status_code == 200

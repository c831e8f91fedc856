"""Publishing helpers for portal tests."""

from __future__ import annotations

import re

import pytest
from flask import g

from saas.extensions import db
from saas.mail import OutboxMessage
from saas.portal.publishing import publish
from saas.tenancy import all_tenants
from tests.auth.conftest import csrf_from


def publish_for(app, slug, xml, pdf=None, email=None):
    """Publish as the CLI would; returns the invoices' ids."""
    with app.app_context():
        from saas.tenancy import load_tenant

        tenant = load_tenant(slug)
        g.tenant = tenant
        result = publish(tenant, xml, pdf, email=email)
        return [i.id for i in result.invoices]


def mails(app, to=None):
    with app.app_context(), all_tenants():
        query = db.select(OutboxMessage).order_by(OutboxMessage.id)
        if to:
            query = query.where(OutboxMessage.to_addr == to)
        return [
            {"template": m.template, "subject": m.subject, "text": m.text_body, "to": m.to_addr}
            for m in db.session.scalars(query)
        ]


def send_digests(app, minutes: int = 5):
    """The notify window's end (the demo tenants' 5 minutes): move the clock past it and
    send every due digest of new invoices, as its job or `outbox flush` would."""
    from datetime import timedelta

    from saas import clock
    from saas.portal import notices

    clock.travel(timedelta(minutes=minutes))
    with app.app_context():  # the block commits; the queued jobs then run in process
        return notices.flush()


def credentials(text: str) -> tuple[str, str]:
    username = re.search(r"(?:Usuario|Username|Nome utente): (\S+)", text).group(1)
    password = re.search(r"(?:Contraseña|Password): (\S+)", text).group(1)
    return username, password


def activation_link(text: str) -> str:
    return re.search(r"https?://\S+/access/\S+", text).group(0)


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def activate(client, app, email, new_password="el cafe de la sierra nevada"):
    """Onboard as a recipient would: access link, emailed password, forced change."""
    sent = {m["template"]: m["text"] for m in mails(app, email)}
    access = path_of(activation_link(sent["access_activation"]))
    page = client.get(access)
    response = client.post(access, data={"csrf_token": csrf_from(page.text)})
    username, password = credentials(sent["access_password"])
    login_page = client.get(response.headers["Location"])
    assert f'value="{username}"' in login_page.text  # the username is filled in
    client.post(
        "/t/intertec/login",
        data={"login": username, "password": password, "csrf_token": csrf_from(login_page.text)},
    )
    page = client.get("/t/intertec/account/password")
    client.post(
        "/t/intertec/account/password",
        data={
            "new_password": new_password,
            "confirm_password": new_password,
            "csrf_token": csrf_from(page.text),
        },
    )
    return username


@pytest.fixture
def portal_app(app, tenants):
    return app

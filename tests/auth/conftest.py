"""Helpers for sign-in tests: CSRF tokens from forms, signing in, reading mail."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.mail import OutboxMessage

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def post_form(client, url, data, get_url=None, **kwargs):
    """GET the form (for its CSRF token), then POST it, as a browser would."""
    page = client.get(get_url or url, **kwargs)
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)}, **kwargs)


def sign_in(client, slug, login, password, lang="en", **extra):
    return post_form(
        client, f"/t/{slug}/login?lang={lang}", {"login": login, "password": password, **extra}
    )


def outbox(template=None):
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if template:
        query = query.where(OutboxMessage.template == template)
    return db.session.scalars(query).all()


def link_in(text: str) -> str:
    match = re.search(r"https?://\S+/login/magic/\S+", text)
    assert match, "no magic link in the email"
    return match.group(0)


@pytest.fixture
def provider():
    from tests.oidc_provider import OidcProvider

    oidc = OidcProvider()
    with oidc.server:
        yield oidc

"""Helpers for the self sign-up tests: filling the form, reading its email, using the link."""

from __future__ import annotations

import re

import pytest

from tests.auth.conftest import csrf_from
from tests.portal.conftest import mails, path_of

CHOSEN = "la cordillera azul del norte"
FORM = {
    "company_name": "Ferretería Núñez S.A.S.",
    "country": "CO",
    "tax_id": "830.012.345-9",
    "admin_name": "Nora Núñez",
    "email": "nora@ferreteria.test",
    "plan": "pyme",
}


def sign_up(client, lang="en", ip="198.51.100.7", **changes):
    """GET the form, POST it from `ip`; the answer."""
    environ = {"REMOTE_ADDR": ip}
    page = client.get(f"/signup?lang={lang}", environ_base=environ)
    data = {**FORM, **changes, "csrf_token": csrf_from(page.text)}
    return client.post(f"/signup?lang={lang}", data=data, environ_base=environ)


def signup_link(app, email=FORM["email"]) -> str:
    """The path of the newest sign-up link emailed to `email`."""
    sent = [m for m in mails(app, email) if m["template"] == "signup_verify"]
    assert sent, f"no sign-up email to {email}"
    return path_of(re.search(r"https?://\S+/signup/\S+", sent[-1]["text"]).group(0))


def choose(client, path, password=CHOSEN, lang="en"):
    page = client.get(f"{path}?lang={lang}")
    if page.status_code != 200:  # a spent link shows no form: the sign-up page's token
        page = client.get("/signup")
    data = {"csrf_token": csrf_from(page.text), "new_password": password}
    return client.post(f"{path}?lang={lang}", data={**data, "confirm_password": password})


@pytest.fixture
def signed_up(app, tenants):
    """A Colombian company that signed up: (client signed in to its console, slug)."""
    client = app.test_client()
    assert sign_up(client).status_code == 200
    answer = choose(client, signup_link(app))
    assert answer.status_code == 303, answer.text
    return client, answer.headers["Location"].split("/")[2]

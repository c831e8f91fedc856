"""The console's API page: post, redirect (303), show the new key once; a refresh makes no
second key and shows none; empty submits answer 422 with the message under the field."""

from __future__ import annotations

import re

from sqlalchemy import select

from saas.audit import AuditEvent
from saas.auth.models import ApiKey
from saas.extensions import db
from saas.tenancy import all_tenants
from tests import html
from tests.auth.conftest import csrf_from
from tests.console.test_console import staff_client
from tests.factories import PASSWORD

PAGE = "/t/intertec/console/api?lang=en"
KEYS = "/t/intertec/console/api/keys?lang=en"
CHECK = "/t/intertec/console/api/check?lang=en"


def keys(app) -> list[ApiKey]:
    with app.app_context(), all_tenants():
        return list(db.session.scalars(select(ApiKey)))


def shown_key(answer) -> str | None:
    found = html.doc(answer).xpath("//code[@id='new-key']")
    return html.text(found[0]) if found else None


def test_the_key_is_shown_once_after_a_redirect(app, tenants):
    client = staff_client(app, tenants, "biller")
    token = csrf_from(client.get(PAGE).text)
    made = client.post(KEYS, data={"csrf_token": token, "password": PASSWORD})
    assert made.status_code == 303
    assert made.headers["Location"].endswith("/t/intertec/console/api")
    assert "inv_" not in made.text
    [key] = keys(app)
    # The session carries the key sealed: the cookie, which is signed but readable, does
    # not hold it.
    shown = client.get(made.headers["Location"] + "?lang=en")
    raw = shown_key(shown)
    assert raw and raw.startswith("inv_") and raw[:12] == key.prefix
    assert raw not in made.headers.get("Set-Cookie", "")
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = re.search(r"session=([^;]+)", made.headers["Set-Cookie"]).group(1)
    assert raw not in repr(serializer.loads(cookie))
    assert shown.headers["Cache-Control"] == "private, no-store"
    assert html.text(html.doc(shown), "//*[@role='alert']/p[1]") == (
        "Copy your new key now: it is shown only once."
    )
    # Refreshing: no key shown again, and no second key made.
    again = client.get(PAGE)
    assert again.status_code == 200 and shown_key(again) is None and raw not in again.text
    assert len(keys(app)) == 1
    assert html.texts(html.doc(again), "//table//tbody/tr/td[1]/code") == [key.prefix + "…"]


def test_a_revoked_key_is_not_shown_after_all(app, tenants):
    client = staff_client(app, tenants, "biller")
    token = csrf_from(client.get(PAGE).text)
    made = client.post(KEYS, data={"csrf_token": token, "password": PASSWORD})
    [key] = keys(app)
    revoked = client.post(
        f"/t/intertec/console/api/keys/{key.id}/revoke", data={"csrf_token": token}
    )
    assert revoked.status_code == 303 and made.status_code == 303
    assert shown_key(client.get(PAGE)) is None


def test_an_empty_password_says_so_under_the_field(app, tenants):
    client = staff_client(app, tenants, "biller")
    token = csrf_from(client.get(PAGE).text)
    answer = client.post(KEYS, data={"csrf_token": token, "password": ""})
    assert answer.status_code == 422
    page = html.doc(answer)
    assert html.field_error(page, "password") == "Enter your password."
    [field] = page.xpath("//input[@id='password']")
    assert field.get("aria-invalid") == "true" and field.get("aria-describedby") == "password-error"
    assert html.problems(page) == ["Enter your password."]
    assert keys(app) == []
    with app.app_context(), all_tenants():  # not counted as a wrong password
        assert not db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "api_key.reauth_failed")
        ).all()
    wrong = client.post(KEYS, data={"csrf_token": token, "password": "not it"})
    assert wrong.status_code == 422
    assert html.field_error(wrong, "password") == "Your password is not correct."
    assert keys(app) == []


def test_an_empty_key_check_says_so_under_the_field(app, tenants):
    client = staff_client(app, tenants, "biller")
    token = csrf_from(client.get(PAGE).text)
    answer = client.post(CHECK, data={"csrf_token": token, "key": "  "})
    assert answer.status_code == 422
    page = html.doc(answer)
    assert html.field_error(page, "key") == "Paste the API key to check."
    [field] = page.xpath("//input[@id='key']")
    assert field.get("aria-invalid") == "true"
    # The message sits right after the key's form, inside the result the field names.
    [result] = page.xpath("//form[.//input[@id='key']]/following-sibling::*[1]")
    assert result.get("id") == "check-result" == field.get("aria-describedby")
    assert html.text(result) == "Paste the API key to check."
    swapped = client.post(
        CHECK, data={"csrf_token": token, "key": ""}, headers={"HX-Request": "true"}
    )
    assert swapped.status_code == 422 and "<html" not in swapped.text
    assert html.field_error(swapped, "key") == "Paste the API key to check."
    with app.app_context(), all_tenants():  # not counted as a wrong key
        assert not db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "api.key_rejected")
        ).all()


def test_revoking_asks_first_and_says_what_stops(app, tenants):
    client = staff_client(app, tenants, "biller")
    token = csrf_from(client.get(PAGE).text)
    client.post(KEYS, data={"csrf_token": token, "password": PASSWORD})
    [key] = keys(app)
    page = html.doc(client.get(PAGE))
    [row] = page.xpath("//table//tbody/tr")
    # The only way to the POST is inside the closed question, which says what happens.
    [form] = row.xpath(".//form[@method='post']")
    assert form.xpath("ancestor::details[@class='confirm'][not(@open)]//*[@role='alertdialog']")
    assert html.text(row, ".//details/summary") == "Revoke"
    assert html.text(row, ".//*[@role='alertdialog']/p") == (
        f"Every system that uses key {key.prefix}… stops publishing at once, and the key "
        "cannot be used again."
    )
    assert html.text(form, ".//button") == "Revoke the key"

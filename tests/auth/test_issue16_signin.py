"""Issue 16, item 8: sign-in dead ends.

A deactivated account is told so, with whom to call, but only after its right password
(or its Google identity, or its own link): a wrong password gets today's answer, the
same as for an account that does not exist. The wrong password before the last one
warns of the pause; the one that starts it says so; the pause page names the tenant's
other ways in and its phones.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from saas.audit import AuditEvent
from saas.auth import tokens
from saas.auth.models import User
from saas.extensions import db
from saas.tenancy import all_tenants, load_tenant
from tests.auth.conftest import csrf_from, sign_in
from tests.auth.test_google import google_app, google_round_trip  # noqa: F401 (fixture)
from tests.factories import PASSWORD, make_user
from tests.html import doc, problems, text, texts

NOT_CORRECT = "The email, username or password is not correct."
ONE_LEFT = "One attempt left before sign-in is paused for 15 minutes."
PAUSED_NOW = "Sign-in is now paused for 15 minutes."
DEACTIVATED = "Your account at Intertec is deactivated, so it cannot sign in."


@pytest.fixture
def ana(app, tenants):
    with app.app_context():
        user = make_user(
            tenants["intertec"].load(), email="ana@example.com", username="ana", name="Ana Gómez"
        )
        return user.id


def deactivate(app, user_id):
    with app.app_context(), all_tenants():
        db.session.get(User, user_id).active = False
        db.session.commit()


def events(app, name):
    with app.app_context(), all_tenants():
        return db.session.scalars(
            select(AuditEvent.subject).where(AuditEvent.event == name).order_by(AuditEvent.id)
        ).all()


def without_tokens(response) -> str:
    return re.sub(r'(value|content)="[^"]*"', "", response.text)


def deactivated_notice(response):
    [notice] = doc(response).xpath("//article//div[@role='alert'][contains(@class, 'deactivated')]")
    return notice


# --- deactivated accounts -------------------------------------------------------------


def test_the_right_password_of_a_deactivated_account_says_so_and_whom_to_call(app, tenants, ana):
    deactivate(app, ana)
    client = app.test_client()
    response = sign_in(client, "intertec", "ana", PASSWORD)
    assert response.status_code == 403
    notice = deactivated_notice(response)
    assert texts(notice, "p")[0] == DEACTIVATED
    assert text(notice, "p[2]").startswith("To have it turned on again, call Intertec:")
    assert texts(notice, ".//span[@class='support-phone']") == [
        "Service line: 300 3292",
        "Electronic invoicing: +57 601 743 0000",
    ]
    assert NOT_CORRECT not in problems(response)
    assert client.get("/t/intertec/account").status_code == 302  # not signed in
    assert events(app, "signin.deactivated") == [f"user:{ana}"]
    assert events(app, "signin.failed") == []  # knowing the password is no failure


def test_in_spanish_too(app, tenants, ana):
    deactivate(app, ana)
    response = sign_in(app.test_client(), "intertec", "ana", PASSWORD, lang="es")
    assert texts(deactivated_notice(response), "p")[0] == (
        "Su cuenta de Intertec está desactivada, así que no puede iniciar sesión."
    )


def test_a_wrong_password_says_nothing_about_the_account(app, tenants, ana):
    deactivate(app, ana)
    client = app.test_client()
    deactivated = sign_in(client, "intertec", "ana@example.com", "not her password")
    unknown = sign_in(client, "intertec", "nobody@example.com", "not her password")
    assert deactivated.status_code == unknown.status_code == 401
    assert problems(deactivated) == problems(unknown) == [NOT_CORRECT]
    assert without_tokens(deactivated).replace("ana@example.com", "X") == without_tokens(
        unknown
    ).replace("nobody@example.com", "X")


def test_a_paused_deactivated_account_shows_the_pause_first(app, tenants, ana):
    deactivate(app, ana)
    client = app.test_client()
    for n in range(5):
        sign_in(client, "intertec", "ana", f"guess {n}")
    # The pause is checked before the password: it tells nothing either.
    assert sign_in(client, "intertec", "ana", PASSWORD).status_code == 429


def test_a_deactivated_users_own_magic_link_says_so(app, tenants, ana):
    with app.app_context():
        g.tenant = load_tenant("intertec")
        raw = tokens.issue("magic_link", timedelta(minutes=30), user_id=ana)
    deactivate(app, ana)
    client = app.test_client()
    page = client.get(f"/t/intertec/login/magic/{raw}?lang=en")
    response = client.post(
        f"/t/intertec/login/magic/{raw}?lang=en", data={"csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 403
    assert texts(deactivated_notice(response), "p")[0] == DEACTIVATED
    assert client.get("/t/intertec/account").status_code == 302


def test_a_deactivated_google_account_says_so(google_app, provider):  # noqa: F811
    with google_app.app_context(), all_tenants():
        user = db.session.scalars(select(User).where(User.email == "ana@example.com")).one()
        user.active = False
        db.session.commit()
    client = google_app.test_client()
    client.get("/t/intertec/login?lang=en")  # the language, remembered in the cookie
    response = google_round_trip(client, provider)
    assert response.status_code == 403
    assert texts(deactivated_notice(response), "p")[0] == DEACTIVATED
    assert client.get("/t/intertec/account").status_code == 302


def api_basic(client, login, password):
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return client.post("/t/intertec/api/v1/api-keys", headers={"Authorization": f"Basic {token}"})


def test_the_api_says_deactivated_only_with_the_right_password(app, tenants, ana):
    deactivate(app, ana)
    client = app.test_client()
    right = api_basic(client, "ana@example.com", PASSWORD)
    assert right.status_code == 403 and right.get_json()["error"] == "user_inactive"
    wrong = api_basic(client, "ana@example.com", "not her password")
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_credentials"


# --- the pause ---------------------------------------------------------------------


@pytest.mark.parametrize("login", ["ana", "ghost@example.com"])
def test_the_wrong_password_before_the_last_one_warns(app, tenants, ana, login):
    client = app.test_client()
    said = [problems(sign_in(client, "intertec", login, f"guess {n}")) for n in range(5)]
    assert said[:3] == [[NOT_CORRECT]] * 3
    assert said[3] == [f"{NOT_CORRECT} {ONE_LEFT}"]  # one alert, both sentences
    assert said[4] == [f"{NOT_CORRECT} {PAUSED_NOW}"]
    assert sign_in(client, "intertec", login, PASSWORD).status_code == 429


def test_the_warning_in_italian(app, tenants, ana):
    client = app.test_client()
    for n in range(3):
        sign_in(client, "intertec", "ana", f"guess {n}", lang="it")
    [said] = problems(sign_in(client, "intertec", "ana", "guess 3", lang="it"))
    assert said.endswith("Un tentativo rimasto prima che l'accesso venga sospeso per 15 minuti.")


def test_the_password_change_page_warns_too(app, tenants, ana):
    client = app.test_client()
    assert sign_in(client, "intertec", "ana", PASSWORD).status_code == 302
    url = "/t/intertec/account/password?lang=en"
    said = []
    for n in range(4):
        page = client.get(url)
        answer = client.post(
            url,
            data={
                "csrf_token": csrf_from(page.text),
                "current_password": f"guess {n}",
                "new_password": "otoño en la sabana",
                "confirm_password": "otoño en la sabana",
            },
        )
        said.append(text(doc(answer), "//small[@id='current_password-error']"))
    assert said[:3] == ["Your current password is not correct."] * 3
    assert said[3] == f"Your current password is not correct. {ONE_LEFT}"


def test_the_console_api_page_warns_too(app, tenants, ana):
    client = app.test_client()
    assert sign_in(client, "intertec", "ana", PASSWORD).status_code == 302
    said = []
    for n in range(5):
        page = client.get("/t/intertec/console/api?lang=en")
        answer = client.post(
            "/t/intertec/console/api/keys?lang=en",
            data={"csrf_token": csrf_from(page.text), "password": f"guess {n}"},
        )
        said.append(text(doc(answer), "//small[@id='password-error']"))
    assert said[:3] == ["Your password is not correct."] * 3
    assert said[3] == f"Your password is not correct. {ONE_LEFT}"
    assert said[4] == f"Your password is not correct. {PAUSED_NOW}"


def test_the_pause_page_names_every_way_in_and_whom_to_call(app, tenants, ana):
    client = app.test_client()
    for n in range(5):
        sign_in(client, "intertec", "ana", f"guess {n}")
    page = doc(sign_in(client, "intertec", "ana", PASSWORD))
    ways = page.xpath("//article//ul/li//a")
    assert [(a.get("href"), text(a)) for a in ways] == [
        ("/t/intertec/login/magic", "Email me a sign-in link"),
        ("/t/intertec/password/forgot", "Choose a new password"),
    ]
    [call] = page.xpath("//article//p[@class='whom-to-call']")
    assert text(call).startswith("Still stuck? Call Intertec:")
    assert call.xpath(".//a/@href") == ["tel:3003292", "tel:+576017430000"]


def test_the_pause_page_offers_google_where_it_works(google_app):  # noqa: F811
    with google_app.app_context(), all_tenants():
        load_tenant("intertec").login_methods = ["password", "google"]
        db.session.commit()
    client = google_app.test_client()
    for n in range(5):
        sign_in(client, "intertec", "ana", f"guess {n}")
    page = doc(sign_in(client, "intertec", "ana", PASSWORD))
    assert [a.get("href") for a in page.xpath("//article//ul/li//a")] == [
        "/t/intertec/login/google",  # no magic link: this tenant has none
        "/t/intertec/password/forgot",
    ]

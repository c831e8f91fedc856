"""Password sign-in: generic errors, throttling, sessions, cross-tenant isolation."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from saas import clock
from saas.audit import AuditEvent
from saas.auth.models import User
from saas.extensions import db
from saas.tenancy import all_tenants
from tests.auth.conftest import csrf_from, outbox, post_form, sign_in
from tests.factories import PASSWORD, make_user
from tests.html import field_error, problems


@pytest.fixture
def ana(app, tenants):
    with app.app_context():
        user = make_user(
            tenants["intertec"].load(), email="ana@example.com", username="ana", name="Ana Gómez"
        )
        return user.id


def body_without_tokens(response):
    import re

    return re.sub(r'(value|content)="[^"]*"', "", response.text)


def test_login_page_offers_the_tenants_methods(client, tenants):
    page = client.get("/t/intertec/login?lang=en").text
    for text in ("Email or username", "Password", "Remember me", ">Sign in<"):
        assert text in page
    assert "Email me a sign-in link" in page
    assert "Sign in with Google" not in page  # no GOOGLE_CLIENT_ID configured
    spanish = client.get("/t/intertec/login?lang=es").text
    assert "Correo electrónico o usuario" in spanish and "Recordarme" in spanish
    # Azteca has no magic link.
    assert "Email me a sign-in link" not in client.get("/t/azteca/login?lang=en").text


def test_sign_in_by_email_or_username(app, client, tenants, ana):
    response = sign_in(client, "intertec", "ANA@example.com", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/t/intertec/console/"
    assert "Ana Gómez" in client.get("/t/intertec/account").text
    other = app.test_client()
    assert sign_in(other, "intertec", "Ana", PASSWORD).status_code == 302
    with app.app_context(), all_tenants():
        user = db.session.get(User, ana)
        assert user.last_sign_in_at is not None
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "signin.succeeded")
        ).all()
        assert [(e.user_id, e.tenant_id, e.ip) for e in events] == [
            (ana, user.tenant_id, "127.0.0.1")
        ] * 2
        assert events[0].created_at is not None


def test_wrong_password_and_unknown_account_look_the_same(app, client, tenants, ana):
    wrong = sign_in(client, "intertec", "ana@example.com", "not the password")
    unknown = sign_in(app.test_client(), "intertec", "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "The email, username or password is not correct." in problems(wrong)
    assert body_without_tokens(wrong).replace("ana@example.com", "X") == body_without_tokens(
        unknown
    ).replace("nobody@example.com", "X")
    with app.app_context(), all_tenants():
        failed = db.session.scalars(
            select(AuditEvent.subject).where(AuditEvent.event == "signin.failed")
        ).all()
        assert failed == [f"user:{ana}", "login:nobody@example.com"]


def test_deactivated_user_gets_the_generic_message(app, client, tenants, ana):
    # Only a wrong password: the right one is told the account is deactivated
    # (tests/auth/test_issue16_signin.py).
    with app.app_context(), all_tenants():
        db.session.get(User, ana).active = False
        db.session.commit()
    response = sign_in(client, "intertec", "ana@example.com", "not her password")
    assert response.status_code == 401
    assert "The email, username or password is not correct." in problems(response)


def test_missing_fields_rerender_with_422(client, tenants):
    response = post_form(client, "/t/intertec/login?lang=es", {"login": "", "password": ""})
    assert response.status_code == 422
    for name in ("login", "password"):  # the form library's own catalog
        assert field_error(response, name) == "Este campo es obligatorio."


def test_five_failures_pause_the_account_and_email_the_owner_once(
    app, client, tenants, ana, frozen_clock
):
    for _ in range(5):
        assert sign_in(client, "intertec", "ana", "wrong password!").status_code == 401
    # Now even the right password waits, and the answer says how long.
    paused = sign_in(client, "intertec", "ana", PASSWORD)
    assert paused.status_code == 429
    assert paused.headers["Retry-After"] == "900"
    assert "Please wait 15 minutes before trying again." in problems(paused)
    sign_in(client, "intertec", "ana", "wrong again!!")
    with app.app_context(), all_tenants():
        [notice] = outbox("signin_locked")
        assert notice.to_addr == "ana@example.com"
        assert "5" in notice.text_body
        assert db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "signin.throttled")
        ).all()
    clock.travel(timedelta(minutes=10))
    assert sign_in(client, "intertec", "ana", PASSWORD).headers["Retry-After"] == "300"
    clock.travel(timedelta(minutes=5, seconds=1))
    assert sign_in(client, "intertec", "ana", PASSWORD).status_code == 302


def test_unknown_accounts_are_paused_the_same_way(client, tenants):
    for _ in range(5):
        assert sign_in(client, "intertec", "ghost@example.com", "whatever123").status_code == 401
    assert sign_in(client, "intertec", "ghost@example.com", "whatever123").status_code == 429


def test_twenty_failures_from_one_ip_pause_that_ip(app, tenants, ana):
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for n in range(20):
        assert (
            sign_in(attacker, "intertec", f"user{n}@example.com", "guess guess").status_code == 401
        )
    assert sign_in(attacker, "intertec", "ana", PASSWORD).status_code == 429
    assert sign_in(attacker, "azteca", "someone", "guess guess").status_code == 429
    # Another address is not affected.
    assert sign_in(app.test_client(), "intertec", "ana", PASSWORD).status_code == 302


def test_session_is_new_at_sign_in_and_cookies_are_locked_down(client, tenants, ana):
    client.get("/t/intertec/login")
    before = client.get_cookie("session").value
    # What a session held before sign-in (say, planted by an attacker) does not survive it.
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    response = sign_in(client, "intertec", "ana", PASSWORD, remember="y")
    assert client.get_cookie("session").value != before
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("_user_id")
    cookies = response.headers.getlist("Set-Cookie")
    for name in ("session", "remember_token"):
        cookie = next(c for c in cookies if c.startswith(name + "="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookies_are_secure_with_https(make_app, tenants, ana):
    app = make_app(BASE_URL="https://portal.example.com")
    client = app.test_client()
    response = sign_in(client, "intertec", "ana", PASSWORD, remember="y")
    assert all("Secure" in c for c in response.headers.getlist("Set-Cookie"))


def test_no_remember_cookie_unless_asked(client, tenants, ana):
    response = sign_in(client, "intertec", "ana", PASSWORD)
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_forms_need_the_csrf_token(client, tenants, ana):
    response = client.post("/t/intertec/login", data={"login": "ana", "password": PASSWORD})
    assert response.status_code == 400


def test_next_only_goes_to_this_site(client, tenants, ana):
    page = client.get("/t/intertec/login?next=//evil.example/x")
    response = client.post(
        "/t/intertec/login",
        data={
            "login": "ana",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.headers["Location"] == "/t/intertec/console/"
    client.post(
        "/t/intertec/logout", data={"csrf_token": csrf_from(client.get("/t/intertec/account").text)}
    )
    assert (
        sign_in(client, "intertec", "ana", PASSWORD, next="/t/intertec/account?x=1").headers[
            "Location"
        ]
        == "/t/intertec/account?x=1"
    )


def test_pages_need_sign_in_and_come_back_after(client, tenants, ana):
    response = client.get("/t/intertec/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/t/intertec/login?next=/t/intertec/account"


def test_same_credentials_do_not_open_another_tenant(app, client, tenants, ana):
    # A user of Intertec with the same email exists nowhere else: Azteca says no.
    assert sign_in(client, "azteca", "ana@example.com", PASSWORD).status_code == 401
    with app.app_context():
        make_user(
            tenants["azteca"].load(), email="ana@example.com", username="ana", password_hash=None
        )
    assert sign_in(client, "azteca", "ana@example.com", PASSWORD).status_code == 401


def test_a_session_of_one_tenant_gives_nothing_at_another(client, tenants, ana):
    assert sign_in(client, "intertec", "ana", PASSWORD).status_code == 302
    assert client.get("/t/intertec/account").status_code == 200
    response = client.get("/t/azteca/account")
    assert response.status_code == 302 and "/t/azteca/login" in response.headers["Location"]
    assert "Ana Gómez" not in client.get("/t/azteca/").text


def test_signing_out_at_another_portal_leaves_the_session_alone(client, tenants, ana):
    """The cookie is shared by every tenant on the host: azteca's sign-out form, posted
    while signed in only at intertec, must not end intertec's session."""
    assert sign_in(client, "intertec", "ana", PASSWORD).status_code == 302
    token = csrf_from(client.get("/t/intertec/account").text)
    assert client.post("/t/azteca/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/t/intertec/account").status_code == 200


def test_sign_out_ends_the_session_everywhere(app, client, tenants, ana):
    sign_in(client, "intertec", "ana", PASSWORD, remember="y")
    stolen = app.test_client()
    for cookie in ("session", "remember_token"):
        stolen.set_cookie(cookie, client.get_cookie(cookie).value)
    assert stolen.get("/t/intertec/account").status_code == 200
    assert client.get("/t/intertec/logout").status_code == 405  # only POST signs out
    token = csrf_from(client.get("/t/intertec/account").text)
    response = client.post("/t/intertec/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/t/intertec/login"
    assert client.get("/t/intertec/account").status_code == 302
    # A copy of the old cookies is worth nothing now.
    assert stolen.get("/t/intertec/account").status_code == 302
    with app.app_context(), all_tenants():
        assert db.session.scalars(
            select(AuditEvent.event).where(AuditEvent.event == "signout")
        ).all()


def test_preferred_language_is_saved_and_used(client, tenants, ana):
    sign_in(client, "intertec", "ana", PASSWORD)
    page = client.get("/t/intertec/account")
    response = client.post(
        "/t/intertec/account", data={"locale": "it", "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 302
    assert '<html lang="it"' in client.get("/t/intertec/").text


@pytest.mark.committed  # the live server's threads
def test_twenty_simultaneous_wrong_passwords_check_at_most_five(app, tenants, ana):
    """The account limit holds under concurrency: no burst gets more guesses through."""
    import threading

    import requests

    from tests.conftest import LiveServer

    with LiveServer(app) as server:
        sessions = []
        for _ in range(20):
            s = requests.Session()
            page = s.get(f"{server.url}/t/intertec/login", timeout=10)
            sessions.append((s, csrf_from(page.text)))
        barrier = threading.Barrier(len(sessions))
        statuses = []

        def guess(s, token):
            barrier.wait()
            response = s.post(
                f"{server.url}/t/intertec/login",
                data={"csrf_token": token, "login": "ana", "password": "wrong guess"},
                timeout=60,
            )
            statuses.append(response.status_code)

        threads = [threading.Thread(target=guess, args=pair) for pair in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(statuses) == 20 and statuses.count(429) == 15
    with app.app_context(), all_tenants():
        failed = db.session.scalars(select(AuditEvent).filter_by(event="signin.failed")).all()
        assert len(failed) == 5


def test_a_tenant_without_password_sign_in_refuses_it(app, client, tenants, ana):
    """The right password still opens nothing where the tenant turned passwords off."""
    with app.app_context():
        tenant = tenants["intertec"].load()
        tenant.login_methods = ["magic_link"]
        db.session.commit()
    page = client.get("/t/intertec/login?lang=en")
    assert page.status_code == 200 and 'name="password"' not in page.text
    response = post_form(
        client,
        "/t/intertec/login",
        {"login": "ana", "password": PASSWORD},
        get_url="/t/intertec/login/magic",  # a page of the tenant with a CSRF token
    )
    assert response.status_code == 404
    assert client.get("/t/intertec/account").status_code == 302  # still signed out

"""Google sign-in end to end against an OpenID Connect provider served on loopback."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from saas.audit import AuditEvent
from saas.auth.models import User
from saas.extensions import db
from saas.tenancy import all_tenants
from tests.factories import make_user
from tests.html import problems
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def google_app(make_app, provider, tenants):
    app = make_app(
        # The test client's host, so the session that holds state and nonce comes back.
        BASE_URL="http://localhost",
        GOOGLE_CLIENT_ID=CLIENT_ID,
        GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
        GOOGLE_DISCOVERY_URL=f"{provider.url}/.well-known/openid-configuration",
    )
    with app.app_context():
        make_user(
            tenants["intertec"].load(), email="ana@example.com", username="ana", name="Ana Gómez"
        )
    return app


def google_round_trip(client, provider, slug="intertec", tamper_state=False):
    """Press "Sign in with Google", let the provider answer, come back to the callback."""
    start = client.get(f"/t/{slug}/login/google")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    assert authorize.startswith(provider.url + "/authorize")
    back = requests.get(authorize, allow_redirects=False, timeout=10)
    callback = urlsplit(back.headers["Location"])
    query = callback.query
    if tamper_state:
        query = query.replace("state=", "state=x")
    return client.get(f"{callback.path}?{query}")


def test_button_shows_when_configured(google_app):
    page = google_app.test_client().get("/t/intertec/login?lang=en").text
    assert "Sign in with Google" in page


def test_sign_in_with_google(google_app, provider):
    client = google_app.test_client()
    response = google_round_trip(client, provider)
    assert response.status_code == 302 and response.headers["Location"] == "/t/intertec/console/"
    assert "Ana Gómez" in client.get("/t/intertec/account").text
    [request] = provider.authorize_requests
    assert request["prompt"] == "select_account"
    assert request["redirect_uri"] == "http://localhost/auth/google/callback"
    assert request["nonce"] and request["state"]
    assert set(request["scope"].split()) == {"openid", "email", "profile"}
    with google_app.app_context(), all_tenants():
        events = db.session.scalars(select(AuditEvent.event)).all()
        assert "google.signin" in events and "signin.succeeded" in events


def test_unknown_google_address_gets_a_message_and_no_account(google_app, provider):
    provider.next_email = "stranger@example.com"
    client = google_app.test_client()
    response = google_round_trip(client, provider)
    assert response.headers["Location"] == "/t/intertec/login"
    page = client.get("/t/intertec/login")
    assert any(
        p.startswith("No hay ninguna cuenta para stranger@example.com en Intertec.")
        for p in problems(page)
    )
    assert client.get("/t/intertec/account").status_code == 302
    with google_app.app_context(), all_tenants():
        assert (
            db.session.scalars(select(User).where(User.email == "stranger@example.com")).all() == []
        )


def test_unverified_google_address_is_refused(google_app, provider):
    provider.email_verified = False
    client = google_app.test_client()
    google_round_trip(client, provider)
    assert client.get("/t/intertec/account").status_code == 302


def test_state_and_nonce_are_checked(google_app, provider):
    client = google_app.test_client()
    google_round_trip(client, provider, tamper_state=True)
    assert client.get("/t/intertec/account").status_code == 302
    provider.nonce_override = "a-nonce-from-another-login"
    google_round_trip(client, provider)
    assert client.get("/t/intertec/account").status_code == 302
    assert "El acceso con Google no se completó." in client.get("/t/intertec/login").text


def test_google_user_of_another_tenant_is_unknown_here(google_app, provider):
    # Azteca offers Google too, but Ana is a user of Intertec only.
    client = google_app.test_client()
    google_round_trip(client, provider, slug="azteca")
    assert client.get("/t/azteca/account").status_code == 302
    assert client.get("/t/intertec/account").status_code == 302


def test_disabled_or_unconfigured_google_is_404(google_app, app):
    assert google_app.test_client().get("/t/adriatica/login/google").status_code == 404
    assert app.test_client().get("/t/intertec/login/google").status_code == 404  # no client id


def test_callback_without_a_started_sign_in_is_404(google_app):
    assert google_app.test_client().get("/auth/google/callback?code=x&state=y").status_code == 404


def test_tenant_domain_starts_on_the_platform_host(google_app, provider):
    response = google_app.test_client().get(
        "/login/google", headers={"Host": "fatture.adriatica.localhost"}
    )
    assert response.status_code == 404  # Adriatica has no Google; now enable it
    with google_app.app_context(), all_tenants():
        from saas.tenancy import load_tenant

        tenant = load_tenant("adriatica")
        tenant.login_methods = [*tenant.login_methods, "google"]
        db.session.commit()
    response = google_app.test_client().get(
        "/login/google", headers={"Host": "fatture.adriatica.localhost"}
    )
    assert response.headers["Location"] == "http://localhost/t/adriatica/login/google"
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {}


def test_two_sign_ins_in_two_tabs_each_return_to_their_tenant(google_app, provider, tenants):
    """Started at Intertec, then at Adriatica in another tab, then Intertec's finishes."""
    with google_app.app_context():
        adriatica = tenants["adriatica"].load()
        adriatica.login_methods = [*adriatica.login_methods, "google"]
        make_user(adriatica, email="ana@example.com", username="ana", name="Ana Rossi")
        db.session.commit()
    client = google_app.test_client()

    def come_back(authorize):
        back = requests.get(authorize, allow_redirects=False, timeout=10).headers["Location"]
        back = urlsplit(back)
        return client.get(f"{back.path}?{back.query}")

    first = client.get("/t/intertec/login/google").headers["Location"]
    second = client.get("/t/adriatica/login/google").headers["Location"]
    done = come_back(first)
    assert done.status_code == 302 and done.headers["Location"].startswith("/t/intertec/")
    assert "Ana Gómez" in client.get("/t/intertec/account").text
    # Signing in started a new session, so the other tab's attempt cannot finish: it says
    # so on its own tenant's sign-in page, and signs nobody in anywhere.
    late = come_back(second)
    assert late.status_code == 302 and late.headers["Location"] == "/t/adriatica/login"
    # (flashed in the language of the callback: Adriatica's, Italian)
    assert "L'accesso con Google non è stato completato" in client.get(
        "/t/adriatica/login"
    ).text.replace("&#39;", "'")
    assert client.get("/t/adriatica/account").status_code == 302
    again = come_back(client.get("/t/adriatica/login/google").headers["Location"])
    assert again.headers["Location"].startswith("/t/adriatica/")
    assert "Ana Rossi" in client.get("/t/adriatica/account").text

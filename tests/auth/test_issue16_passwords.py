"""Issue 16, item 15 (part): a password that contains the username or the email (its
local part) is refused, in the person's language, by every form that sets one: the
password change, a reset link, the welcome link, the console's new staff user, the
platform's operators."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from flask_babel import force_locale

from saas.auth import tokens
from saas.auth.passwords import contains_identity, password_problem
from saas.auth.services import UserError
from saas.platform.views import PlatformError, create_platform_admin
from saas.seats import staff_accounts
from saas.tenancy import load_tenant
from tests.auth.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, make_user
from tests.html import field_error

CONTAINS = "Your password must not contain your username or your email address."
CONTAINS_ES = "Su contraseña no debe contener su nombre de usuario ni su correo electrónico."
CONTAINS_IT = "La password non deve contenere il tuo nome utente né il tuo indirizzo email."


@pytest.mark.parametrize(
    "password",
    [
        "carlos.ruiz2026!",  # the local part
        "MiClave-Carlos.Ruiz-99",  # inside, other case
        "carlosruiz en bogotá",  # without the dot
        "carlos.ruiz@example.com!",  # the whole address
        "2026-cruiz-largo",  # the username
        "CRUIZ la sabana",
        "ÇRUÍZ con acentos",  # accents do not hide it
    ],
)
def test_a_password_holding_an_identity_is_refused(password):
    assert contains_identity(password, email="carlos.ruiz@example.com", username="cruiz")


@pytest.mark.parametrize(
    "password, username",
    [
        ("otoño en la sabana", "ana"),  # a short name inside a word is no identity
        ("banana split forever", "ana"),
        ("correct horse battery staple", "carlos"),
        ("a1b2c3d4e5f6", "bo"),  # two letters: only the whole password would be
    ],
)
def test_other_passwords_pass(password, username):
    assert not contains_identity(password, email=f"{username}@example.com", username=username)


def test_a_short_identity_at_either_end_is_refused():
    assert contains_identity("ana es mi nombre", username="ana")
    assert contains_identity("mi nombre es ana", username="ana")


def test_the_message_is_in_the_current_language(app):
    with app.test_request_context("/"):
        for locale, message in (("en", CONTAINS), ("es", CONTAINS_ES), ("it", CONTAINS_IT)):
            with force_locale(locale):
                assert password_problem("carlos2026!!", email="carlos@example.com") == message


@pytest.fixture
def carlos(app, tenants):
    with app.app_context():
        return make_user(
            tenants["intertec"].load(),
            email="carlos.ruiz@example.com",
            username="cruiz",
            kind="recipient",
            role=None,
        ).id


def post_password(client, url, **data):
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_from(page.text), **data})


def test_the_password_change_page(app, tenants, carlos):
    client = app.test_client()
    assert sign_in(client, "intertec", "cruiz", PASSWORD).status_code == 302
    answer = post_password(
        client,
        "/t/intertec/account/password?lang=es",
        current_password=PASSWORD,
        new_password="Carlos.Ruiz en Bogotá",
        confirm_password="Carlos.Ruiz en Bogotá",
    )
    assert answer.status_code == 422
    assert field_error(answer, "new_password") == CONTAINS_ES


def link(app, purpose, user_id):
    with app.app_context():
        g.tenant = load_tenant("intertec")
        return tokens.issue(purpose, timedelta(hours=1), user_id=user_id)


def test_a_reset_link(app, tenants, carlos):
    raw = link(app, "reset_email", carlos)
    answer = post_password(
        app.test_client(),
        f"/t/intertec/password/reset/{raw}?lang=it",
        user=str(carlos),
        new_password="cruiz-2026-nuova",
        confirm_password="cruiz-2026-nuova",
    )
    assert answer.status_code == 422
    assert field_error(answer, "new_password") == CONTAINS_IT


def test_the_welcome_link(app, tenants, carlos):
    raw = link(app, "set_password", carlos)
    answer = post_password(
        app.test_client(),
        f"/t/intertec/welcome/{raw}?lang=en",
        new_password="hola carlos.ruiz",
        confirm_password="hola carlos.ruiz",
    )
    assert answer.status_code == 422
    assert field_error(answer, "new_password") == CONTAINS


def test_a_new_staff_user(app, tenants):
    with app.test_request_context("/"):
        tenant = g.tenant = load_tenant("intertec")
        with force_locale("es"), pytest.raises(UserError) as refused:
            staff_accounts.create_user(
                tenant,
                None,
                name="Marta",
                email="marta.gil@intertec.co",
                password="soy marta.gil de intertec",
                role="biller",
            )
    assert refused.value.code == "weak_password"
    assert str(refused.value) == CONTAINS_ES


def test_a_platform_operator(app):
    with app.test_request_context("/"), pytest.raises(PlatformError) as refused:
        create_platform_admin(email="ops.team@portal.test", name="Ops", password="ops.team 2026!")
    assert str(refused.value) == CONTAINS

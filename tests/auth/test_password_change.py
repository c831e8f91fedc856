"""First sign-in with a forced change, the password rules, and changing a password."""

import pytest
from sqlalchemy import select

from saas.auth.models import User
from saas.auth.passwords import common_passwords
from saas.extensions import db
from saas.security import verify_password
from saas.tenancy import all_tenants
from tests.auth.conftest import csrf_from, outbox, sign_in
from tests.factories import PASSWORD, make_user
from tests.html import field_error

NEW = "otoño en la sabana de bogotá"


@pytest.fixture
def carlos(app, tenants):
    with app.app_context():
        return make_user(
            tenants["intertec"].load(),
            email="carlos@example.com",
            username="carlos",
            name="Carlos",
            kind="recipient",
            role=None,
            must_change_password=True,
        ).id


def change(client, lang="en", **fields):
    page = client.get(f"/t/intertec/account/password?lang={lang}")
    return client.post(
        f"/t/intertec/account/password?lang={lang}",
        data={**fields, "csrf_token": csrf_from(page.text)},
    )


def test_forced_change_blocks_everything_else(client, carlos):
    response = sign_in(client, "intertec", "carlos", PASSWORD)
    assert response.headers["Location"] == "/t/intertec/invoices"
    for path in ("/t/intertec/account", "/t/intertec/"):
        blocked = client.get(path)
        assert blocked.status_code == 302
        assert blocked.headers["Location"] == "/t/intertec/account/password"
    page = client.get("/t/intertec/account/password?lang=en").text
    for text in ("Change your password", "New password", "Confirm password", ">Update<"):
        assert text in page
    assert "Current password" not in page  # just signed in: not asked again


@pytest.mark.parametrize(
    "new, confirm, lang, field, message",
    [
        ("short one", "short one", "en", "new_password", "Use at least 10 characters."),
        (
            "carlos@example.com",
            "carlos@example.com",
            "en",
            "new_password",
            "Your password must not be your email or username.",
        ),
        (
            "password123",
            "password123",
            "en",
            "new_password",
            "This password is too common. Choose one that is harder to guess.",
        ),
        (
            "a long enough one",
            "another long one",
            "en",
            "confirm_password",
            "The two passwords do not match.",
        ),
        ("corta", "corta", "es", "new_password", "Use al menos 10 caracteres."),
        (
            "qwertyuiop",
            "qwertyuiop",
            "it",
            "new_password",
            "Questa password è troppo comune. Scegline una più difficile da indovinare.",
        ),
    ],
)
def test_password_rules_in_the_users_language(client, carlos, new, confirm, lang, field, message):
    sign_in(client, "intertec", "carlos", PASSWORD)
    response = change(client, lang=lang, new_password=new, confirm_password=confirm)
    assert response.status_code == 422
    assert field_error(response, field) == message


def test_common_password_list_is_large():
    assert len(common_passwords()) >= 10_000
    assert {"123456", "password", "qwerty"} <= common_passwords()


def test_forced_change_updates_and_ends_other_sessions(app, client, carlos):
    sign_in(client, "intertec", "carlos", PASSWORD)
    elsewhere = app.test_client()
    sign_in(elsewhere, "intertec", "carlos", PASSWORD)
    response = change(client, new_password=NEW, confirm_password=NEW)
    assert response.headers["Location"] == "/t/intertec/invoices"
    assert client.get("/t/intertec/account").status_code == 200  # this session goes on
    assert elsewhere.get("/t/intertec/account").status_code == 302  # the other one ended
    with app.app_context(), all_tenants():
        user = db.session.get(User, carlos)
        assert not user.must_change_password
        assert verify_password(user.password_hash, NEW)
        [mail] = outbox("password_changed")
        assert mail.to_addr == "carlos@example.com"
        assert mail.subject == "Se cambió su contraseña de Intertec"
    assert sign_in(app.test_client(), "intertec", "carlos", PASSWORD).status_code == 401
    assert sign_in(app.test_client(), "intertec", "carlos", NEW).status_code == 302


def test_voluntary_change_needs_the_current_password(app, client, tenants):
    with app.app_context():
        make_user(tenants["intertec"].load(), email="d@example.com", username="dora")
    sign_in(client, "intertec", "dora", PASSWORD)
    assert "Current password" in client.get("/t/intertec/account/password?lang=en").text
    wrong = change(client, current_password="nope", new_password=NEW, confirm_password=NEW)
    assert wrong.status_code == 422
    assert field_error(wrong, "current_password") == "Your current password is not correct."
    right = change(client, current_password=PASSWORD, new_password=NEW, confirm_password=NEW)
    assert right.status_code == 302
    with app.app_context(), all_tenants():
        user = db.session.scalars(select(User).where(User.username == "dora")).one()
        assert verify_password(user.password_hash, NEW)


def test_change_works_when_the_language_is_first_needed_after_it(app, client, carlos):
    # Regression: the flash after the change was the first thing to need the language,
    # which read current_user while it pointed at itself (a crash of the process).
    sign_in(client, "intertec", "carlos", PASSWORD)
    page = client.get("/t/intertec/account/password")
    response = client.post(
        "/t/intertec/account/password",
        data={"new_password": NEW, "confirm_password": NEW, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302
    assert "Your password has been updated." in client.get("/t/intertec/account").text

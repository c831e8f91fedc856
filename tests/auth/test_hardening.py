"""Low-severity findings of the security review, each as its attack (which must fail now).

A. the password asked again (API key, password change) is throttled like sign-in;
B. magic links are limited per IP too;
C. guessing pauses an account, but not for its owner (known device, magic link);
F. deactivation revokes keys for good; only the owner changes the owner's scope.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from saas import clock
from saas.auth import apikeys
from saas.auth.models import ApiKey, User
from saas.companies import Company
from saas.extensions import db
from saas.platform.views import create_platform_admin
from saas.seats import purchases, staff_accounts
from saas.security import verify_password
from saas.tenancy import all_tenants
from tests.auth.conftest import csrf_from, link_in, outbox, post_form, sign_in
from tests.factories import PASSWORD, make_user
from tests.html import doc, problems, text

NEW_PASSWORD = "otra contraseña muy larga y nueva"


@pytest.fixture
def ana(app, tenants):
    with app.app_context():
        return make_user(
            tenants["intertec"].load(), email="ana@example.com", username="ana", name="Ana"
        ).id


@pytest.fixture
def bob(app, tenants):
    with app.app_context():
        return make_user(
            tenants["intertec"].load(), email="bob@example.com", username="bob", name="Bob"
        ).id


def signed_in(app, login="ana", password=PASSWORD, ip=None):
    client = app.test_client()
    if ip:
        client.environ_base["REMOTE_ADDR"] = ip
    assert sign_in(client, "intertec", login, password).status_code == 302
    return client


def sign_out(client):
    token = csrf_from(client.get("/t/intertec/account").text)
    assert client.post("/t/intertec/logout", data={"csrf_token": token}).status_code == 302


def ask_for_key(client, password):
    return post_form(
        client,
        "/t/intertec/console/api/keys?lang=en",
        {"password": password},
        get_url="/t/intertec/console/api?lang=en",
    )


def key_count(app) -> int:
    with app.app_context(), all_tenants():
        return len(db.session.scalars(select(ApiKey)).all())


# --- A. re-entering the password ----------------------------------------------------------


def test_console_api_key_password_is_throttled_like_sign_in(app, tenants, ana, frozen_clock):
    client = signed_in(app)
    statuses = [ask_for_key(client, f"guess number {n}").status_code for n in range(30)]
    assert statuses[:5] == [422] * 5 and set(statuses[5:]) == {429}
    right = ask_for_key(client, PASSWORD)
    assert right.status_code == 429 and "inv_" not in right.text
    assert "Too many wrong passwords: please wait 15 minutes before trying again." in problems(
        right
    )
    assert right.headers["Retry-After"]
    assert key_count(app) == 0
    # The same lock as the sign-in page: the account is paused there too.
    assert sign_in(app.test_client(), "intertec", "ana", PASSWORD).status_code == 429
    clock.travel(timedelta(minutes=15, seconds=1))
    assert ask_for_key(client, PASSWORD).status_code == 303
    assert key_count(app) == 1


def test_api_key_endpoint_is_throttled(app, tenants, ana, frozen_clock):
    client = app.test_client()

    def post(password):
        token = base64.b64encode(f"ana@example.com:{password}".encode()).decode()
        return client.post(
            "/t/intertec/api/v1/api-keys", headers={"Authorization": f"Basic {token}"}
        )

    statuses = [post(f"guess number {n}").status_code for n in range(30)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    right = post(PASSWORD)
    assert right.status_code == 429 and "key" not in right.get_json()
    assert key_count(app) == 0


def change_password(client, current):
    return post_form(
        client,
        "/t/intertec/account/password?lang=en",
        {
            "current_password": current,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )


def test_change_password_current_password_is_throttled(app, tenants, ana, frozen_clock):
    client = signed_in(app)
    statuses = [change_password(client, f"guess number {n}").status_code for n in range(30)]
    assert statuses[:5] == [422] * 5 and set(statuses[5:]) == {429}
    assert change_password(client, PASSWORD).status_code == 429
    with app.app_context(), all_tenants():
        assert verify_password(db.session.get(User, ana).password_hash, PASSWORD)
    assert sign_in(app.test_client(), "intertec", "ana", PASSWORD).status_code == 429


# --- B. magic links per IP -----------------------------------------------------------------


def ask_link(client, email):
    return post_form(client, "/t/intertec/login/magic?lang=en", {"email": email})


def without_tokens(response):
    return re.sub(r'(value|content)="[^"]*"', "", response.text)


def test_magic_links_are_limited_per_ip(app, tenants, ana):
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    statuses = [ask_link(attacker, f"person{n}@example.com").status_code for n in range(40)]
    assert statuses[:20] == [200] * 20 and set(statuses[20:]) == {429}
    # A real address and an unknown one get the very same answer.
    known, unknown = ask_link(attacker, "ana@example.com"), ask_link(attacker, "zz@example.com")
    assert known.status_code == unknown.status_code == 429
    assert without_tokens(known) == without_tokens(unknown)
    # Another address is not held back.
    assert ask_link(app.test_client(), "ana@example.com").status_code == 200


# --- C. no lockout of the account's owner ----------------------------------------------------


def guess(app, login, times, ip="203.0.113.66"):
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = ip
    for n in range(times):
        sign_in(attacker, "intertec", login, f"guess number {n}")
    return attacker


def test_owners_known_device_still_signs_in_while_the_account_is_paused(app, tenants, ana):
    device = signed_in(app)
    sign_out(device)
    attacker = guess(app, "ana", 30)
    assert sign_in(attacker, "intertec", "ana", PASSWORD).status_code == 429
    assert sign_in(app.test_client(), "intertec", "ana", PASSWORD).status_code == 429
    # The owner, on the browser they used before, gets in.
    assert sign_in(device, "intertec", "ana", PASSWORD).status_code == 302
    assert device.get("/t/intertec/account").status_code == 200


def test_one_ip_full_of_failures_does_not_lock_out_known_devices(app, tenants, ana):
    device = signed_in(app, ip="192.0.2.50")
    sign_out(device)
    for n in range(20):
        sign_in(device, "intertec", f"user{n}@example.com", "guess guess")
    assert sign_in(app.test_client(), "intertec", "ana", PASSWORD).status_code == 302
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "192.0.2.50"
    assert sign_in(stranger, "intertec", "ana", PASSWORD).status_code == 429
    assert sign_in(device, "intertec", "ana", PASSWORD).status_code == 302


def test_a_known_device_of_another_user_or_a_forged_one_does_not_help(app, tenants, ana, bob):
    bobs = signed_in(app, "bob")
    sign_out(bobs)
    guess(app, "ana", 5)
    assert sign_in(bobs, "intertec", "ana", PASSWORD).status_code == 429
    forged = app.test_client()
    with app.app_context(), all_tenants():
        name = f"known_device_{tenants['intertec'].id}"
    forged.set_cookie(name, "eyJ0IjoxLCJ1IjoxLCJkIjoieCJ9.forged.signature")
    assert sign_in(forged, "intertec", "ana", PASSWORD).status_code == 429


def test_a_known_device_has_its_own_limit(app, tenants, ana):
    device = signed_in(app)
    sign_out(device)
    guess(app, "ana", 5)
    for n in range(5):
        assert sign_in(device, "intertec", "ana", f"wrong again {n}").status_code == 401
    assert sign_in(device, "intertec", "ana", PASSWORD).status_code == 429


def test_the_lock_page_says_how_the_owner_still_gets_in_and_magic_links_work(app, tenants, ana):
    attacker = guess(app, "ana", 5)
    page = sign_in(attacker, "intertec", "ana", PASSWORD)
    assert page.status_code == 429
    ways = doc(page).xpath("//article//li")
    assert "Your password still works on a device you have signed in from before." in [
        text(li) for li in ways
    ]
    assert [a.get("href") for li in ways for a in li.xpath(".//a")] == [
        "/t/intertec/login/magic",
        "/t/intertec/password/forgot",
    ]
    owner = app.test_client()
    assert ask_link(owner, "ana@example.com").status_code == 200
    with app.app_context(), all_tenants():
        link = link_in(outbox("magic_link")[-1].text_body)
    path = link.split("portal.test", 1)[1]
    response = post_form(owner, path, {})
    assert response.status_code in (302, 303)
    assert owner.get("/t/intertec/account").status_code == 200


# --- F. keys of deactivated users, the owner's scope ------------------------------------------


def test_keys_of_users_unseated_by_an_expiry_stay_revoked_after_reactivation(
    app, tenants, frozen_clock
):
    with app.app_context():
        tenant = g.tenant = tenants["azteca"].load()
        tenant.plan = "pyme"
        owner = staff_accounts.create_user(
            tenant, None, name="O", email="o@a.mx", password=PASSWORD, role="admin"
        )
        ops = create_platform_admin(email="ops@p.test", name="Ops", password=PASSWORD)
        purchases.activate_purchase(purchases.request_purchase(tenant, owner, 1), ops, "TR-1")
        made = []
        for n in range(2):
            clock.travel(timedelta(minutes=1))
            made.append(
                staff_accounts.create_user(
                    tenant, None, name=f"U{n}", email=f"u{n}@a.mx", password=PASSWORD, role="biller"
                ).id
            )
        _key, raw = apikeys.create_api_key(db.session.get(User, made[1]))
        db.session.commit()
        assert apikeys.check_api_key(raw).error is None
        clock.travel(timedelta(days=366))
        assert purchases.expire_purchases(tenant) == 1
        db.session.expire_all()
        newest = db.session.get(User, made[1])
        assert not newest.active
        assert db.session.scalars(select(ApiKey)).one().revoked_at is not None
        # Seats again, and the user back: their old key must not come back with them.
        purchases.activate_purchase(purchases.request_purchase(tenant, owner, 1), ops, "TR-1")
        staff_accounts.reactivate_user(tenant, owner, newest)
        assert db.session.get(User, made[1]).active
        assert apikeys.check_api_key(raw).error == "key_revoked_manually"


def test_a_user_made_inactive_any_way_loses_their_keys(app, tenants, ana):
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        user = db.session.get(User, ana)
        _key, raw = apikeys.create_api_key(user)
        db.session.commit()
        user.active = False
        db.session.commit()
        assert apikeys.check_api_key(raw).error == "user_inactive"
        user.active = True
        db.session.commit()
        assert apikeys.check_api_key(raw).error == "key_revoked_manually"


def test_a_co_administrator_cannot_change_the_owners_companies(app, tenants):
    with app.app_context():
        tenant = g.tenant = tenants["azteca"].load()
        tenant.plan = "pyme"
        db.session.commit()
        olga = staff_accounts.create_user(
            tenant, None, name="Olga", email="olga@azteca.mx", password=PASSWORD, role="admin"
        )
        staff_accounts.create_user(
            tenant, None, name="Carl", email="carl@azteca.mx", password=PASSWORD, role="admin"
        )
        company = Company(
            tenant_id=tenant.id, tax_id="AAA010101AAA", name="Sucursal", kind="issuer"
        )
        db.session.add(company)
        db.session.commit()
        olga_id, company_id = olga.id, company.id
    url = f"/t/azteca/console/users/{olga_id}?lang=en"

    def give_olga_the_company(login):
        client = app.test_client()
        assert sign_in(client, "azteca", login, PASSWORD).status_code == 302
        page = client.get(url)
        fields = {"name": "Olga", "email": "olga@azteca.mx", "password": "", "role": "admin"}
        fields.update(csrf_token=csrf_from(page.text), companies=[str(company_id)])
        return client.post(url, data=fields)

    response = give_olga_the_company("carl")
    assert response.status_code == 422
    assert "Only the owner of the portal can change the companies they see." in problems(response)
    with app.app_context(), all_tenants():
        assert db.session.get(User, olga_id).companies == []
    # The owner may change their own.
    assert give_olga_the_company("olga").status_code == 303
    with app.app_context(), all_tenants():
        assert [c.id for c in db.session.get(User, olga_id).companies] == [company_id]

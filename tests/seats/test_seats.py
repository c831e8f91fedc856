"""Users page, seats, buying extra users, the platform console and company scoping."""

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from saas import clock
from saas.auth.models import User
from saas.companies import Company
from saas.extensions import db
from saas.mail import OutboxMessage
from saas.platform.views import create_platform_admin
from saas.portal.publishing import PublishError, publish
from saas.seats import ledger, purchases, staff_accounts
from saas.seats.models import SeatPurchase
from saas.tenancy import all_tenants
from tests.auth.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, make_tenant
from tests.html import field_error, problems
from tests.invoices import ubl_invoice
from tests.portal.conftest import publish_for


@pytest.fixture
def owner(app, tenants):
    """Azteca (plan pyme: 1 extra user included, MXN) with its owner signed in."""
    with app.app_context():
        tenant = tenants["azteca"].load()
        tenant.plan = "pyme"
        db.session.commit()
        user = staff_accounts.create_user(
            tenant,
            None,
            name="Olga Owner",
            email="olga@azteca.mx",
            password=PASSWORD,
            role="admin",
        )
        assert user.is_owner
    client = app.test_client()
    assert sign_in(client, "azteca", "olga", PASSWORD).status_code == 302
    return client


def new_user(client, n, role="biller", lang="en"):
    page = client.get(f"/t/azteca/console/users?lang={lang}")
    return client.post(
        f"/t/azteca/console/users?lang={lang}",
        data={
            "csrf_token": csrf_from(page.text),
            "name": f"User {n}",
            "email": f"user{n}@azteca.mx",
            "password": "una contraseña bastante larga",
            "role": role,
        },
    )


def user_id(app, email):
    with app.app_context(), all_tenants():
        return db.session.scalars(select(User.id).where(User.email == email)).one()


def act(client, uid, action):
    page = client.get("/t/azteca/console/users")
    return client.post(
        f"/t/azteca/console/users/{uid}/{action}?lang=en",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )


def test_users_page_and_the_seat_meter(app, owner):
    page = owner.get("/t/azteca/console/users?lang=en").text
    assert "0 of 1 extra users in use" in page
    for label in ("Full name", "Email", "Password", "Profile", "Companies", ">Create<"):
        assert label in page
    assert "Administrator</strong> — <small>Everything" in page
    assert new_user(owner, 1).status_code == 303
    page = owner.get("/t/azteca/console/users?lang=en").text
    assert "1 of 1 extra users in use" in page
    assert "There is no free seat for a new user." in page and "Buy extra users" in page
    refused = new_user(owner, 2)
    assert refused.status_code == 409
    assert "There is no free seat: buy extra users, or reuse a deactivated user." in problems(
        refused
    )
    spanish = owner.get("/t/azteca/console/users?lang=es").text
    assert "1 de 1 usuarios adicionales en uso" in spanish


def test_delete_burns_the_seat_deactivate_keeps_it(app, owner):
    new_user(owner, 1)
    uid = user_id(app, "user1@azteca.mx")
    assert "is deactivated; the seat stays assigned" in act(owner, uid, "deactivate").text
    # Deactivated: edit the data for another person, then reactivate: no new seat needed.
    page = owner.get(f"/t/azteca/console/users/{uid}?lang=en")
    data = {
        "csrf_token": csrf_from(page.text),
        "name": "Nuevo Nombre",
        "email": "nuevo@azteca.mx",
        "password": "",
        "role": "support",
    }
    # No password given: the new person is invited (tests/seats/test_invitations.py).
    edited = owner.post(f"/t/azteca/console/users/{uid}?lang=en", data=data)
    assert edited.status_code == 303
    assert "can sign in again" in act(owner, uid, "reactivate").text
    page = owner.get("/t/azteca/console/users?lang=en").text
    assert "Nuevo Nombre" in page and "1 of 1 extra users in use" in page
    assert "uses up the seat for good" in page and "deactivate the user" in page
    act(owner, uid, "delete")
    page = owner.get("/t/azteca/console/users?lang=en").text
    assert "Nuevo Nombre" not in page
    assert "1 of 1 extra users in use" in page and "used up by a deleted user" in page
    with app.app_context(), all_tenants():
        row = db.session.get(User, uid)
        assert row is not None and row.deleted_at is not None and not row.active
    assert new_user(owner, 3).status_code == 409


def test_nobody_removes_the_last_administrator(app, tenants, owner):
    with app.app_context(), all_tenants():
        olga = db.session.scalars(select(User).filter_by(email="olga@azteca.mx")).one()
        olga_id = olga.id
    for action in ("deactivate", "delete"):
        page = act(owner, olga_id, action)
        assert "The owner of the portal cannot be deleted, deactivated or demoted." in problems(
            page
        )
    new_user(owner, 1, role="admin")
    uid = user_id(app, "user1@azteca.mx")
    with app.app_context():
        tenant = g.tenant = tenants["azteca"].load()
        staff_accounts.deactivate_user(
            tenant, db.session.get(User, olga_id), db.session.get(User, uid)
        )
        other = db.session.get(User, uid)
        other.active, olga = True, db.session.get(User, olga_id)
        db.session.commit()
        # Demoting the other admin is fine while the owner is an active admin.
        staff_accounts.update_user(
            tenant, olga, other, name=other.name, email=other.email, role="biller", companies=[]
        )


def test_buying_extra_users_with_the_platform_console(app, owner, smtp):
    with app.app_context():
        create_platform_admin(email="ops@platform.test", name="Ops", password=PASSWORD)
    quote = owner.get(
        "/t/azteca/console/users/buy?quantity=2&lang=en", headers={"HX-Request": "true"}
    ).text
    assert "$498.00" in quote and "$79.68" in quote and "$577.68" in quote  # 249 MXN + 16% IVA
    page = owner.get("/t/azteca/console/users/buy?lang=es")
    assert "Impuesto (16\xa0%)" in page.text  # Babel: a no-break space in Spanish
    done = owner.post(
        "/t/azteca/console/users/buy?lang=en",
        data={"csrf_token": csrf_from(page.text), "quantity": "2"},
        follow_redirects=True,
    )
    assert "will be active once we confirm the purchase" in done.text
    assert "2 extra users bought, waiting for activation." in done.text
    with app.app_context(), all_tenants():
        mail = db.session.scalars(select(OutboxMessage).filter_by(template="seats_requested")).one()
        assert mail.to_addr == "ops@platform.test"

    ops = app.test_client()
    login = ops.get("/platform/login")
    assert (
        ops.post(
            "/platform/login",
            data={
                "csrf_token": csrf_from(login.text),
                "email": "ops@platform.test",
                "password": "wrong",
            },
        ).status_code
        == 401
    )
    ops.post(
        "/platform/login",
        data={
            "csrf_token": csrf_from(login.text),
            "email": "ops@platform.test",
            "password": PASSWORD,
        },
    )
    console = ops.get("/platform/?lang=en").text
    assert "Pending purchases" in console and "Azteca" in console
    purchase_id = re.search(r"/platform/purchases/(\d+)#activate", console).group(1)
    review = ops.get(f"/platform/purchases/{purchase_id}?lang=en").text
    ops.post(
        f"/platform/purchases/{purchase_id}/activate",
        data={"csrf_token": csrf_from(review), "payment_reference": "TR-1"},
    )
    assert "0 of 3 extra users in use" in owner.get("/t/azteca/console/users?lang=en").text
    with app.app_context(), all_tenants():
        sent = db.session.scalars(select(OutboxMessage).filter_by(template="seats_activated")).all()
        assert [m.to_addr for m in sent] == ["olga@azteca.mx"]
    # Tenant users are not platform operators, and the platform console needs its own sign-in.
    assert owner.get("/platform/").status_code == 302
    assert app.test_client().get("/platform/").headers["Location"] == "/platform/login"


def test_purchases_expire_after_a_year_newest_users_lose_their_seat(app, tenants, frozen_clock):
    with app.app_context():
        tenant = g.tenant = tenants["azteca"].load()
        tenant.plan = "pyme"  # one included extra user, plus the two bought below
        owner = staff_accounts.create_user(
            tenant, None, name="O", email="o@a.mx", password=PASSWORD, role="admin"
        )
        ops = create_platform_admin(email="ops@p.test", name="Ops", password=PASSWORD)
        purchase = purchases.request_purchase(tenant, owner, 2)
        purchases.activate_purchase(purchase, ops, "TR-1")
        made = []
        for n in range(3):
            clock.travel(timedelta(minutes=1))
            made.append(
                staff_accounts.create_user(
                    tenant,
                    owner,
                    name=f"U{n}",
                    email=f"u{n}@a.mx",
                    password=PASSWORD,
                    role="biller",
                ).id
            )
        clock.travel(timedelta(days=336))
        purchases.expire_purchases(tenant)
        reminders = db.session.scalars(select(OutboxMessage).filter_by(template="seats_expiring"))
        assert len(reminders.all()) == 1
        clock.travel(timedelta(days=30))
        assert purchases.expire_purchases(tenant) == 1
        db.session.commit()  # as the daily job would; what follows reads the rows again
        states = [db.session.get(User, uid).active for uid in made]
        assert states == [True, False, False]  # the plan's one seat stays with the oldest
        assert all(db.session.get(User, uid) is not None for uid in made)
        assert db.session.get(SeatPurchase, purchase.id).status == "expired"
        # An unseated user cannot come back without a free seat.
        with pytest.raises(ledger.SeatError):
            staff_accounts.reactivate_user(tenant, owner, db.session.get(User, made[2]))


def test_a_biller_of_company_a_gets_404_on_company_bs_invoices(app, tenants):
    [own] = publish_for(app, "intertec", ubl_invoice("FE-A1"))
    [other] = publish_for(
        app, "intertec", ubl_invoice("FE-B1", issuer="sucursal", customer="cafetera")
    )
    with app.app_context():
        tenant = g.tenant = tenants["intertec"].load()
        company_a = db.session.scalars(
            select(Company).where(Company.tenant_id == tenant.id, Company.tax_id == "900123456-8")
        ).one()
        staff_accounts.create_user(
            tenant, None, name="Owner", email="own@i.co", password=PASSWORD, role="admin"
        )
        staff_accounts.create_user(
            tenant,
            None,  # as the command line does: no first-sign-in change to go through
            name="Bill",
            email="bill@i.co",
            password=PASSWORD,
            role="biller",
            companies=[company_a],
        )
    client = app.test_client()
    assert sign_in(client, "intertec", "bill", PASSWORD).status_code == 302
    assert client.get(f"/t/intertec/console/invoices/{own}/xml").status_code == 200
    assert client.get(f"/t/intertec/console/invoices/{other}/xml").status_code == 404
    listing = client.get("/t/intertec/console/invoices").text
    assert "FE-A1" in listing and "FE-B1" not in listing
    customers = client.get("/t/intertec/console/customers").text
    assert "Distribuidora Andina" in customers and "Cafetera del Valle" not in customers
    # Publishing for company B is refused with the reason; company A's still works.
    with app.app_context():
        tenant = g.tenant = tenants["intertec"].load()
        bill = db.session.scalars(select(User).filter_by(email="bill@i.co")).one()
        with pytest.raises(PublishError, match="not one of the companies assigned"):
            publish(tenant, ubl_invoice("FE-B2", issuer="sucursal"), user_id=bill.id)
        assert publish(tenant, ubl_invoice("FE-A2"), user_id=bill.id).invoices
    # The owner, assigned to no company, sees both.
    boss = app.test_client()
    sign_in(boss, "intertec", "own@i.co", PASSWORD)
    listing = boss.get("/t/intertec/console/invoices").text
    assert "FE-A1" in listing and "FE-B1" in listing


def test_platform_admin_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "platform",
            "create-admin",
            "--email",
            "ops@p.test",
            "--name",
            "Ops",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0 and "Created platform administrator ops@p.test" in result.output
    again = runner.invoke(
        args=[
            "platform",
            "create-admin",
            "--email",
            "ops@p.test",
            "--name",
            "Ops",
            "--password",
            PASSWORD,
        ]
    )
    assert again.exit_code == 1 and "already a platform administrator" in again.output


def test_users_create_cli_respects_seats(app):
    with app.app_context():
        make_tenant("tiny", plan="basic")
    runner = app.test_cli_runner()
    base = ["users", "create", "--tenant", "tiny", "--name", "N", "--password", PASSWORD]
    first = runner.invoke(args=[*base, "--email", "a@t.co", "--role", "admin"])
    assert first.exit_code == 0
    second = runner.invoke(args=[*base, "--email", "b@t.co", "--role", "biller"])
    assert second.exit_code == 1 and "has no free seat" in second.output


def test_another_tenants_admin_gets_404_on_a_users_pages(app, tenants, owner):
    """Olga (Azteca) reaches Intertec's users only through Azteca's URLs: 404 for each."""
    with app.app_context():
        intertec = g.tenant = tenants["intertec"].load()
        boss = staff_accounts.create_user(
            intertec, None, name="Boss", email="boss@i.co", password=PASSWORD, role="admin"
        )
        victim = staff_accounts.create_user(
            intertec, boss, name="Vic", email="vic@i.co", password=PASSWORD, role="biller"
        ).id
    assert owner.get(f"/t/azteca/console/users/{victim}").status_code == 404
    token = csrf_from(owner.get("/t/azteca/console/users").text)
    for action in ("deactivate", "reactivate", "delete"):
        response = owner.post(
            f"/t/azteca/console/users/{victim}/{action}", data={"csrf_token": token}
        )
        assert response.status_code == 404
    edited = owner.post(
        f"/t/azteca/console/users/{victim}",
        data={"csrf_token": token, "name": "X", "email": "x@a.mx", "role": "admin"},
    )
    assert edited.status_code == 404
    with app.app_context(), all_tenants():
        row = db.session.get(User, victim)
        assert row.active and row.deleted_at is None and row.name == "Vic"
    # On Intertec's own URLs Olga's session is nobody: sign in first.
    response = owner.get("/t/intertec/console/users")
    assert response.status_code == 302 and "/t/intertec/login" in response.headers["Location"]


def test_a_seat_given_to_another_person_keeps_nothing_of_the_previous_one(app, tenants, owner):
    from saas.auth import apikeys

    new_user(owner, 1)
    uid = user_id(app, "user1@azteca.mx")
    with app.app_context():
        g.tenant = tenants["azteca"].load()
        _key, raw = apikeys.create_api_key(db.session.get(User, uid))
        db.session.commit()
    previous = app.test_client()
    assert sign_in(previous, "azteca", "user1", "una contraseña bastante larga").status_code == 302
    act(owner, uid, "deactivate")
    with app.app_context():
        tenants["azteca"].load()
        assert apikeys.check_api_key(raw).error == "key_revoked_manually"
    page = owner.get(f"/t/azteca/console/users/{uid}?lang=en")
    owner.post(
        f"/t/azteca/console/users/{uid}?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Nueva Persona",
            "email": "nueva@azteca.mx",
            "password": "clave larga de quien llega",
            "role": "biller",
        },
    )
    act(owner, uid, "reactivate")
    # The previous person: old username and password open nothing, old key is revoked.
    assert (
        sign_in(app.test_client(), "azteca", "user1", "una contraseña bastante larga").status_code
        == 401
    )
    assert previous.get("/t/azteca/console/").status_code == 302
    with app.app_context():
        tenants["azteca"].load()
        check = apikeys.check_api_key(raw)
        assert check.error == "key_revoked_manually"
        row = db.session.get(User, uid)
        assert row.username == "nueva" and row.must_change_password and row.active
    # The new person signs in with their own name and must choose a password first.
    newcomer = app.test_client()
    response = sign_in(newcomer, "azteca", "nueva", "clave larga de quien llega")
    assert response.status_code == 302
    assert newcomer.get("/t/azteca/console/").headers["Location"].endswith("/account/password")


def test_edits_follow_the_password_rules_and_speak_the_language(app, owner):
    new_user(owner, 1)
    uid = user_id(app, "user1@azteca.mx")
    page = owner.get(f"/t/azteca/console/users/{uid}?lang=es")
    weak = owner.post(
        f"/t/azteca/console/users/{uid}?lang=es",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "User 1",
            "email": "user1@azteca.mx",
            "password": "a",
            "role": "biller",
        },
    )
    assert weak.status_code == 422
    assert field_error(weak, "password") == "Use al menos 10 caracteres."
    taken = owner.post(
        f"/t/azteca/console/users/{uid}?lang=es",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Otra",
            "email": "olga@azteca.mx",
            "password": "una contraseña bastante larga",
            "role": "biller",
        },
    )
    assert taken.status_code == 422
    assert field_error(taken, "email") == "Otro usuario ya tiene este correo electrónico."
    assert "already has an account" not in taken.text


def test_another_administrator_cannot_take_over_the_owners_account(app, tenants, owner):
    new_user(owner, 1, role="admin")
    with app.app_context(), all_tenants():
        db.session.get(User, user_id(app, "user1@azteca.mx")).must_change_password = False
        db.session.commit()
    co_admin = app.test_client()
    assert sign_in(co_admin, "azteca", "user1", "una contraseña bastante larga").status_code == 302
    olga = user_id(app, "olga@azteca.mx")
    page = co_admin.get(f"/t/azteca/console/users/{olga}?lang=en")
    for email, password in (
        ("evil@x.mx", "una clave robada muy larga"),
        ("olga@azteca.mx", "otra clave robada larga"),
    ):
        response = co_admin.post(
            f"/t/azteca/console/users/{olga}?lang=en",
            data={
                "csrf_token": csrf_from(page.text),
                "name": "Olga Owner",
                "email": email,
                "password": password,
                "role": "admin",
            },
        )
        assert response.status_code == 422
        assert field_error(response, "email") == (
            "Only the owner of the portal can change its email and password, on their account page."
        )
    demoted = co_admin.post(
        f"/t/azteca/console/users/{olga}?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Olga Owner",
            "email": "olga@azteca.mx",
            "password": "",
            "role": "biller",
        },
    )
    assert demoted.status_code == 422
    assert sign_in(app.test_client(), "azteca", "olga", PASSWORD).status_code == 302
    with app.app_context(), all_tenants():
        row = db.session.get(User, olga)
        assert row.email == "olga@azteca.mx" and row.role == "admin"


def platform_sign_in(client, password=PASSWORD):
    page = client.get("/platform/login")
    return client.post(
        "/platform/login",
        data={
            "csrf_token": csrf_from(page.text),
            "email": "ops@platform.test",
            "password": password,
        },
    )


def test_the_platform_sign_in_is_guarded(app, frozen_clock):
    with app.app_context():
        create_platform_admin(email="ops@platform.test", name="Ops", password=PASSWORD)
    client = app.test_client()
    no_token = client.post(
        "/platform/login", data={"email": "ops@platform.test", "password": PASSWORD}
    )
    assert no_token.status_code == 400 and "platform_admin" not in str(client.get_cookie("session"))
    for _ in range(5):
        assert platform_sign_in(client, "wrong password").status_code == 401
    refused = platform_sign_in(client)  # even the right password waits now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    clock.travel(timedelta(minutes=16))
    assert platform_sign_in(client).status_code == 302


def test_signing_out_of_the_platform_ends_copies_of_the_session(app):
    with app.app_context():
        create_platform_admin(email="ops@platform.test", name="Ops", password=PASSWORD)
    client = app.test_client()
    assert platform_sign_in(client).status_code == 302
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/platform/").status_code == 200
    page = client.get("/platform/")
    client.post("/platform/logout", data={"csrf_token": csrf_from(page.text)})
    assert copy.get("/platform/").status_code == 302  # the copied cookie is worth nothing


def test_platform_sessions_last_twelve_hours(app, frozen_clock, monkeypatch):
    import time

    with app.app_context():
        create_platform_admin(email="ops@platform.test", name="Ops", password=PASSWORD)
    client = app.test_client()
    platform_sign_in(client)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 12 * 3600 + 1)
    assert client.get("/platform/").status_code == 302


def test_issuer_companies_are_added_and_edited_never_taken_from_customers(app, tenants, owner):
    page = owner.get("/t/azteca/console/companies?lang=en")

    def save(tax_id, name, email=""):
        return owner.post(
            "/t/azteca/console/companies?lang=en",
            data={
                "csrf_token": csrf_from(page.text),
                "tax_id": tax_id,
                "name": name,
                "email": email,
            },
        )

    assert save("EKU9003173C9", "Azteca Norte", "facturas@norte.mx").status_code == 303
    assert save("eku9003173c9", "Azteca Norte S.A.", "").status_code == 303  # same, edited
    listing = owner.get("/t/azteca/console/companies?lang=en").text
    assert "Azteca Norte S.A." in listing and "EKU9003173C9" in listing
    assert save("not a tax id", "X").status_code == 422
    bad_email = save("EKU9003173C9", "X", "nope")
    assert field_error(bad_email, "email") == "This is not an email address."
    with app.app_context():
        g.tenant = tenant = tenants["azteca"].load()
        rows = db.session.scalars(select(Company).filter_by(tenant_id=tenant.id)).all()
        assert [(c.tax_id, c.name, c.email, c.kind) for c in rows] == [
            ("EKU9003173C9", "Azteca Norte S.A.", None, "issuer")
        ]
        db.session.add(
            Company(tenant_id=tenant.id, tax_id="XAXX010101000", name="C", kind="customer")
        )
        db.session.commit()
    taken = save("XAXX010101000", "Mine now")
    assert taken.status_code == 422
    assert field_error(taken, "tax_id") == "This tax ID belongs to one of your customers."


def test_a_refused_new_user_shows_why_even_with_no_free_seat(app, owner):
    new_user(owner, 1)  # the one included seat is taken
    page = owner.get("/t/azteca/console/users?lang=en")
    response = owner.post(
        "/t/azteca/console/users?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Dup",
            "email": "olga@azteca.mx",
            "password": "una contraseña bastante larga",
            "role": "biller",
        },
    )
    assert response.status_code == 422
    assert field_error(response, "email") == "Another user already has this email."

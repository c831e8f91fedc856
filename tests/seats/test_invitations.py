"""Staff invitations: a new staff user chooses their own password from a one-time link
that works once, for ACCESS_LINK_DAYS days, on its own tenant only."""

import re
import threading
from datetime import timedelta

import pytest
import requests
from flask import g
from sqlalchemy import select

from saas.auth import tokens
from saas.auth.models import User
from saas.extensions import db
from saas.seats import staff_accounts
from saas.tenancy import all_tenants
from tests import html
from tests.auth.conftest import csrf_from, sign_in
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.portal.conftest import mails, path_of

CHOSEN = "mi propia clave secreta y larga"


def owner_of(app, tenants, slug="azteca", plan="empresa"):
    """The tenant's owner, signed in on a client of their own."""
    with app.app_context():
        tenant = tenants[slug].load()
        tenant.plan = plan
        db.session.commit()
        g.tenant = tenant
        staff_accounts.create_user(
            tenant,
            None,
            name="Olga Owner",
            email=f"olga@{slug}.mx",
            password=PASSWORD,
            role="admin",
        )
    client = app.test_client()
    assert sign_in(client, slug, "olga", PASSWORD).status_code == 302
    return client


@pytest.fixture
def owner(app, tenants):
    return owner_of(app, tenants)


def invite(client, email="bruno@azteca.mx", name="Bruno Biller", lang="en", **extra):
    page = client.get(f"/t/azteca/console/users?lang={lang}")
    data = {"csrf_token": csrf_from(page.text), "name": name, "email": email, "role": "biller"}
    return client.post(f"/t/azteca/console/users?lang={lang}", data={**data, **extra})


def invitation_path(app, email="bruno@azteca.mx") -> str:
    """The link of the newest invitation mailed to `email`."""
    sent = [m for m in mails(app, email) if m["template"] == "staff_invitation"]
    assert sent, f"no invitation to {email}"
    return path_of(re.search(r"https?://\S+/invitation/\S+", sent[-1]["text"]).group(0))


def choose(client, path, password=CHOSEN, **kwargs):
    page = client.get(path, **kwargs)
    data = {"csrf_token": csrf_from(page.text), "new_password": password}
    return client.post(path, data={**data, "confirm_password": password}, **kwargs)


def flashes(answer) -> list[str]:
    """The messages flashed to the page (not the page's own notices)."""
    return html.texts(html.doc(answer), "//main//p[starts-with(@class, 'alert alert-')]")


def row_of(page, name):
    rows = html.doc(page).xpath(f"//tbody/tr[td[1][starts-with(normalize-space(), '{name}')]]")
    assert len(rows) == 1, name
    return rows[0]


def test_a_new_user_is_invited_and_chooses_the_password_once(app, owner):
    form = html.doc(owner.get("/t/azteca/console/users?lang=en"))
    assert form.xpath("//input[@name='password_mode'][@value='invite']/@checked")
    assert html.texts(form, "//fieldset[@class='password-mode']/label") == [
        "Email them a link to choose their own password",
        "Set a password myself",
    ]
    created = invite(owner)
    assert created.status_code == 303
    listing = owner.get("/t/azteca/console/users?lang=en")
    assert flashes(listing) == [
        "We emailed Bruno Biller a link to choose a password; it works once, for 7 days."
    ]
    bruno = row_of(listing, "Bruno Biller")
    assert html.text(bruno, "td[5]") == "Invited"
    assert "Send the invitation again" in html.texts(bruno, ".//button")
    with app.app_context(), all_tenants():
        user = db.session.scalars(select(User).filter_by(email="bruno@azteca.mx")).one()
        assert user.password_hash is None and not user.must_change_password
    (mail,) = [m for m in mails(app, "bruno@azteca.mx")]
    assert mail["template"] == "staff_invitation"
    assert (
        mail["subject"] == "Invitación al portal de facturas de Comercializadora Azteca"
    )  # the tenant's language
    assert "Olga Owner" in mail["text"] and "Usuario: bruno" in mail["text"]
    assert "funciona una sola vez, durante 7 días" in mail["text"]

    path = invitation_path(app)
    person = app.test_client()
    # Opening the link (a mail scanner, a preview) spends nothing.
    for _ in range(2):
        page = person.get(path + "?lang=en")
        assert page.status_code == 200
        assert html.text(html.doc(page), "//h1") == "Choose your password"
    assert person.head(path).status_code == 200
    weak = choose(person, path + "?lang=en", password="bruno")
    assert weak.status_code == 422 and html.field_error(weak, "new_password")
    assert person.get(path).status_code == 200  # a refused password leaves the link usable
    done = choose(person, path)
    assert done.status_code == 303 and done.headers["Location"].endswith("/console/")
    assert person.get("/t/azteca/console/").status_code == 200  # signed in
    # Used: the link is dead for everybody, this person included, on GET and on POST.
    assert person.get(path).status_code == 410
    again = app.test_client()
    gone = again.get(path + "?lang=en")
    assert gone.status_code == 410
    assert html.text(html.doc(gone), "//h1") == "This link no longer works"
    form = {"csrf_token": csrf_from(again.get("/t/azteca/login").text)}
    late = again.post(path, data={**form, "new_password": CHOSEN, "confirm_password": CHOSEN})
    assert late.status_code == 410
    assert sign_in(app.test_client(), "azteca", "bruno", CHOSEN).status_code == 302
    assert html.text(row_of(owner.get("/t/azteca/console/users?lang=en"), "Bruno"), "td[5]") == (
        "Yes"
    )


def test_setting_a_password_myself_stays_an_option_and_nothing_is_dropped(app, owner):
    # The invitation chosen but a password typed: refused, not silently ignored.
    both = invite(owner, password_mode="invite", password="una clave que nadie recibe")
    assert both.status_code == 422
    assert html.field_error(both, "password") == (
        "To send an invitation, leave the password empty; or choose “Set a password myself”."
    )
    missing = invite(owner, password_mode="set")
    assert missing.status_code == 422
    assert html.field_error(missing, "password") == "Choose a password for the new user."
    assert mails(app, "bruno@azteca.mx") == []
    given = invite(owner, password_mode="set", password="una clave que doy yo misma")
    assert given.status_code == 303
    assert flashes(owner.get("/t/azteca/console/users?lang=en")) == [
        "Bruno Biller can now sign in as bruno."
    ]
    assert mails(app, "bruno@azteca.mx") == []  # no invitation: the Administrator gives it
    with app.app_context(), all_tenants():
        user = db.session.scalars(select(User).filter_by(email="bruno@azteca.mx")).one()
        assert user.must_change_password and user.password_hash


def test_the_invitation_expires_after_access_link_days(make_app, tenants, frozen_clock):
    app = make_app(ACCESS_LINK_DAYS=2)
    owner = owner_of(app, tenants)
    assert invite(owner).status_code == 303
    assert "durante 2 días" in mails(app, "bruno@azteca.mx")[-1]["text"]
    path = invitation_path(app)
    frozen_clock.travel(timedelta(days=2) - timedelta(seconds=1))
    assert app.test_client().get(path).status_code == 200
    frozen_clock.travel(timedelta(seconds=1))
    expired = app.test_client().get(path + "?lang=en")
    assert expired.status_code == 410
    assert "only once and for 2 days" in html.text(html.doc(expired), "//article/p")


def test_sending_again_kills_the_old_link(app, owner):
    invite(owner)
    old = invitation_path(app)
    bruno = user_id(app, "bruno@azteca.mx")
    listing = owner.get("/t/azteca/console/users")
    again = owner.post(
        f"/t/azteca/console/users/{bruno}/invite?lang=en",
        data={"csrf_token": csrf_from(listing.text)},
        follow_redirects=True,
    )
    assert flashes(again) == [
        "We emailed Bruno Biller a link to choose a password; it works once, for 7 days."
    ]
    new = invitation_path(app)
    assert new != old
    assert app.test_client().get(old).status_code == 410
    assert choose(app.test_client(), new).status_code == 303
    # Accepted: nothing more to send.
    refused = owner.post(
        f"/t/azteca/console/users/{bruno}/invite?lang=en",
        data={"csrf_token": csrf_from(listing.text)},
        follow_redirects=True,
    )
    assert flashes(refused) == ["This user has already chosen a password."]


def user_id(app, email):
    with app.app_context(), all_tenants():
        return db.session.scalars(select(User.id).where(User.email == email)).one()


def test_a_link_works_on_its_own_tenant_only(app, tenants, owner):
    invite(owner)
    path = invitation_path(app)
    token = path.rsplit("/", 1)[1]
    # Another tenant's slug, and another tenant's own host: the link opens nothing there.
    for other in (f"/t/intertec/invitation/{token}", f"/t/adriatica/invitation/{token}"):
        visitor = app.test_client()
        assert visitor.get(other).status_code == 410
        page = visitor.get("/t/azteca/login")  # a CSRF token of this browser's session
        answer = visitor.post(
            other,
            data={
                "csrf_token": csrf_from(page.text),
                "new_password": CHOSEN,
                "confirm_password": CHOSEN,
            },
        )
        assert answer.status_code == 410
    host = {"Host": "fatture.adriatica.localhost"}
    assert app.test_client().get(f"/invitation/{token}", headers=host).status_code == 410
    visitor = app.test_client()
    page = visitor.get("/login", headers=host)  # a CSRF token of this browser's session
    answer = visitor.post(
        f"/invitation/{token}",
        headers=host,
        data={
            "csrf_token": csrf_from(page.text),
            "new_password": CHOSEN,
            "confirm_password": CHOSEN,
        },
    )
    assert answer.status_code == 410
    # Still unused at home.
    assert choose(app.test_client(), path).status_code == 303


def test_deactivating_or_deleting_kills_the_link(app, owner):
    invite(owner)
    first = invitation_path(app)
    bruno = user_id(app, "bruno@azteca.mx")

    def act(action):
        listing = owner.get("/t/azteca/console/users")
        return owner.post(
            f"/t/azteca/console/users/{bruno}/{action}?lang=en",
            data={"csrf_token": csrf_from(listing.text)},
            follow_redirects=True,
        )

    act("deactivate")
    assert app.test_client().get(first).status_code == 410
    assert flashes(act("invite")) == ["Reactivate the user first: the invitation is sent then."]
    back = act("reactivate")
    assert flashes(back) == [
        "Bruno Biller can sign in again.",
        "We emailed Bruno Biller a link to choose a password; it works once, for 7 days.",
    ]
    second = invitation_path(app)
    assert second != first and app.test_client().get(first).status_code == 410
    act("delete")
    assert app.test_client().get(second).status_code == 410


def test_a_new_person_on_a_reused_seat_is_invited_and_the_old_links_die(app, tenants, owner):
    given = invite(owner, password_mode="set", password="una clave que doy yo misma")
    assert given.status_code == 303
    bruno = user_id(app, "bruno@azteca.mx")
    with app.app_context():
        g.tenant = tenants["azteca"].load()
        # A reset link mailed to Bruno before he leaves.
        reset = tokens.issue("reset_email", timedelta(days=1), user_id=bruno)
        db.session.commit()
    page = owner.get(f"/t/azteca/console/users/{bruno}?lang=en")
    edited = owner.post(
        f"/t/azteca/console/users/{bruno}?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Carla Support",
            "email": "carla@azteca.mx",
            "password": "",
            "role": "support",
        },
        follow_redirects=True,
    )
    assert flashes(edited) == [
        "Changes to Carla Support saved.",
        "We emailed Carla Support a link to choose a password; it works once, for 7 days.",
    ]
    with app.app_context():
        g.tenant = tenants["azteca"].load()
        assert tokens.peek("reset_email", reset) is None  # Bruno's link opens nothing now
        row = db.session.get(User, bruno)
        assert row.password_hash is None and not row.must_change_password
    # Bruno's password no longer opens the seat; Carla chooses her own.
    assert (
        sign_in(app.test_client(), "azteca", "bruno", "una clave que doy yo misma").status_code
        == 401
    )
    carla = app.test_client()
    assert choose(carla, invitation_path(app, "carla@azteca.mx")).status_code == 303
    assert sign_in(app.test_client(), "azteca", "carla", CHOSEN).status_code == 302


def test_only_administrators_of_the_tenant_send_invitations(app, tenants, owner, other_tenant):
    invite(owner)
    bruno = user_id(app, "bruno@azteca.mx")
    with app.app_context():
        make_user(tenants["azteca"].load(), email="bea@azteca.mx", username="bea", role="biller")
    other_slug = other_tenant.slug
    biller = app.test_client()
    assert sign_in(biller, "azteca", "bea", PASSWORD).status_code == 302
    page = biller.get("/t/azteca/console/")
    refused = biller.post(
        f"/t/azteca/console/users/{bruno}/invite", data={"csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 403
    stranger = app.test_client()
    assert sign_in(stranger, other_slug, other_tenant.admin.username, PASSWORD).status_code == 302
    page = stranger.get(f"/t/{other_slug}/console/")
    foreign = stranger.post(
        f"/t/{other_slug}/console/users/{bruno}/invite", data={"csrf_token": csrf_from(page.text)}
    )
    assert foreign.status_code == 404
    assert len(mails(app, "bruno@azteca.mx")) == 1  # nobody sent another


@pytest.mark.committed  # the live server's threads
def test_the_link_works_once_even_concurrently(app, tenants):
    owner = owner_of(app, tenants)
    invite(owner)
    path = invitation_path(app)
    with LiveServer(app) as server:
        people = []
        for _ in range(12):
            s = requests.Session()
            people.append((s, csrf_from(s.get(server.url + path, timeout=10).text)))
        barrier, results = threading.Barrier(len(people)), []

        def post(s, token):
            barrier.wait()
            data = {"csrf_token": token, "new_password": CHOSEN, "confirm_password": CHOSEN}
            answer = s.post(server.url + path, data=data, allow_redirects=False, timeout=30)
            results.append(answer.status_code)

        threads = [threading.Thread(target=post, args=pair) for pair in people]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [303] + [410] * (len(people) - 1)
    with app.app_context(), all_tenants():
        used = db.session.scalars(
            select(tokens.OneTimeToken).where(tokens.OneTimeToken.purpose == "staff_invite")
        ).all()
        assert [t.used_at is not None for t in used] == [True]
    assert app.test_client().get(path).status_code == 410

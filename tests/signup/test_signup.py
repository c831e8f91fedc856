"""Self sign-up: the form, its one-time link, the new tenant, and who else could use them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
from flask import g
from sqlalchemy import func, select

from saas import clock
from saas.auth.models import User
from saas.companies import Company
from saas.einvoice.taxids import nit_check_digit
from saas.extensions import db
from saas.signup.models import Signup
from saas.signup.services import slug_of
from saas.tenancy import all_tenants
from saas.tenancy.models import Tenant
from tests import html
from tests.auth.conftest import csrf_from, sign_in
from tests.conftest import LiveServer, TenantRef
from tests.factories import PASSWORD, make_user
from tests.portal.conftest import mails
from tests.signup.conftest import CHOSEN, FORM, choose, sign_up, signup_link

TAKEN_MESSAGE = (
    "This tax id already has a portal here. If it is your company's, ask its "
    "Administrator to invite you."
)


def tenant_count(app) -> int:
    with app.app_context(), all_tenants():
        return db.session.scalar(select(func.count(Tenant.id)))


def the_tenant(app, slug):
    with app.app_context(), all_tenants():
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        db.session.expunge(tenant)
        return tenant


def test_the_form_is_linked_from_the_start_page_and_every_sign_in_page(client, tenants):
    start = html.doc(client.get("/?lang=en"))
    assert start.xpath("//a[@href='/signup']/text()") == ["Create your portal"]
    for slug in ("intertec", "adriatica", "azteca"):
        page = html.doc(client.get(f"/t/{slug}/login?lang=en"))
        assert page.xpath("//p[@class='signup-link']//a/@href") == ["/signup"], slug
    # On a tenant's own domain too: /signup is the platform's, whatever the host.
    answer = client.get("/signup?lang=it", headers={"Host": "fatture.adriatica.localhost"})
    assert html.text(html.doc(answer), "//h1") == "Crea il tuo portale di fatture"


def test_a_new_issuer_signs_up_verifies_its_email_and_lands_in_its_console(app, tenants):
    before = tenant_count(app)
    client = app.test_client()
    sent = sign_up(client)
    assert sent.status_code == 200
    page = html.doc(sent)
    assert html.text(page, "//h1") == "Check your email"
    assert "We have sent a link to nora@ferreteria.test" in html.text(page, "//p[@role='status']")
    assert tenant_count(app) == before  # nothing exists before the address is confirmed
    (mail,) = mails(app, FORM["email"])
    assert mail["subject"] == "Confirm your address to create the portal of Ferretería Núñez S.A.S."
    assert "830012345-9" in mail["text"] and "for 24 hours" in mail["text"]

    path = signup_link(app)
    for _ in range(2):  # a mail scanner, a preview: opening spends nothing
        confirm = html.doc(client.get(f"{path}?lang=en"))
        assert html.text(confirm, "//h1") == "Your address is confirmed"
    facts = dict(zip(html.texts(confirm, "//dl/dt"), html.texts(confirm, "//dl/dd"), strict=True))
    assert facts["Tax id"] == "830012345-9 (Colombia)"
    assert facts["Plan"] == "PyME"
    assert facts["Portal address"].startswith("http://localhost/t/ferreteria-nunez/")
    assert tenant_count(app) == before

    weak = choose(client, path, password="short")
    assert weak.status_code == 422 and html.field_error(weak, "new_password")
    answer = choose(client, path)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/t/ferreteria-nunez/console/"
    console = client.get("/t/ferreteria-nunez/console/?lang=en")
    assert console.status_code == 200
    assert html.text(html.doc(console), "//h1") == "Dashboard"

    tenant = the_tenant(app, "ferreteria-nunez")
    assert (tenant.origin, tenant.status, tenant.tax_id) == ("signup", "active", "830012345-9")
    assert (tenant.name, tenant.country, tenant.plan) == ("Ferretería Núñez S.A.S.", "CO", "pyme")
    assert (tenant.currency, tenant.timezone) == ("COP", "America/Bogota")
    assert tenant.locales == ["es", "en"] and tenant.password_reset == "tax_id"
    assert tenant.login_methods == ["password", "magic_link"] and tenant.logo_key is None
    with app.app_context():
        g.tenant = db.session.get(Tenant, tenant.id)
        (owner,) = db.session.scalars(select(User)).all()
        assert (owner.email, owner.name, owner.role) == (FORM["email"], "Nora Núñez", "admin")
        assert owner.is_owner and not owner.must_change_password
        (company,) = db.session.scalars(select(Company)).all()
        assert (company.kind, company.tax_id) == ("issuer", "830012345-9")
    (welcome,) = [m for m in mails(app, FORM["email"]) if m["template"] == "signup_welcome"]
    assert "/t/ferreteria-nunez/console/" in welcome["text"]

    # The link worked once: again, from this browser or another, it creates nothing.
    for other in (client, app.test_client()):
        again = other.get(f"{path}?lang=en")
        assert again.status_code == 410
        assert html.text(html.doc(again), "//h1") == "This link no longer works"
        assert choose(other, path).status_code == 410
    assert tenant_count(app) == before + 1


@pytest.mark.parametrize(
    ("country", "tax_id", "stored", "defaults"),
    [
        (
            "IT",
            "IT 12345670017",
            "12345670017",
            {
                "locales": ["it", "en"],
                "password_reset": "email",
                "onboarding": "set_password_link",
                "currency": "EUR",
                "timezone": "Europe/Rome",
            },
        ),
        (
            "MX",
            "h&e951128469",
            "H&E951128469",
            {
                "locales": ["es", "en"],
                "password_reset": "email",
                "onboarding": "two_emails",
                "currency": "MXN",
                "timezone": "America/Mexico_City",
            },
        ),
    ],
)
def test_each_country_gets_its_defaults(app, tenants, country, tax_id, stored, defaults):
    client = app.test_client()
    assert sign_up(client, country=country, tax_id=tax_id).status_code == 200
    assert choose(client, signup_link(app)).status_code == 303
    tenant = the_tenant(app, "ferreteria-nunez")
    assert tenant.tax_id == stored
    assert {key: getattr(tenant, key) for key in defaults} == defaults


@pytest.mark.parametrize(
    ("country", "tax_id", "message"),
    [
        ("CO", "830012345-8", "This is not a valid NIT"),  # wrong check digit
        ("CO", "830012345", "This is not a valid NIT"),  # no check digit
        ("CO", "H&E951128469", "This is not a valid NIT"),
        ("IT", "01234567890", "This is not a valid Partita IVA"),
        ("MX", "900123456-8", "This is not a valid RFC"),
    ],
)
def test_the_tax_id_is_checked_for_its_country(app, tenants, country, tax_id, message):
    answer = sign_up(app.test_client(), country=country, tax_id=tax_id)
    assert answer.status_code == 422
    assert html.field_error(answer, "tax_id").startswith(message)
    assert mails(app, FORM["email"]) == []


def test_every_field_is_required_and_the_form_keeps_what_was_typed(app, tenants):
    empty = {key: "" for key in FORM if key not in ("country", "plan")}
    answer = sign_up(app.test_client(), **empty)
    assert answer.status_code == 422
    for field in empty:
        assert html.field_error(answer, field), field
    answer = sign_up(app.test_client(), email="nora@", admin_name="Nora\u0007")
    assert html.field_error(answer, "email") == "This is not an email address."
    assert html.field_error(answer, "admin_name").startswith("Use letters")
    page = html.doc(answer)
    assert page.xpath("//input[@id='company_name']/@value") == [FORM["company_name"]]
    assert page.xpath("//input[@name='plan'][@checked]/@value") == ["pyme"]


def test_taken_and_free_addresses_get_the_same_answer(app, tenants):
    """The form never looks the address up: an address that is a user already (Intertec's
    seeded Administrator here) and a new one get the same page and the same email."""
    with app.app_context(), all_tenants():
        taken = db.session.scalars(select(User.email).where(User.role == "admin")).first()
    taken = taken or "someone@intertec.test"
    pages = []
    for email in (taken, "new.person@ferreteria.test"):
        answer = sign_up(app.test_client(), email=email)
        assert answer.status_code == 200
        pages.append(html.text(html.doc(answer), "//main").replace(email, "ADDRESS"))
        assert [m["template"] for m in mails(app, email)][-1:] == ["signup_verify"]
    assert pages[0] == pages[1]


def test_limits_per_address_and_per_ip_are_the_same_for_every_address(app, tenants, frozen_clock):
    for n in range(3):  # three a hour per address, from anywhere
        assert sign_up(app.test_client(), ip=f"203.0.113.{n}").status_code == 200
    paused = sign_up(app.test_client(), ip="203.0.113.50")
    assert paused.status_code == 429 and int(paused.headers["Retry-After"]) > 3000
    assert html.texts(html.doc(paused), "//main//a[@role='button']") == ["Back to sign-up"]
    assert len(mails(app, FORM["email"])) == 3
    # Ten an hour per IP, whatever the addresses.
    for n in range(10):
        assert sign_up(app.test_client(), ip="192.0.2.9", email=f"p{n}@x.test").status_code == 200
    assert sign_up(app.test_client(), ip="192.0.2.9", email="p10@x.test").status_code == 429
    clock.travel(timedelta(hours=1, seconds=1))
    assert sign_up(app.test_client(), ip="192.0.2.9", email="p10@x.test").status_code == 200


def test_a_tax_id_with_a_portal_is_refused_saying_nothing_else(app, tenants):
    before = tenant_count(app)
    first, second = app.test_client(), app.test_client()
    # Two sign-ups of one company, both pending: the first to confirm gets the portal.
    assert sign_up(first).status_code == 200
    assert sign_up(second, email="socio@ferreteria.test", tax_id="8300123459").status_code == 200
    assert choose(first, signup_link(app)).status_code == 303
    refused = choose(second, signup_link(app, "socio@ferreteria.test"))
    assert refused.status_code == 409
    assert html.text(html.doc(refused), "//p[@role='alert']") == TAKEN_MESSAGE
    assert tenant_count(app) == before + 1
    # From now on the form refuses it at once, naming nothing of the portal that has it.
    answer = sign_up(
        app.test_client(), company_name="Otra Cosa Ltda.", email="x@otra.test", tax_id="830012345-9"
    )
    assert answer.status_code == 422
    assert html.field_error(answer, "tax_id") == TAKEN_MESSAGE
    text = html.text(html.doc(answer), "//main")
    for secret in ("Ferretería", "ferreteria-nunez", "Nora", "nora@"):
        assert secret not in text
    assert mails(app, "x@otra.test") == []


def test_the_link_lasts_24_hours_and_a_newer_sign_up_replaces_it(app, tenants, frozen_clock):
    client = app.test_client()
    sign_up(client)
    first = signup_link(app)
    sign_up(client, company_name="Ferretería Núñez e Hijos")
    second = signup_link(app)
    assert first != second
    assert client.get(first).status_code == 410  # replaced
    clock.travel(timedelta(hours=24, seconds=1))
    assert client.get(second).status_code == 410
    assert choose(client, second).status_code == 410
    assert tenant_count(app) == 3


def test_daily_forgets_sign_ups_never_confirmed(app, tenants, frozen_clock):
    sign_up(app.test_client())
    clock.travel(timedelta(days=7))  # the link expired six days ago: kept a little longer
    sign_up(app.test_client(), email="later@ferreteria.test", ip="203.0.113.99")
    result = app.test_cli_runner().invoke(args=["daily"])
    assert "Forgot 0 sign-up(s) never confirmed." in result.output
    clock.travel(timedelta(days=1, seconds=1))
    result = app.test_cli_runner().invoke(args=["daily"])
    assert "Forgot 1 sign-up(s) never confirmed." in result.output, result.output
    with app.app_context():
        assert db.session.scalars(select(Signup.email)).all() == ["later@ferreteria.test"]


def test_slugs_come_from_the_name_unique_and_never_a_tenant_files(app, tenants, tmp_path):
    assert slug_of("Ferretería Núñez S.A.S.") == "ferreteria-nunez"
    assert slug_of("Rossi Costruzioni S.r.l.") == "rossi-costruzioni"
    assert slug_of("Comercial del Golfo, S.A. de C.V.") == "comercial-del-golfo"
    assert slug_of("!!!") == "portal"
    # A folder under tenants/ not synced yet keeps its name for its file.
    folder = tmp_path / "tenants"
    (folder / "nueva").mkdir(parents=True)
    (folder / "nueva" / "tenant.toml").write_text('name = "Nueva"\n')
    app.config["TENANTS_DIR"] = str(folder)
    made = []
    for n, name in enumerate(("Intertec S.A.S.", "Intertec", "Azteca", "Nueva")):
        client = app.test_client()
        email = f"owner{n}@x.test"
        number = f"90012345{n}"
        sign_up(
            client, company_name=name, email=email, tax_id=f"{number}-{nit_check_digit(number)}"
        )
        made.append(choose(client, signup_link(app, email)).headers["Location"].split("/")[2])
    assert made == ["intertec-2", "intertec-3", "azteca-2", "nueva-2"]


def test_the_slug_changes_once_and_only_by_an_administrator(app, signed_up, other_tenant):
    client, slug = signed_up
    url = f"/t/{slug}/console/settings?lang=en"
    page = html.doc(client.get(url))
    assert page.xpath("//article[@id='portal-address']//input[@name='slug']")

    def change(who, value, at=slug):
        form = who.get(f"/t/{at}/console/settings?lang=en")
        data = {"csrf_token": csrf_from(form.text), "slug": value}
        return who.post(f"/t/{at}/console/settings/address?lang=en", data=data)

    for value, problem in (
        ("intertec", "Another portal has this address."),
        ("-bad-", "Use 3 to 63 lower-case letters"),
        (slug, "This is the address the portal has now."),
    ):
        refused = change(client, value)
        assert refused.status_code == 422
        assert html.field_error(refused, "slug").startswith(problem)
    moved = change(client, "nunez")
    assert moved.status_code == 303 and moved.headers["Location"] == "/t/nunez/console/settings"
    assert client.get(f"/t/{slug}/").status_code == 404
    settings = html.doc(client.get("/t/nunez/console/settings?lang=en"))
    assert not settings.xpath("//article[@id='portal-address']")
    assert change(client, "otro-nombre", at="nunez").status_code == 303  # refused: flashed
    assert the_tenant(app, "nunez").slug == "nunez"


def test_who_else_may_change_the_slug(app, signed_up, tenants, other_tenant):
    _client, slug = signed_up
    with app.app_context():
        tenant = TenantRef(the_tenant(app, slug).id, slug).load()
        make_user(tenant, email="bill@ferreteria.test", username="bill", role="biller")
    biller = app.test_client()
    assert sign_in(biller, slug, "bill", PASSWORD).status_code == 302
    data = {"csrf_token": csrf_from(biller.get(f"/t/{slug}/console/").text), "slug": "mine"}
    assert biller.post(f"/t/{slug}/console/settings/address", data=data).status_code == 403
    # Another tenant's Administrator is nobody here.
    stranger = app.test_client()
    assert (
        sign_in(stranger, other_tenant.slug, other_tenant.admin.username, PASSWORD).status_code
        == 302
    )
    data = {"csrf_token": csrf_from(stranger.get(f"/t/{other_tenant.slug}/console/").text)}
    answer = stranger.post(f"/t/{slug}/console/settings/address", data={**data, "slug": "mine"})
    assert answer.status_code in (302, 404)
    # A file tenant keeps its folder's name: the route refuses, and its page has no form.
    at_home = stranger.post(
        f"/t/{other_tenant.slug}/console/settings/address", data={**data, "slug": "mine"}
    )
    assert at_home.status_code == 303
    assert the_tenant(app, slug).slug == slug
    intertec_admin = app.test_client()
    with app.app_context():
        make_user(
            tenants["intertec"].load(), email="adm@intertec.test", username="adm", role="admin"
        )
    assert sign_in(intertec_admin, "intertec", "adm", PASSWORD).status_code == 302
    page = html.doc(intertec_admin.get("/t/intertec/console/settings?lang=en"))
    assert page.xpath("//h1") and not page.xpath("//article[@id='portal-address']")


@pytest.mark.committed  # the live server's threads
def test_the_link_works_once_even_concurrently(app, tenants):
    client = app.test_client()
    sign_up(client)
    path = signup_link(app)
    with LiveServer(app) as server:
        people = []
        for _ in range(10):
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
        assert (
            db.session.scalar(select(func.count(Tenant.id)).where(Tenant.origin == "signup")) == 1
        )
        assert (
            db.session.scalar(select(func.count(User.id)).where(User.email == FORM["email"])) == 1
        )
        (signup,) = db.session.scalars(select(Signup)).all()
        assert signup.used_at is not None and signup.created_tenant_id is not None

"""Account recovery by company tax id and by email, with the real SMTP sink."""

import re
import threading
from datetime import timedelta

import lxml.html
import pytest
import requests
from flask import g
from sqlalchemy import select

from saas import clock
from saas.audit import AuditEvent
from saas.auth import apikeys
from saas.auth.models import ApiKey, User
from saas.companies import Company
from saas.einvoice.taxids import nit_check_digit
from saas.extensions import db
from saas.security import verify_password
from saas.tenancy import all_tenants, load_tenant
from saas.tenancy.models import Tenant
from tests.auth.conftest import csrf_from, post_form, sign_in
from tests.conftest import LiveServer, wait_until
from tests.factories import PASSWORD, make_company, make_tenant, make_user
from tests.html import doc, field_error, problems, texts

NEW = "otoño en la sabana de bogotá"
NIT = "900123456-8"


@pytest.fixture
def smtp_app(make_app, smtp, tenants):
    return make_app(MAIL_URL=smtp.url)


@pytest.fixture
def empresa(smtp_app, tenants):
    """Intertec's customer Empresa (NIT 900123456-8) with two active users and a former one."""
    with smtp_app.app_context():
        tenant = tenants["intertec"].load()
        company = make_company(tenant, tax_id=NIT, name="Empresa SAS", email="juana@empresa.com.co")
        for username, name, active in (
            ("bruno", "Bruno Díaz", True),
            ("ana", "Ana Gómez", True),
            ("old", "Old Timer", False),
        ):
            make_user(
                tenant,
                email=f"{username}@empresa.com.co",
                username=username,
                name=name,
                kind="recipient",
                role=None,
                active=active,
                must_change_password=username == "bruno",
                companies=[company],
            )
        return company.id


def user(app, username) -> User:
    with app.app_context(), all_tenants():
        row = db.session.scalars(select(User).where(User.username == username)).one()
        db.session.expunge(row)
        return row


def ask_by_tax_id(client, tax_id, slug="intertec", lang="en"):
    return post_form(client, f"/t/{slug}/password/forgot?lang={lang}", {"tax_id": tax_id})


def ask_by_email(client, email, slug="adriatica", lang="en"):
    return post_form(client, f"/t/{slug}/password/forgot?lang={lang}", {"email": email})


def mailed(smtp, n=1):
    return wait_until(lambda: len(smtp.messages) >= n and smtp.messages, message="the email")[n - 1]


def link_path(message) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(/\S*/password/reset/\S+)", text)
    assert match, "no reset link in the email"
    return match.group(1)


def restore(client, path, user_id, password=NEW, confirm=None):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(
        path,
        data={
            "csrf_token": csrf_from(page.text),
            "user": str(user_id),
            "new_password": password,
            "confirm_password": confirm or password,
        },
    )


# --- the pages --------------------------------------------------------------------


def test_the_sign_in_link_leads_to_the_tenants_flow(smtp_app):
    client = smtp_app.test_client()
    login = client.get("/t/intertec/login?lang=en").text
    assert 'href="/t/intertec/password/forgot">Forgot your user and/or password?' in login
    page = client.get("/t/intertec/password/forgot?lang=en").text
    assert "Tax ID (NIT)" in page and "with or without the check digit" in page
    assert ">Continue<" in page
    page = client.get("/t/adriatica/password/forgot?lang=en").text
    assert "Lost password?" in page and ">Send request<" in page and 'type="email"' in page
    page = client.get("/t/adriatica/password/forgot?lang=it").text
    assert "Password smarrita?" in page and "Invia richiesta" in page


def test_italian_tax_id_label_and_check(smtp_app):
    with smtp_app.app_context():
        make_tenant("veneta", country="IT", currency="EUR", locales=["it"], password_reset="tax_id")
    client = smtp_app.test_client()
    page = client.get("/t/veneta/password/forgot").text
    assert "Partita IVA / Codice fiscale" in page
    wrong = ask_by_tax_id(client, "12345678901", slug="veneta", lang="it")
    assert wrong.status_code == 422
    assert "non è una Partita IVA o un Codice fiscale valido" in field_error(wrong, "tax_id")


@pytest.mark.parametrize(
    "slug, tax_id, lang, message",
    [
        ("intertec", "900123456-7", "en", "This is not a valid NIT"),
        ("intertec", "90O123456", "es", "no es un NIT válido"),
        ("azteca", "ABC12", "en", "This is not a valid RFC"),
        ("azteca", "ABC12", "es", "no es un RFC válido"),
    ],
)
def test_malformed_tax_id_says_what_is_wrong(smtp_app, smtp, slug, tax_id, lang, message):
    with smtp_app.app_context(), all_tenants():
        tenant = db.session.scalars(select(Tenant).filter_by(slug=slug)).one()
        tenant.password_reset = "tax_id"
        db.session.commit()
    form = smtp_app.test_client().get(f"/t/{slug}/password/forgot?lang={lang}").text
    assert ("(NIT)" if slug == "intertec" else "(RFC)") in form
    response = ask_by_tax_id(smtp_app.test_client(), tax_id, slug=slug, lang=lang)
    assert response.status_code == 422
    assert message in field_error(response, "tax_id")  # the message goes on with an example
    assert doc(response).xpath("//input[@id='tax_id']/@aria-invalid") == ["true"]
    assert smtp.messages == []


# --- by tax id ----------------------------------------------------------------------


def test_tax_id_flow_end_to_end(smtp_app, smtp, empresa):
    client = smtp_app.test_client()
    answer = ask_by_tax_id(client, "900.123.456-8")  # any accepted spelling
    assert answer.status_code == 200
    assert "Confirmation" in answer.text
    assert "juana@" not in answer.text and "***" not in answer.text  # names no address

    message = mailed(smtp)
    assert message["To"] == "juana@empresa.com.co"
    assert "Change your password" in message.get_body(("html",)).get_content()
    path = link_path(message)

    form = client.get(path + "?lang=en")
    assert form.headers["Cache-Control"] == "private, no-store"
    for text in ("Ana Gómez (ana)", "Bruno Díaz (bruno)", "New password", "Confirm password"):
        assert text in form.text
    assert "Old Timer" not in form.text  # deactivated users are not offered
    assert ">Restore<" in form.text

    bruno = user(smtp_app, "bruno")
    done = restore(client, path + "?lang=en", bruno.id)
    assert done.status_code == 200
    assert "The password of bruno has been changed" in done.text
    assert 'href="/t/intertec/login?login=bruno">Sign in<' in done.text

    after = user(smtp_app, "bruno")
    assert verify_password(after.password_hash, NEW)
    assert not after.must_change_password
    assert not verify_password(user(smtp_app, "ana").password_hash, NEW)  # only the chosen one

    # The old password fails, the new one signs in; the link is spent.
    assert sign_in(smtp_app.test_client(), "intertec", "bruno", PASSWORD).status_code == 401
    assert sign_in(smtp_app.test_client(), "intertec", "bruno", NEW).status_code == 302
    again = client.get(path + "?lang=en")
    assert again.status_code == 410
    assert "Request a new link" in texts(doc(again), "//article//a[@role='button']")

    changed = mailed(smtp, 2)
    assert changed["To"] == "bruno@empresa.com.co"
    assert NEW not in changed.get_body(("plain",)).get_content()
    with smtp_app.app_context(), all_tenants():
        events = db.session.scalars(select(AuditEvent.event).order_by(AuditEvent.id)).all()
    assert "password_reset.requested" in events and "password_reset.sent" in events
    assert "password.reset" in events and "password.changed" in events


def test_the_reset_page_does_not_use_the_link_and_checks_the_password(smtp_app, smtp, empresa):
    client = smtp_app.test_client()
    ask_by_tax_id(client, NIT)
    path = link_path(mailed(smtp)) + "?lang=en"
    assert client.get(path).status_code == 200
    assert client.head(path).status_code == 200  # scanners: still unused
    bruno = user(smtp_app, "bruno")
    weak = restore(client, path, bruno.id, password="password123")
    assert weak.status_code == 422
    assert field_error(weak, "new_password") == (
        "This password is too common. Choose one that is harder to guess."
    )
    mismatch = restore(client, path, bruno.id, confirm="something else entirely")
    assert mismatch.status_code == 422
    assert field_error(mismatch, "confirm_password") == "The two passwords do not match."
    nobody = restore(client, path, "")
    assert nobody.status_code == 422
    assert field_error(nobody, "user") == "Choose the user whose password you are restoring."
    outsider = restore(client, path, user(smtp_app, "old").id)  # not offered: not valid
    assert outsider.status_code == 422
    assert restore(client, path, bruno.id).status_code == 200  # the link still worked


def main_text(response) -> str:
    return lxml.html.document_fromstring(response.text).xpath("//main")[0].text_content()


def test_unknown_tax_id_gets_the_same_page(smtp_app, smtp, empresa):
    known = ask_by_tax_id(smtp_app.test_client(), NIT)
    unknown_nit = f"800197268-{nit_check_digit('800197268')}"
    unknown = ask_by_tax_id(smtp_app.test_client(), unknown_nit)
    assert known.status_code == unknown.status_code == 200
    assert main_text(known) == main_text(unknown)
    assert "@" not in main_text(known)
    mailed(smtp)
    assert len(smtp.messages) == 1  # only the known company's


def test_a_company_with_no_active_user_gets_no_email(smtp_app, smtp, tenants):
    with smtp_app.app_context():
        tenant = tenants["intertec"].load()
        company = make_company(tenant, tax_id=NIT, email="juana@empresa.com.co")
        make_user(tenant, kind="recipient", role=None, active=False, companies=[company])
    answer = ask_by_tax_id(smtp_app.test_client(), NIT)
    assert answer.status_code == 200 and "***" not in answer.text
    with smtp_app.app_context(), all_tenants():
        assert (
            db.session.scalars(select(AuditEvent).filter_by(event="password_reset.sent")).all()
            == []
        )


def test_without_a_registered_address_each_recipient_gets_their_own_link(smtp_app, smtp, tenants):
    with smtp_app.app_context():
        tenant = tenants["intertec"].load()
        company = make_company(tenant, tax_id=NIT, email=None)
        first, second = (
            make_user(
                tenant, email=f"{who}@cliente.co", kind="recipient", role=None, companies=[company]
            ).id
            for who in ("first", "second")
        )
    ask_by_tax_id(smtp_app.test_client(), NIT)
    wait_until(lambda: len(smtp.messages) == 2, message="two emails")
    links = {m["To"]: link_path(m) for m in smtp.messages}
    assert set(links) == {"first@cliente.co", "second@cliente.co"}
    # Each link resets its own addressee only.
    client = smtp_app.test_client()
    assert restore(client, links["first@cliente.co"], second).status_code == 422
    assert restore(client, links["first@cliente.co"], first).status_code == 200


# --- who a link can reach (an issuer's tax id is printed on every invoice) ----------


@pytest.fixture
def issuer_staff(smtp_app, tenants):
    """Intertec's own issuer company, with its owner, an Administrator and a Biller."""
    with smtp_app.app_context():
        tenant = tenants["intertec"].load()
        issuer = make_company(
            tenant, tax_id=NIT, name="Intertec SAS", kind="issuer", email="facturacion@intertec.co"
        )
        people = {
            role: make_user(
                tenant,
                email=f"{role}@intertec.co",
                username=role,
                role="admin" if role != "biller" else "biller",
                is_owner=role == "owner",
                companies=[issuer],
            ).id
            for role in ("owner", "admin", "biller")
        }
        return people


def test_an_issuers_tax_id_resets_no_staff(smtp_app, smtp, issuer_staff):
    """A Biller (or anyone) holding the issuer's tax id gets no link to any staff member."""
    answer = ask_by_tax_id(smtp_app.test_client(), NIT)
    assert answer.status_code == 200
    with smtp_app.app_context(), all_tenants():
        sent = db.session.scalars(select(AuditEvent).filter_by(event="password_reset.sent")).all()
        requested = db.session.scalars(
            select(AuditEvent).filter_by(event="password_reset.requested")
        ).one()
    assert sent == [] and requested.ip == "127.0.0.1"
    assert smtp.messages == []


def test_a_tax_id_link_lists_only_the_companys_recipients(smtp_app, smtp, empresa, tenants):
    """Staff who are members of a customer company are never offered on its link."""
    with smtp_app.app_context():
        tenant = tenants["intertec"].load()
        company = db.session.get(Company, empresa)
        admin = make_user(tenant, email="boss@intertec.co", role="admin", companies=[company]).id
    ask_by_tax_id(smtp_app.test_client(), NIT)
    path = link_path(mailed(smtp)) + "?lang=en"
    client = smtp_app.test_client()
    page = client.get(path)
    offered = {
        int(v)
        for v in lxml.html.document_fromstring(page.text).xpath("//input[@name='user']/@value")
    }
    assert admin not in offered and len(offered) == 2
    assert restore(client, path, admin).status_code == 422
    assert (
        sign_in(smtp_app.test_client(), "intertec", "boss@intertec.co", PASSWORD).status_code == 302
    )


def test_staff_recover_by_email_at_a_tax_id_tenant(smtp_app, smtp, issuer_staff):
    client = smtp_app.test_client()
    page = client.get("/t/intertec/password/forgot?lang=en")
    link = lxml.html.document_fromstring(page.text).xpath("//a[contains(@href, 'by=email')]/@href")
    assert link == ["/t/intertec/password/forgot?by=email"]
    answer = post_form(client, link[0] + "&lang=en", {"email": "owner@intertec.co"})
    assert answer.status_code == 200
    message = mailed(smtp)
    assert message["To"] == "owner@intertec.co"
    assert restore(client, link_path(message), issuer_staff["admin"]).status_code == 422
    assert restore(client, link_path(message), issuer_staff["owner"]).status_code == 200
    with smtp_app.app_context(), all_tenants():
        reset = db.session.scalars(select(AuditEvent).filter_by(event="password.reset")).one()
        assert reset.user_id == issuer_staff["owner"] and reset.ip == "127.0.0.1"


def test_a_newer_request_kills_the_older_link(smtp_app, smtp, empresa, frozen_clock):
    client = smtp_app.test_client()
    ask_by_tax_id(client, NIT)
    first = link_path(mailed(smtp)) + "?lang=en"
    clock.travel(timedelta(seconds=5))
    ask_by_tax_id(client, NIT)
    second = link_path(mailed(smtp, 2)) + "?lang=en"
    assert first != second
    assert client.get(first).status_code == 410
    assert restore(client, second, user(smtp_app, "ana").id).status_code == 200


def test_the_link_expires_after_24_hours(smtp_app, smtp, empresa, frozen_clock):
    client = smtp_app.test_client()
    ask_by_tax_id(client, NIT)
    path = link_path(mailed(smtp)) + "?lang=en"
    clock.travel(timedelta(hours=24) - timedelta(seconds=1))
    assert client.get(path).status_code == 200
    clock.travel(timedelta(seconds=1))
    expired = client.get(path)
    assert expired.status_code == 410
    assert texts(doc(expired), "//h1") == ["This link no longer works"]


def test_a_link_of_one_tenant_does_not_work_at_another(smtp_app, smtp, empresa):
    client = smtp_app.test_client()
    ask_by_tax_id(client, NIT)
    path = link_path(mailed(smtp))
    assert client.get(path.replace("/t/intertec/", "/t/azteca/")).status_code == 410


@pytest.mark.committed  # the live server's threads
def test_twenty_concurrent_posts_reset_exactly_once(smtp_app, smtp, empresa):
    ask_by_tax_id(smtp_app.test_client(), NIT)
    path = link_path(mailed(smtp)) + "?lang=en"
    ana = user(smtp_app, "ana")
    with LiveServer(smtp_app) as server:
        sessions = []
        for n in range(20):
            s = requests.Session()
            token = csrf_from(s.get(server.url + path, timeout=10).text)
            sessions.append((s, token, f"{NEW} {n:02d}"))
        barrier, results = threading.Barrier(len(sessions)), []

        def post(s, token, password):
            barrier.wait()
            r = s.post(
                server.url + path,
                data={
                    "csrf_token": token,
                    "user": str(ana.id),
                    "new_password": password,
                    "confirm_password": password,
                },
                timeout=60,
            )
            results.append((r.status_code, password))

        threads = [threading.Thread(target=post, args=args) for args in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    statuses = sorted(code for code, _ in results)
    assert statuses == [200] + [410] * 19
    winner = next(password for code, password in results if code == 200)
    assert verify_password(user(smtp_app, "ana").password_hash, winner)
    with smtp_app.app_context(), all_tenants():
        resets = db.session.scalars(select(AuditEvent).filter_by(event="password.reset")).all()
        assert len(resets) == 1


def test_requests_are_limited_per_tax_id_known_or_not(smtp_app, smtp, empresa, frozen_clock):
    unknown = f"800197268-{nit_check_digit('800197268')}"
    for tax_id in (NIT, unknown):
        client = smtp_app.test_client()
        for _ in range(5):
            assert ask_by_tax_id(client, tax_id).status_code == 200
        refused = ask_by_tax_id(client, tax_id)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == 3600
        assert "Please wait 60 minutes before trying again." in problems(refused)
    clock.travel(timedelta(hours=1, seconds=1))
    assert ask_by_tax_id(smtp_app.test_client(), NIT).status_code == 200


def test_requests_are_limited_per_ip(smtp_app, smtp, frozen_clock):
    client = smtp_app.test_client()
    numbers = [f"8001972{n:02d}" for n in range(21)]
    for number in numbers[:20]:
        assert ask_by_tax_id(client, f"{number}-{nit_check_digit(number)}").status_code == 200
    last = numbers[20]
    refused = ask_by_tax_id(client, f"{last}-{nit_check_digit(last)}")
    assert refused.status_code == 429 and "Retry-After" in refused.headers


# --- by email ------------------------------------------------------------------------


@pytest.fixture
def lucia(smtp_app, tenants):
    with smtp_app.app_context():
        return make_user(
            tenants["adriatica"].load(),
            email="lucia@example.it",
            username="lucia",
            name="Lucia Bianchi",
            role="biller",
            locale="it",
        ).id


def test_email_flow_end_to_end(smtp_app, smtp, lucia):
    client = smtp_app.test_client()
    answer = ask_by_email(client, "Lucia@Example.it")
    assert answer.status_code == 200
    assert "can take several minutes to arrive" in answer.text
    message = mailed(smtp)
    assert message["To"] == "lucia@example.it"
    assert "Scegli una nuova password" in message["Subject"]  # in the user's language
    path = link_path(message) + "?lang=en"
    form = client.get(path)
    assert "New password for Lucia Bianchi (lucia)." in form.text
    done = restore(client, path, lucia)
    assert done.status_code == 200 and "Password restored" in done.text
    assert sign_in(smtp_app.test_client(), "adriatica", "lucia", NEW).status_code == 302
    assert sign_in(smtp_app.test_client(), "adriatica", "lucia", PASSWORD).status_code == 401
    assert client.get(path).status_code == 410
    # Never a plain password by email in this flow.
    for sent in smtp.messages:
        assert NEW not in sent.get_body(("plain",)).get_content()
        assert NEW not in sent.get_body(("html",)).get_content()


def test_email_link_lasts_24_hours_and_a_newer_one_replaces_it(smtp_app, smtp, lucia, frozen_clock):
    client = smtp_app.test_client()
    ask_by_email(client, "lucia@example.it")
    first = link_path(mailed(smtp))
    clock.travel(timedelta(minutes=2))
    ask_by_email(client, "lucia@example.it")
    second = link_path(mailed(smtp, 2))
    assert first != second
    assert client.get(first).status_code == 410  # the newer request killed it
    clock.travel(timedelta(hours=24) - timedelta(seconds=1))
    assert client.get(second).status_code == 200
    clock.travel(timedelta(seconds=2))
    expired = client.get(second)
    assert expired.status_code == 410
    assert doc(expired).xpath(  # a way to ask again
        "//article//a[starts-with(@href, '/t/adriatica/password/forgot')]"
    )


def test_email_flow_same_answer_for_unknown_addresses(smtp_app, smtp, lucia):
    known = ask_by_email(smtp_app.test_client(), "lucia@example.it")
    unknown = ask_by_email(smtp_app.test_client(), "nessuno@example.it")
    assert known.status_code == unknown.status_code == 200

    def strip(response):
        text = re.sub(r'(value|content)="[^"]*"', "", response.text)
        return text.replace("lucia@example.it", "ADDRESS").replace("nessuno@example.it", "ADDRESS")

    assert strip(known) == strip(unknown)
    mailed(smtp)
    with smtp_app.app_context(), all_tenants():
        sent = db.session.scalars(select(AuditEvent).filter_by(event="password_reset.sent")).all()
        assert len(sent) == 1


def test_email_requests_are_limited(smtp_app, smtp, lucia, frozen_clock):
    client = smtp_app.test_client()
    for _ in range(5):
        assert ask_by_email(client, "nessuno@example.it").status_code == 200
    refused = ask_by_email(client, "nessuno@example.it")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3600"


# --- effects of a reset ------------------------------------------------------------


def test_a_reset_ends_other_sessions_and_revokes_api_keys(smtp_app, smtp, lucia):
    other = smtp_app.test_client()
    assert sign_in(other, "adriatica", "lucia", PASSWORD).status_code == 302
    assert other.get("/t/adriatica/account").status_code == 200
    with smtp_app.app_context():
        g.tenant = load_tenant("adriatica")
        _key, raw = apikeys.create_api_key(db.session.get(User, lucia))
        db.session.commit()
        assert apikeys.check_api_key(raw).error is None

    client = smtp_app.test_client()
    ask_by_email(client, "lucia@example.it")
    assert restore(client, link_path(mailed(smtp)), lucia).status_code == 200

    assert other.get("/t/adriatica/account").status_code == 302  # signed out
    with smtp_app.app_context():
        g.tenant = load_tenant("adriatica")
        check = apikeys.check_api_key(raw)
        assert check.error == "key_revoked"
        assert "revoked after a password change; get a new key" in check.message
        assert db.session.scalars(select(ApiKey)).one().revoked_reason == "password_changed"
        events = db.session.scalars(select(AuditEvent.event)).all()
        assert "api_key.revoked" in events

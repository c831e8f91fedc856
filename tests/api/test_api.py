"""The machine API end to end through the app: keys, uploads, listing, files, errors."""

from __future__ import annotations

import base64
import io

import pytest
from flask import g
from sqlalchemy import func, select

from saas.auth import apikeys
from saas.auth.models import ApiKey, User
from saas.auth.services import change_password
from saas.companies import Company
from saas.extensions import db
from saas.mail import OutboxMessage
from saas.portal.models import Invoice
from saas.tenancy import all_tenants
from saas.tenancy.models import Tenant
from tests.factories import PASSWORD, make_user
from tests.invoices import fake_pdf, ubl_invoice

API = "/t/intertec/api/v1"


def basic(email, password=PASSWORD):
    token = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def staff(app, tenants, role="biller", slug="intertec", **values):
    with app.app_context():
        tenant = g.tenant = tenants[slug].load()
        email = values.pop("email", f"{role}@{slug}.test")
        user = make_user(tenant, email=email, username=email.split("@")[0], role=role, **values)
        return user.id, email


def key_for(app, user_id):
    with app.app_context():
        with all_tenants():  # which tenant is the user's: then act inside it
            g.tenant = db.session.get(Tenant, db.session.get(User, user_id).tenant_id)
        _key, raw = apikeys.create_api_key(db.session.get(User, user_id))
        db.session.commit()
        return raw


def upload(client, key, xml, pdf=None, email=None, api=API):
    data = {"xml": (io.BytesIO(xml), "invoice.xml")}
    if pdf is not None:
        data["pdf"] = (io.BytesIO(pdf), "invoice.pdf")
    if email is not None:
        data["email"] = email
    return client.post(f"{api}/invoices", headers=bearer(key), data=data)


@pytest.fixture
def biller_key(app, tenants):
    user_id, _email = staff(app, tenants)
    return key_for(app, user_id)


def test_get_a_key_with_the_password_and_check_it(app, tenants):
    user_id, email = staff(app, tenants)
    client = app.test_client()
    created = client.post(f"{API}/api-keys", headers=basic(email))
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    body = created.get_json()
    assert set(body) == {"id", "key", "prefix"} and body["key"].startswith(body["prefix"])
    check = client.get(f"{API}/credentials", headers=bearer(body["key"]))
    assert check.status_code == 200
    assert check.get_json() == {"tenant": "intertec", "user": email, "role": "biller"}
    with app.app_context(), all_tenants():
        stored = db.session.get(ApiKey, body["id"])
        assert stored.user_id == user_id and stored.last_used_at is not None
        assert body["key"] not in (stored.key_hash, stored.prefix)
    # The key works only in the Authorization header, never in the URL.
    assert client.get(f"{API}/credentials?key={body['key']}").status_code == 401


def test_wrong_passwords_and_profiles(app, tenants):
    _id, email = staff(app, tenants)
    _id, accountant = staff(app, tenants, role="accountant")
    client = app.test_client()
    wrong = client.post(f"{API}/api-keys", headers=basic(email, "not the password"))
    unknown = client.post(f"{API}/api-keys", headers=basic("nobody@intertec.test"))
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.get_json()["error"] == "invalid_credentials"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert wrong.get_json() == unknown.get_json()  # nothing says which accounts exist
    refused = client.post(f"{API}/api-keys", headers=basic(accountant))
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    missing = client.post(f"{API}/api-keys")
    assert missing.status_code == 401 and missing.get_json()["error"] == "unauthorized"


def test_a_user_who_must_change_the_password_gets_no_key(app, tenants):
    _id, email = staff(app, tenants, must_change_password=True)
    response = app.test_client().post(f"{API}/api-keys", headers=basic(email))
    assert response.status_code == 403
    assert response.get_json()["error"] == "password_change_required"


def test_upload_is_idempotent_on_the_national_id(app, tenants, biller_key):
    client = app.test_client()
    first = upload(client, biller_key, ubl_invoice("FE-100"), fake_pdf("fe-100"))
    assert first.status_code == 201
    invoice = first.get_json()
    assert invoice["number"] == "FE-100" and invoice["has_pdf"] is True
    assert invoice["total"] == "119000.00" and invoice["tax_total"] == "19000.00"
    assert invoice["issuer"] == {"tax_id": "900123456-8", "name": "Intertec S.A.S."}
    assert invoice["customer"]["email"] == "compras@andina.example"
    assert invoice["downloaded"] is False and invoice["created_at"].endswith("Z")
    assert first.headers["Location"].endswith(f"/api/v1/invoices/{invoice['id']}")
    with app.app_context(), all_tenants():
        mails = db.session.scalar(select(func.count(OutboxMessage.id)))
    again = upload(client, biller_key, ubl_invoice("FE-100"))
    assert again.status_code == 200 and again.get_json() == invoice
    with app.app_context(), all_tenants():
        assert db.session.scalar(select(func.count(Invoice.id))) == 1
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == mails
    fetched = client.get(f"{API}/invoices/{invoice['id']}", headers=bearer(biller_key))
    assert fetched.status_code == 200 and fetched.get_json() == invoice
    pdf = client.get(f"{API}/invoices/{invoice['id']}/pdf", headers=bearer(biller_key))
    assert pdf.status_code == 200 and pdf.data == fake_pdf("fe-100")
    assert pdf.headers["Content-Disposition"] == "attachment; filename=2026-01-15_FE-100.pdf"
    xml = client.get(f"{API}/invoices/{invoice['id']}/xml", headers=bearer(biller_key))
    assert xml.status_code == 200 and xml.data == ubl_invoice("FE-100")


def test_an_invoice_without_pdf(app, tenants, biller_key):
    client = app.test_client()
    invoice = upload(client, biller_key, ubl_invoice("FE-101")).get_json()
    assert invoice["has_pdf"] is False
    response = client.get(f"{API}/invoices/{invoice['id']}/pdf", headers=bearer(biller_key))
    assert response.status_code == 404 and response.get_json()["error"] == "no_pdf"


def test_upload_errors(app, tenants, biller_key):
    client = app.test_client()
    no_xml = client.post(f"{API}/invoices", headers=bearer(biller_key), data={"email": "a@b.co"})
    assert no_xml.status_code == 400 and no_xml.get_json()["error"] == "missing_file"
    unreadable = upload(client, biller_key, b"<hello/>")
    assert unreadable.status_code == 422 and unreadable.get_json()["error"] == "invalid_invoice"
    no_date = ubl_invoice("FE-102").replace(b"<cbc:IssueDate>2026-01-15</cbc:IssueDate>", b"")
    missing = upload(client, biller_key, no_date)
    assert missing.status_code == 422 and "cbc:IssueDate" in missing.get_json()["message"]
    not_pdf = upload(client, biller_key, ubl_invoice("FE-103"), pdf=b"GIF89a")
    assert not_pdf.status_code == 422 and "PDF" in not_pdf.get_json()["message"]
    bad_email = upload(client, biller_key, ubl_invoice("FE-104"), email="not-an-address")
    assert bad_email.status_code == 422
    big = ubl_invoice("FE-105") + b" " * (10 * 1024 * 1024)
    too_big = upload(client, biller_key, big)
    assert too_big.status_code == 413 and too_big.get_json()["error"] == "too_large"
    with app.app_context(), all_tenants():
        assert db.session.scalar(select(func.count(Invoice.id))) == 0


def test_listing_pages_with_a_cursor_and_date_filters(app, tenants, biller_key):
    from datetime import date

    client = app.test_client()
    for day in range(1, 6):
        upload(client, biller_key, ubl_invoice(f"FE-2{day}", issue_date=date(2026, 3, day)))
    seen, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"{API}/invoices", headers=bearer(biller_key), query_string=query)
        assert page.status_code == 200
        body = page.get_json()
        seen += [i["number"] for i in body["invoices"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["FE-25", "FE-24", "FE-23", "FE-22", "FE-21"]
    window = client.get(
        f"{API}/invoices?from=2026-03-02&to=2026-03-04", headers=bearer(biller_key)
    ).get_json()
    assert [i["number"] for i in window["invoices"]] == ["FE-24", "FE-23", "FE-22"]
    for query in ("from=yesterday", "to=2026-13-01", "cursor=nonsense", "limit=0", "limit=x"):
        bad = client.get(f"{API}/invoices?{query}", headers=bearer(biller_key))
        assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_parameter"


def test_two_tenants(app, tenants, biller_key):
    client = app.test_client()
    invoice_id = upload(client, biller_key, ubl_invoice("FE-300"), fake_pdf("x")).get_json()["id"]
    # Intertec's key does not open Azteca's API.
    elsewhere = client.get("/t/azteca/api/v1/credentials", headers=bearer(biller_key))
    assert elsewhere.status_code == 401 and elsewhere.get_json()["error"] == "key_invalid"
    # Azteca's key does not see Intertec's invoice: 404, as for one that does not exist.
    azteca_user, _email = staff(app, tenants, slug="azteca")
    azteca_key = key_for(app, azteca_user)
    for path in ("", "/pdf", "/xml"):
        response = client.get(
            f"/t/azteca/api/v1/invoices/{invoice_id}{path}", headers=bearer(azteca_key)
        )
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    listing = client.get("/t/azteca/api/v1/invoices", headers=bearer(azteca_key)).get_json()
    assert listing["invoices"] == []


def test_revoked_keys_say_what_to_do(app, tenants):
    user_id, _email = staff(app, tenants)
    after_change, manual = key_for(app, user_id), key_for(app, user_id)
    client = app.test_client()
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        user = db.session.get(User, user_id)
        key = db.session.scalars(select(ApiKey).filter_by(prefix=manual[:12])).one()
        apikeys.revoke_api_key(key, by=user)
        db.session.commit()
        change_password(user, "una contraseña nueva y larga")
        db.session.commit()
    response = client.get(f"{API}/credentials", headers=bearer(after_change))
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "key_revoked"
    assert "revoked after a password change; get a new key" in body["message"]
    response = client.get(f"{API}/credentials", headers=bearer(manual))
    assert response.get_json()["error"] == "key_revoked_manually"


def test_a_deactivated_users_key_stops_working(app, tenants, biller_key):
    with app.app_context(), all_tenants():
        user = db.session.scalars(select(User).filter_by(email="biller@intertec.test")).one()
        user.active = False
        db.session.commit()
    response = app.test_client().get(f"{API}/credentials", headers=bearer(biller_key))
    assert response.status_code == 401 and response.get_json()["error"] == "user_inactive"


def test_wrong_keys_are_throttled_per_address_but_a_good_key_still_works(app, tenants, biller_key):
    client = app.test_client()
    for n in range(20):
        response = client.get(f"{API}/credentials", headers=bearer(f"inv_guess{n:03d}_x"))
        assert response.status_code == 401
    refused = client.get(f"{API}/credentials", headers=bearer("inv_guess999_x"))
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert client.get(f"{API}/credentials", headers=bearer(biller_key)).status_code == 200
    with app.app_context(), all_tenants():
        from saas.audit import AuditEvent

        rejected = select(func.count(AuditEvent.id)).filter_by(event="api.key_rejected")
        assert db.session.scalar(rejected) == 21


# Who may do what through the API: the permission table of saas/permissions.py.
ROUTES = [
    ("GET", "/credentials", {"admin", "biller", "accountant", "support"}),
    ("GET", "/invoices", {"admin", "biller", "accountant", "support"}),
    ("GET", "/invoices/{id}", {"admin", "biller", "accountant", "support"}),
    ("GET", "/invoices/{id}/xml", {"admin", "biller", "accountant"}),
    ("GET", "/invoices/{id}/pdf", {"admin", "biller", "accountant"}),
    ("POST", "/invoices", {"admin", "biller"}),
]


@pytest.mark.parametrize("role", ["admin", "biller", "accountant", "support"])
def test_roles_as_a_table(app, tenants, biller_key, role):
    client = app.test_client()
    invoice_id = upload(client, biller_key, ubl_invoice("FE-400"), fake_pdf("r")).get_json()["id"]
    user_id, email = staff(app, tenants, role=role, email=f"{role}-table@intertec.test")
    key = key_for(app, user_id)
    for method, path, allowed in ROUTES:
        data = None
        if method == "POST":
            data = {"xml": (io.BytesIO(ubl_invoice("FE-400")), "invoice.xml")}
        response = client.open(
            API + path.format(id=invoice_id), method=method, headers=bearer(key), data=data
        )
        expected = (200,) if role in allowed else (403,)
        assert response.status_code in expected, (role, method, path, response.get_json())
    # Only an Administrator or a Biller may get a key.
    response = client.post(f"{API}/api-keys", headers=basic(email))
    assert response.status_code == (201 if role in ("admin", "biller") else 403)


def test_a_biller_limited_to_one_company(app, tenants, biller_key):
    client = app.test_client()
    own = upload(client, biller_key, ubl_invoice("FE-A")).get_json()["id"]
    other = upload(client, biller_key, ubl_invoice("FE-B", issuer="sucursal")).get_json()["id"]
    with app.app_context():
        tenant = tenants["intertec"].load()
        company = db.session.scalars(
            select(Company).filter_by(tenant_id=tenant.id, tax_id="900123456-8")
        ).one()
        limited = make_user(tenant, email="a@intertec.test", username="a", role="biller")
        limited.companies = [company]
        db.session.commit()
        limited_id = limited.id
    key = key_for(app, limited_id)
    listing = client.get(f"{API}/invoices", headers=bearer(key)).get_json()
    assert [i["number"] for i in listing["invoices"]] == ["FE-A"]
    assert client.get(f"{API}/invoices/{own}", headers=bearer(key)).status_code == 200
    assert client.get(f"{API}/invoices/{other}", headers=bearer(key)).status_code == 404
    refused = upload(client, key, ubl_invoice("FE-B2", issuer="sucursal"))
    assert refused.status_code == 403 and refused.get_json()["error"] == "issuer_not_assigned"


def test_errors_of_the_framework_are_json_in_english(app, tenants, biller_key):
    client = app.test_client()
    response = client.delete(f"{API}/invoices?lang=es", headers=bearer(biller_key))
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert response.get_json() == {
        "error": "method_not_allowed",
        "message": "This action is not allowed here.",
    }
    missing = client.get(f"{API}/nothing-here", headers=bearer(biller_key))
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_the_openapi_document(app, tenants):
    document = app.test_client().get(f"{API}/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/t/intertec/api/v1"}]
    assert set(document["paths"]) == {
        "/openapi.json",
        "/api-keys",
        "/credentials",
        "/invoices",
        "/invoices/batch",
        "/invoices/{invoice_id}",
        "/invoices/{invoice_id}/pdf",
        "/invoices/{invoice_id}/xml",
    }
    fields = document["components"]["schemas"]["Invoice"]["required"]
    assert fields[:3] == ["id", "number", "kind"] and "customer" in fields

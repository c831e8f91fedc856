"""The staff console: permissions as a table, isolation, dashboard, search, uploads, API keys,
settings and the audit log."""

import io
import re
import zipfile
from datetime import date

import pytest
from sqlalchemy import select

from saas.audit import AuditEvent
from saas.auth.models import ApiKey
from saas.console.models import UploadBatch
from saas.extensions import db
from saas.permissions import PERMISSIONS, ROLES
from saas.tenancy.models import Tenant
from saas.tenancy.services import sync_tenants
from tests.auth.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, make_user
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import publish_for


def staff_client(app, tenants, role, slug="intertec", **values):
    with app.app_context():
        user = make_user(tenants[slug].load(), role=role, **values)
        login = user.username
    client = app.test_client()
    assert sign_in(client, slug, login, PASSWORD).status_code == 302
    return client


# (method, path, permission) for every console route; {id} is filled per test.
ROUTES = [
    ("GET", "/t/intertec/console/", "dashboard.view"),
    ("GET", "/t/intertec/console/invoices", "invoices.view"),
    ("GET", "/t/intertec/console/invoices/{invoice}/xml", "invoices.download"),
    ("GET", "/t/intertec/console/customers", "customers.view"),
    ("GET", "/t/intertec/console/upload", "invoices.upload"),
    ("GET", "/t/intertec/console/uploads", "invoices.upload"),
    ("GET", "/t/intertec/console/api", "api_keys.manage"),
    ("GET", "/t/intertec/console/settings", "settings.manage"),
    ("GET", "/t/intertec/console/users", "users.manage"),
    ("GET", "/t/intertec/console/users/buy", "users.manage"),
    ("GET", "/t/intertec/console/companies", "companies.manage"),
    ("GET", "/t/intertec/console/audit", "audit.view"),
]


@pytest.fixture
def invoice_id(app, tenants):
    return publish_for(app, "intertec", ubl_invoice("FE-1"), fake_pdf("FE-1"))[0]


@pytest.mark.parametrize("role", [*ROLES, "recipient"])
def test_roles_as_a_table(app, tenants, invoice_id, role):
    if role == "recipient":
        client = staff_client(app, tenants, None, kind="recipient")
    else:
        client = staff_client(app, tenants, role)
    for method, path, permission in ROUTES:
        response = client.open(path.format(invoice=invoice_id), method=method)
        expected = 200 if role in PERMISSIONS[permission] else 403
        assert response.status_code == expected, (role, path, response.status_code)


def test_anonymous_people_are_sent_to_sign_in(app, tenants, invoice_id):
    client = app.test_client()
    for method, path, _permission in ROUTES:
        response = client.open(path.format(invoice=invoice_id), method=method)
        assert response.status_code == 302 and "/t/intertec/login" in response.headers["Location"]


def test_another_tenants_staff_gets_404(app, tenants, invoice_id):
    client = staff_client(app, tenants, "admin", slug="azteca")
    assert client.get(f"/t/azteca/console/invoices/{invoice_id}/xml").status_code == 404
    assert client.get(f"/t/azteca/console/invoices/{invoice_id}/pdf").status_code == 404
    # The other tenant's pages do not open with this session at all.
    assert client.get("/t/intertec/console/").status_code in (302, 403, 404)
    page = client.get("/t/azteca/console/invoices?lang=en").text
    assert "FE-1" not in page


def test_dashboard_counts(app, tenants):
    for n in range(3):
        publish_for(app, "intertec", ubl_invoice(f"FE-{n}"))
    client = staff_client(app, tenants, "accountant")
    page = client.get("/t/intertec/console/?lang=en").text
    assert "Invoices published per month" in page and "<svg" in page
    assert "3 pending" in page.replace("0 downloaded, ", "")
    assert "Intertec S.A.S." in page


def test_invoice_search_and_pages(app, tenants):
    for n in range(55):
        publish_for(
            app, "intertec", ubl_invoice(f"FE-{n:03d}", issue_date=date(2026, 1, 1 + n % 28))
        )
    publish_for(app, "intertec", ubl_invoice("CF-900", customer="cafetera"))
    client = staff_client(app, tenants, "support")
    page = client.get("/t/intertec/console/invoices?lang=en").text
    assert page.count("<tr>") == 50 + 1 and "Load more" in page
    more = re.search(r'hx-get="([^"]+cursor=[^"]+)"', page).group(1).replace("&amp;", "&")
    rest = client.get(more, headers={"HX-Request": "true", "HX-Target": "load-more"}).text
    assert rest.count("<tr>") == 6 and "Load more" not in rest
    by_name = client.get("/t/intertec/console/invoices?q=cafetera").text
    assert "CF-900" in by_name and "FE-001" not in by_name
    by_tax_id = client.get("/t/intertec/console/invoices?q=901234567").text
    assert "CF-900" in by_tax_id and "FE-001" not in by_tax_id
    by_number = client.get("/t/intertec/console/invoices?q=fe-01").text
    assert "FE-010" in by_number and "CF-900" not in by_number
    dated = client.get("/t/intertec/console/invoices?from=2026-01-27&to=2026-01-28").text
    assert "FE-026" in dated and "FE-025" not in dated
    bad = client.get("/t/intertec/console/invoices?from=yesterday&lang=en")
    assert bad.status_code == 422 and "Check the dates of the filter." in bad.text


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_bulk_upload_of_a_zip(app, tenants):
    publish_for(app, "intertec", ubl_invoice("FE-OLD"))
    client = staff_client(app, tenants, "biller")
    page = client.get("/t/intertec/console/uploads?lang=en")
    files = {f"inv-{n}.xml": ubl_invoice(f"FE-{n}") for n in range(3)}
    files["inv-0.pdf"] = fake_pdf("inv-0")
    files["again.xml"] = ubl_invoice("FE-OLD")
    files["broken.xml"] = b"<Invoice>not really</Invoice>"
    files["orphan.pdf"] = fake_pdf("orphan")
    response = client.post(
        "/t/intertec/console/uploads?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "files": [(io.BytesIO(zip_of(files)), "batch.zip")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    status = client.get(response.headers["Location"] + "?lang=en").text
    assert "Done: 3 imported, 1 already present, 2 with errors." in status
    assert "FE-0 · PDF" in status
    assert "No XML file with the same name." in status
    with app.app_context():
        batch = db.session.scalars(select(UploadBatch)).one()
        by_file = {r["file"]: r for r in batch.results}
        assert by_file["broken.xml"]["status"] == "error" and by_file["broken.xml"]["message"]
        assert by_file["again.xml"]["status"] == "present"
    # Someone else's upload is not there for them.
    other = staff_client(app, tenants, "biller")
    assert other.get(response.headers["Location"]).status_code == 404


def test_bulk_upload_refuses_unknown_files(app, tenants):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/uploads?lang=en")
    response = client.post(
        "/t/intertec/console/uploads?lang=en",
        data={"csrf_token": csrf_from(page.text), "files": [(io.BytesIO(b"x"), "notes.docx")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "notes.docx is not an XML, .p7m, PDF or zip file." in response.text
    with app.app_context():
        assert db.session.scalars(select(UploadBatch)).all() == []


def test_api_page_gets_checks_and_revokes_keys(app, tenants):
    client = staff_client(app, tenants, "biller")
    page = client.get("/t/intertec/console/api?lang=en")
    wrong = client.post(
        "/t/intertec/console/api/keys?lang=en",
        data={"csrf_token": csrf_from(page.text), "password": "not it"},
    )
    assert wrong.status_code == 422 and "Your password is not correct." in wrong.text
    made = client.post(
        "/t/intertec/console/api/keys?lang=en",
        data={"csrf_token": csrf_from(page.text), "password": PASSWORD},
    )
    assert made.status_code == 201 and "it is shown only once" in made.text
    raw = re.search(r'<code id="new-key">([^<]+)</code>', made.text).group(1)
    listed = client.get("/t/intertec/console/api?lang=en").text
    assert raw not in listed and raw[:12] + "…" in listed

    ok = client.post(
        "/t/intertec/console/api/check?lang=en",
        data={"csrf_token": csrf_from(page.text), "key": raw},
        headers={"HX-Request": "true"},
    )
    assert "The credentials work" in ok.text and "<html" not in ok.text
    bad = client.post(
        "/t/intertec/console/api/check?lang=en",
        data={"csrf_token": csrf_from(page.text), "key": raw + "x"},
        headers={"HX-Request": "true"},
    )
    assert "This key is not valid for Intertec." in bad.text

    with app.app_context():
        key_id = db.session.scalars(select(ApiKey.id)).one()
    outsider = staff_client(app, tenants, "admin", slug="azteca")
    outsider_page = outsider.get("/t/azteca/console/api")
    assert (
        outsider.post(
            f"/t/azteca/console/api/keys/{key_id}/revoke",
            data={"csrf_token": csrf_from(outsider_page.text)},
        ).status_code
        == 404
    )
    revoked = client.post(
        f"/t/intertec/console/api/keys/{key_id}/revoke?lang=en",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    assert "revoked: it no longer works" in revoked.text
    again = client.post(
        "/t/intertec/console/api/check?lang=en",
        data={"csrf_token": csrf_from(page.text), "key": raw},
    )
    assert "This key was revoked. Get a new key." in again.text


def settings_data(page_text, **changes):
    data = {
        "csrf_token": csrf_from(page_text),
        "name": "Intertec",
        "primary_color": "#0b5394",
        "accent_color": "",
        "locales": ["es", "en", "it"],
        "default_locale": "es",
        "login_methods": ["password", "magic_link"],
        "password_reset": "tax_id",
        "onboarding": "two_emails",
        "password_max_age_days": "90",
        "phone_label": ["Factura electrónica", ""],
        "phone_number": ["+57 300 3292", ""],
    }
    data.update(changes)
    return data


def test_settings_apply_at_once_and_survive_a_sync(app, tenants):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/settings?lang=en")
    assert page.status_code == 200 and "Primary colour" in page.text
    saved = client.post(
        "/t/intertec/console/settings?lang=en",
        data=settings_data(
            page.text,
            name="Intertec Colombia",
            primary_color="#7a1f5c",
            phone_label=["Soporte", "Ventas"],
            phone_number=["+57 300 3292", "+57 601 555 0101"],
        ),
    )
    assert saved.status_code == 303
    home = client.get("/t/intertec/console/?lang=en").text
    assert "Intertec Colombia" in home and "+57 601 555 0101" in home
    theme = client.get("/t/intertec/theme.css").text
    assert "#7a1f5c" in theme
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).filter_by(event="tenant.settings_changed")
        ).one()
        assert set(event.data["fields"]) >= {"name", "primary_color", "support_phones"}
        sync_tenants()
        tenant = db.session.scalars(select(Tenant).filter_by(slug="intertec")).one()
        assert tenant.name == "Intertec Colombia" and tenant.primary_color == "#7a1f5c"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"login_methods": []}, "Keep at least one sign-in method."),
        ({"locales": []}, "Keep at least one language."),
        ({"default_locale": "it", "locales": ["es"]}, "The default language must be one of"),
        ({"primary_color": "blue"}, "Use a colour such as #0b5394."),
        ({"phone_number": ["call me", ""]}, "call me is not a phone number."),
    ],
)
def test_settings_refuse_what_cannot_work(app, tenants, changes, message):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/settings?lang=en")
    response = client.post(
        "/t/intertec/console/settings?lang=en", data=settings_data(page.text, **changes)
    )
    assert response.status_code == 422 and message in response.text


def test_settings_refuse_an_unsafe_logo(app, tenants):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/settings?lang=en")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    data = settings_data(page.text)
    data["logo"] = (io.BytesIO(svg), "logo.svg")
    response = client.post(
        "/t/intertec/console/settings?lang=en", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and "This logo cannot be used" in response.text


def test_preview_shows_the_contrast(app, tenants):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/settings?lang=en")
    preview = client.post(
        "/t/intertec/console/settings/preview?lang=en",
        data={"csrf_token": csrf_from(page.text), "primary_color": "#000000"},
        headers={"HX-Request": "true"},
    )
    assert "button text 21.0:1" in preview.text


def test_audit_log_filters(app, tenants):
    client = staff_client(app, tenants, "admin")
    with app.app_context():
        make_user(tenants["intertec"].load(), username="zoe", email="zoe@example.com")
    sign_in(app.test_client(), "intertec", "zoe", "wrong password")
    page = client.get("/t/intertec/console/audit?lang=en").text
    assert "signin.failed" in page and "signin.succeeded" in page
    only = client.get("/t/intertec/console/audit?event=signin.failed&lang=en").text
    assert "signin.failed" in only and "<code>signin.succeeded</code>" not in only
    zoe = client.get("/t/intertec/console/audit?user=zoe&lang=en").text
    assert "zoe@example.com" in zoe
    other = staff_client(app, tenants, "admin", slug="azteca")
    assert "zoe@example.com" not in other.get("/t/azteca/console/audit?lang=en").text

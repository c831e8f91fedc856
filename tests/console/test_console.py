"""The staff console: permissions as a table, isolation, dashboard, search, uploads, API keys,
settings and the audit log."""

import io
import re
import struct
import zipfile
import zlib
from datetime import date

import pytest
from sqlalchemy import select

from saas.audit import AuditEvent
from saas.auth.models import ApiKey
from saas.console.models import UploadBatch
from saas.extensions import db
from saas.permissions import ROLES
from saas.tenancy import all_tenants
from saas.tenancy.models import Tenant
from saas.tenancy.services import sync_tenants
from tests import html
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


ALL = {"admin", "biller", "accountant", "support"}
PUBLISHERS = {"admin", "biller"}
READERS = {"admin", "biller", "accountant"}
ADMIN = {"admin"}
RESEND = {"admin", "biller", "support"}

# Who may use each console route, written out here (not read from saas/permissions.py,
# so a wrong entry there fails this test): (method, path, roles allowed). Others get 403.
ROUTES = [
    ("GET", "/t/intertec/console/", ALL),
    ("GET", "/t/intertec/console/invoices", ALL),
    ("GET", "/t/intertec/console/invoices/{invoice}/xml", READERS),
    ("GET", "/t/intertec/console/invoices/{invoice}/pdf", READERS),
    ("GET", "/t/intertec/console/customers", ALL),
    ("GET", "/t/intertec/console/customers/{customer}/recipients/{recipient}/access", RESEND),
    ("POST", "/t/intertec/console/customers/{customer}/recipients/{recipient}/access", RESEND),
    ("GET", "/t/intertec/console/upload", PUBLISHERS),
    ("POST", "/t/intertec/console/upload", PUBLISHERS),
    ("GET", "/t/intertec/console/uploads", PUBLISHERS),
    ("POST", "/t/intertec/console/uploads", PUBLISHERS),
    ("GET", "/t/intertec/console/uploads/{batch}", PUBLISHERS),
    ("GET", "/t/intertec/console/api", PUBLISHERS),
    ("POST", "/t/intertec/console/api/keys", PUBLISHERS),
    ("POST", "/t/intertec/console/api/check", PUBLISHERS),
    ("POST", "/t/intertec/console/api/keys/{key}/revoke", PUBLISHERS),
    ("GET", "/t/intertec/console/settings", ADMIN),
    ("POST", "/t/intertec/console/settings", ADMIN),
    ("POST", "/t/intertec/console/settings/preview", ADMIN),
    ("POST", "/t/intertec/console/settings/address", ADMIN),
    ("GET", "/t/intertec/console/users", ADMIN),
    ("POST", "/t/intertec/console/users", ADMIN),
    ("GET", "/t/intertec/console/users/{user}", ADMIN),
    ("POST", "/t/intertec/console/users/{user}", ADMIN),
    ("POST", "/t/intertec/console/users/{user}/deactivate", ADMIN),
    ("GET", "/t/intertec/console/users/buy", ADMIN),
    ("POST", "/t/intertec/console/users/buy", ADMIN),
    ("GET", "/t/intertec/console/companies", ADMIN),
    ("POST", "/t/intertec/console/companies", ADMIN),
    ("GET", "/t/intertec/console/audit", ADMIN),
]


@pytest.fixture
def invoice_id(app, tenants):
    return publish_for(app, "intertec", ubl_invoice("FE-1"), fake_pdf("FE-1"))[0]


@pytest.fixture
def route_ids(app, tenants, invoice_id):
    """Rows for the routes that name one: a customer, an upload batch, a key, a user."""
    from saas.auth import apikeys
    from saas.companies import Company
    from saas.portal.models import Invoice

    with app.app_context():
        tenant = tenants["intertec"].load()
        author = make_user(tenant, role="biller", username="author", email="author@i.co")
        _key, _raw = apikeys.create_api_key(author)
        batch = UploadBatch(tenant_id=tenant.id, user_id=author.id, total=0)
        db.session.add(batch)
        db.session.commit()
        customer = db.session.get(Invoice, invoice_id).customer_company_id
        assert db.session.get(Company, customer).kind == "customer"
        [recipient] = db.session.get(Company, customer).users
        return {
            "invoice": invoice_id,
            "customer": customer,
            "recipient": recipient.id,
            "batch": batch.id,
            "key": _key.id,
            "user": author.id,
        }


def test_every_console_route_is_in_the_table(app):
    """A new console page without a line here (and a permission) fails this test."""
    listed = {
        (method, re.sub(r"\{\w+\}", "X", path).replace("/t/intertec", ""))
        for method, path, _roles in ROUTES
    }
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console."):
            continue
        assert getattr(app.view_functions[rule.endpoint], "permission", None), rule.rule
        path = re.sub(r"<[^>]+>", "X", rule.rule).replace("/t/X", "")
        path = path.replace("/X/X", "/X/xml") if "invoices" in path else path
        path = path.replace("users/X/X", "users/X/deactivate")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in listed, (method, rule.rule)


@pytest.mark.parametrize("role", [*ROLES, "recipient"])
def test_roles_as_a_table(app, tenants, route_ids, role):
    if role == "recipient":
        client = staff_client(app, tenants, None, kind="recipient")
        token = csrf_from(client.get("/t/intertec/account").text)
    else:
        client = staff_client(app, tenants, role)
        token = csrf_from(client.get("/t/intertec/console/").text)
    for method, path, allowed in ROUTES:
        url = path.format(**route_ids)
        data = {"csrf_token": token} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        response.close()  # a download streams its file: close it as a browser would
        if role in allowed:
            # A batch is its author's alone, and a Biller revokes only their own keys:
            # those answer 404 to others (the ownership rule, not the profile's).
            owned = "{batch}" in path or ("{key}" in path and role != "admin")
            refused = (403, 500) if owned else (403, 404, 500)
            assert response.status_code not in refused, (role, method, url)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)


def test_anonymous_people_are_sent_to_sign_in(app, tenants, route_ids):
    client = app.test_client()
    for method, path, _roles in ROUTES:
        response = client.open(path.format(**route_ids), method=method)
        if method == "GET":
            assert response.status_code == 302, path
            assert "/t/intertec/login" in response.headers["Location"]
        else:  # no session, so no CSRF token either: refused before anything else
            assert response.status_code in (302, 400), path


def test_another_tenants_staff_gets_404(app, invoice_id, other_tenant):
    client, slug = app.test_client(), other_tenant.slug
    assert sign_in(client, slug, other_tenant.admin.username, PASSWORD).status_code == 302
    assert client.get(f"/t/{slug}/console/invoices/{invoice_id}/xml").status_code == 404
    assert client.get(f"/t/{slug}/console/invoices/{invoice_id}/pdf").status_code == 404
    # The other tenant's pages do not open with this session at all: sign in there first.
    elsewhere = client.get("/t/intertec/console/")
    assert elsewhere.status_code == 302 and "/t/intertec/login" in elsewhere.headers["Location"]
    page = client.get(f"/t/{slug}/console/invoices?lang=en")
    assert page.status_code == 200 and "FE-1" not in page.text


def test_dashboard_counts(app, tenants):
    for n in range(3):
        publish_for(app, "intertec", ubl_invoice(f"FE-{n}"))
    client = staff_client(app, tenants, "accountant")
    page = html.doc(client.get("/t/intertec/console/?lang=en"))
    [chart] = page.xpath("//article[header/h2='Invoices published per month']//svg")
    assert html.text(chart, "title") == "Invoices published per month"
    [status] = page.xpath("//article[header/h2='Downloaded and pending']//svg/title")
    assert html.text(status) == "0 downloaded, 3 pending"
    issuers = page.xpath("//article[header/h2='By issuer company']//tbody/tr")
    assert [html.texts(row, "td")[:3] for row in issuers] == [["Intertec S.A.S.", "3", "3"]]


def test_invoice_search_and_pages(app, tenants):
    for n in range(55):
        publish_for(
            app, "intertec", ubl_invoice(f"FE-{n:03d}", issue_date=date(2026, 1, 1 + n % 28))
        )
    publish_for(app, "intertec", ubl_invoice("CF-900", customer="cafetera"))
    client = staff_client(app, tenants, "support")
    page = html.doc(client.get("/t/intertec/console/invoices?lang=en"))
    first = html.invoice_numbers(page)
    [more] = page.xpath("//tr[@id='load-more']//a[normalize-space()='Load more']/@hx-get")
    rest = client.get(more, headers={"HX-Request": "true", "HX-Target": "load-more"}).text
    assert "Load more" not in rest
    rest = html.invoice_numbers(html.rows_doc(rest))
    assert (len(first), len(rest)) == (50, 6)
    assert sorted(first + rest) == sorted([f"FE-{n:03d}" for n in range(55)] + ["CF-900"])

    def found(query):
        return html.invoice_numbers(html.doc(client.get(f"/t/intertec/console/invoices?{query}")))

    assert found("q=cafetera") == ["CF-900"]  # the customer's name
    assert found("q=901234567") == ["CF-900"]  # its tax id
    assert sorted(found("q=fe-01")) == [f"FE-{n:03d}" for n in range(10, 20)]
    assert sorted(found("from=2026-01-27&to=2026-01-28")) == ["FE-026", "FE-027", "FE-054"]
    bad = client.get("/t/intertec/console/invoices?from=yesterday&lang=en")
    assert bad.status_code == 422
    assert html.alerts(html.doc(bad)) == ["Check the dates of the filter."]


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
    status = html.doc(client.get(response.headers["Location"] + "?lang=en"))
    assert html.text(status, "//section[@id='upload-progress']/p[@role='status']") == (
        "Done: 3 imported, 1 already present, 2 with errors."
    )
    results = {
        html.text(row, "td[1]"): html.texts(row, "td[2] | td[3]")
        for row in status.xpath("//table[contains(@class, 'upload-results')]/tbody/tr")
    }
    assert results["inv-0.xml"] == ["Imported", "FE-0 · PDF"]
    assert results["orphan.pdf"] == ["Error", "No XML file with the same name."]
    assert results["again.xml"][0] == "Already present" and results["broken.xml"][0] == "Error"
    with app.app_context(), all_tenants():
        batch = db.session.scalars(select(UploadBatch)).one()
        by_file = {r["file"]: r for r in batch.results}
        assert by_file["broken.xml"]["status"] == "error" and by_file["broken.xml"]["problem"]
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
    assert "notes.docx is not an XML, .p7m, PDF or zip file." in html.problems(response)
    with app.app_context(), all_tenants():
        assert db.session.scalars(select(UploadBatch)).all() == []


def test_api_page_gets_checks_and_revokes_keys(app, tenants):
    client = staff_client(app, tenants, "biller")
    page = client.get("/t/intertec/console/api?lang=en")
    wrong = client.post(
        "/t/intertec/console/api/keys?lang=en",
        data={"csrf_token": csrf_from(page.text), "password": "not it"},
    )
    assert wrong.status_code == 422
    assert "Your password is not correct." in html.problems(wrong)
    made = client.post(
        "/t/intertec/console/api/keys?lang=en",
        data={"csrf_token": csrf_from(page.text), "password": PASSWORD},
    )
    assert made.status_code == 303
    shown = client.get(made.headers["Location"])
    assert "it is shown only once" in shown.text
    raw = re.search(r'<code id="new-key">([^<]+)</code>', shown.text).group(1)
    listed = client.get("/t/intertec/console/api?lang=en").text
    assert raw not in listed
    assert html.texts(html.doc(listed), "//table//tbody/tr/td[1]/code") == [raw[:12] + "…"]

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
    assert "This key is not valid for Intertec." in html.problems(bad)

    with app.app_context(), all_tenants():
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
    assert "This key was revoked. Get a new key." in html.problems(again)


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
    with app.app_context(), all_tenants():
        event = db.session.scalars(
            select(AuditEvent).filter_by(event="tenant.settings_changed")
        ).one()
        assert set(event.data["fields"]) >= {"name", "primary_color", "support_phones"}
        sync_tenants()
        db.session.commit()  # the test owns its transaction
        tenant = db.session.scalars(select(Tenant).filter_by(slug="intertec")).one()
        assert tenant.name == "Intertec Colombia" and tenant.primary_color == "#7a1f5c"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"login_methods": []}, "Keep at least one sign-in method."),
        ({"locales": []}, "Keep at least one language."),
        (
            {"default_locale": "it", "locales": ["es"]},
            "The default language must be one of the languages.",
        ),
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
    assert response.status_code == 422 and message in html.problems(response)


def test_settings_refuse_an_unsafe_logo(app, tenants):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/settings?lang=en")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    data = settings_data(page.text)
    data["logo"] = (io.BytesIO(svg), "logo.svg")
    response = client.post(
        "/t/intertec/console/settings?lang=en", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert html.field_error(response, "logo") == (
        "This logo cannot be used: an SVG may not contain scripts."
    )


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

    def events(query):
        page = html.doc(client.get(f"/t/intertec/console/audit?{query}lang=en"))
        return [
            [row.xpath("td[2]/@data-event")[0], html.texts(row, "td")[2]]
            for row in page.xpath("//table[contains(@class, 'audit')]/tbody/tr")
        ]

    assert {"signin.failed", "signin.succeeded"} <= {event for event, _who in events("")}
    assert {event for event, _who in events("event=signin.failed&")} == {"signin.failed"}
    assert ["signin.failed", "zoe@example.com"] in events("user=zoe&")
    other = staff_client(app, tenants, "admin", slug="azteca")
    assert "zoe@example.com" not in other.get("/t/azteca/console/audit?lang=en").text


def test_another_tenants_rows_are_404_on_every_console_route_that_names_one(
    app, tenants, route_ids
):
    """Azteca's Administrator, on Azteca's URLs, with ids of Intertec's rows."""
    client = staff_client(app, tenants, "admin", slug="azteca")
    token = csrf_from(client.get("/t/azteca/console/").text)
    for method, path, _roles in ROUTES:
        if "{" not in path:
            continue
        url = path.format(**route_ids).replace("/t/intertec/", "/t/azteca/")
        data = {"csrf_token": token} if method == "POST" else None
        assert client.open(url, method=method, data=data).status_code == 404, url
    with app.app_context(), all_tenants():  # and nothing happened to them
        assert db.session.get(ApiKey, route_ids["key"]).revoked_at is None
        from saas.auth.models import User

        assert db.session.get(User, route_ids["user"]).active


def test_checking_wrong_keys_on_the_api_page_is_throttled_like_the_api(app, tenants):
    client = staff_client(app, tenants, "biller")
    token = csrf_from(client.get("/t/intertec/console/api").text)

    def check(key):
        return client.post(
            "/t/intertec/console/api/check?lang=en",
            data={"csrf_token": token, "key": key},
            headers={"HX-Request": "true"},
        )

    for n in range(20):
        assert "This key is not valid for Intertec." in html.problems(check(f"inv_guess{n:03d}_x"))
    refused = check("inv_guess999_x")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert any(
        p.startswith("Too many wrong keys were checked from here. Try again in")
        for p in html.problems(refused)
    )
    # The same address is now refused by the API too: one limit for both doors.
    api = client.get("/t/intertec/api/v1/credentials", headers={"Authorization": "Bearer inv_x_y"})
    assert api.status_code == 429


def tiny_png(padding: int = 0) -> bytes:
    """A real 1x1 PNG; `padding` bytes of a private chunk make it as large as a test needs."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x0b\x53\x94")
    extra = chunk(b"prVt", b"\x00" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


SAFE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
    b'<rect width="8" height="8" fill="#0b5394"/></svg>'
)


@pytest.mark.parametrize(
    "name, data, content_type",
    [("logo.png", tiny_png(), "image/png"), ("Logo.SVG", SAFE_SVG, "image/svg+xml")],
)
def test_settings_change_the_logo(app, tenants, name, data, content_type):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/settings?lang=en")
    form = settings_data(page.text)
    form["logo"] = (io.BytesIO(data), name)
    saved = client.post(
        "/t/intertec/console/settings?lang=en", data=form, content_type="multipart/form-data"
    )
    assert saved.status_code == 303
    logo = client.get("/t/intertec/logo")
    assert logo.status_code == 200 and logo.data == data and logo.mimetype == content_type
    with app.app_context(), all_tenants():
        event = db.session.scalars(
            select(AuditEvent).filter_by(event="tenant.settings_changed")
        ).one()
        assert "logo" in event.data["fields"]


def test_settings_refuse_a_logo_over_512_kib(app, tenants):
    client = staff_client(app, tenants, "admin")
    before = client.get("/t/intertec/logo").data
    page = client.get("/t/intertec/console/settings?lang=en")
    form = settings_data(page.text)
    form["logo"] = (io.BytesIO(tiny_png(padding=512 * 1024)), "big.png")
    response = client.post(
        "/t/intertec/console/settings?lang=en", data=form, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "larger than 512 KiB" in html.field_error(response, "logo")
    assert client.get("/t/intertec/logo").data == before

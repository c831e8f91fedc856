"""Download state per file: an invoice's XML and PDF are pending until each is downloaded
(alone or in the zip); "downloaded" (lists, console, API) means all its files were."""

import io
import zipfile
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import select

from saas import create_app
from saas.auth.models import User
from saas.extensions import db
from saas.portal.models import ExportJob, Invoice
from saas.storage import get_storage, tenant_key
from saas.tenancy import all_tenants
from tests import html
from tests.api.test_api import API, bearer, key_for, staff
from tests.auth.conftest import csrf_from
from tests.conftest import base_config, fresh_database_url
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import activate, publish_for

EMAIL = "compras@andina.example"


def ids_by_number(app):
    with app.app_context(), all_tenants():
        return {i.number: i.id for i in db.session.scalars(select(Invoice))}


def recipient_with(app, *invoices):
    """Andina's recipient, activated, with (number, with_pdf) invoices."""
    for n, (number, with_pdf) in enumerate(invoices, 1):
        publish_for(
            app,
            "intertec",
            ubl_invoice(number, issue_date=date(2026, 1, n)),
            fake_pdf(number) if with_pdf else None,
        )
    client = app.test_client()
    activate(client, app, EMAIL)
    return client


def status_of(client, number):
    page = html.doc(client.get("/t/intertec/invoices?lang=en"))
    [row] = [r for r in html.invoice_rows(page) if html.text(r, "td[1]/a") == number]
    return html.text(row, "td[5]")


def pending_badge(client):
    page = html.doc(client.get("/t/intertec/invoices?lang=en"))
    return html.text(page, "//form[@id='pending-form']//span[@class='badge']")


def zip_names(client):
    token = csrf_from(client.get("/t/intertec/invoices").text)
    started = client.post("/t/intertec/invoices/pending", data={"csrf_token": token})
    if "/exports/" not in started.headers["Location"]:
        return None  # nothing pending
    response = client.get(started.headers["Location"] + "/zip")
    assert response.status_code == 200
    return sorted(zipfile.ZipFile(io.BytesIO(response.data)).namelist())


def biller_key(app, tenants):
    user_id, _ = staff(app, tenants, role="biller")
    return key_for(app, user_id)


def api_downloaded(app, key):
    listed = app.test_client().get(f"{API}/invoices", headers=bearer(key)).get_json()
    return {i["number"]: i["downloaded"] for i in listed["invoices"]}


def test_the_xml_alone_leaves_the_pdf_pending_and_the_zip_holds_only_it(portal_app, tenants):
    client = recipient_with(portal_app, ("FE-1", True), ("FE-2", True))
    ids = ids_by_number(portal_app)
    key = biller_key(portal_app, tenants)
    assert client.get(f"/t/intertec/invoices/{ids['FE-1']}/xml").status_code == 200
    # The PDF is still to download: the invoice is pending, everywhere.
    assert status_of(client, "FE-1") == "Pending"
    assert pending_badge(client) == "2"
    detail = html.doc(client.get(f"/t/intertec/invoices/{ids['FE-1']}?lang=en"))
    assert "Pending" in html.texts(detail, "//dl[@class='meta']/dd")
    assert api_downloaded(portal_app, key) == {"FE-1": False, "FE-2": False}
    # The zip: FE-1's PDF (not its XML again) and both files of FE-2.
    assert zip_names(client) == [
        "2026-01-01_FE-1.pdf",
        "2026-01-02_FE-2.pdf",
        "2026-01-02_FE-2.xml",
    ]
    assert status_of(client, "FE-1") == "Downloaded" and pending_badge(client) == "0"
    assert api_downloaded(portal_app, key) == {"FE-1": True, "FE-2": True}
    assert zip_names(client) is None


def test_the_pdf_alone_leaves_the_xml_pending(portal_app):
    client = recipient_with(portal_app, ("FE-1", True))
    ids = ids_by_number(portal_app)
    client.get(f"/t/intertec/invoices/{ids['FE-1']}/pdf")
    assert status_of(client, "FE-1") == "Pending"
    assert zip_names(client) == ["2026-01-01_FE-1.xml"]
    with portal_app.app_context(), all_tenants():
        invoice = db.session.get(Invoice, ids["FE-1"])
        assert invoice.downloaded and invoice.pdf_downloaded_at <= invoice.xml_downloaded_at


def test_an_invoice_without_a_pdf_is_downloaded_with_its_xml(portal_app):
    client = recipient_with(portal_app, ("FE-1", False), ("FE-2", True))
    ids = ids_by_number(portal_app)
    client.get(f"/t/intertec/invoices/{ids['FE-1']}/xml")
    assert status_of(client, "FE-1") == "Downloaded"
    assert pending_badge(client) == "1"
    with portal_app.app_context(), all_tenants():
        assert db.session.get(Invoice, ids["FE-1"]).pdf_downloaded_at is None


def test_the_zip_marks_only_the_files_it_holds(portal_app):
    client = recipient_with(portal_app, ("FE-1", True))
    token = csrf_from(client.get("/t/intertec/invoices").text)
    export_url = client.post("/t/intertec/invoices/pending", data={"csrf_token": token}).headers[
        "Location"
    ]
    # Published after the zip was made: not in it, so still pending after it.
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"), fake_pdf("FE-2"))
    archive = zipfile.ZipFile(io.BytesIO(client.get(export_url + "/zip").data))
    assert sorted(archive.namelist()) == ["2026-01-01_FE-1.pdf", "2026-01-01_FE-1.xml"]
    assert status_of(client, "FE-1") == "Downloaded" and status_of(client, "FE-2") == "Pending"


def test_an_export_made_before_files_were_told_apart_marks_all_its_files(portal_app):
    client = recipient_with(portal_app, ("FE-1", True), ("FE-2", True))
    ids = ids_by_number(portal_app)
    with portal_app.app_context(), all_tenants():
        user_id = db.session.scalars(select(User.id).where(User.email == EMAIL)).one()
        tenant_id = db.session.get(Invoice, ids["FE-1"]).tenant_id
        zip_key = tenant_key(tenant_id, "exports", "old.zip")
        get_storage().put(zip_key, b"PK\x05\x06" + bytes(18), "application/zip")
        old = ExportJob(
            tenant_id=tenant_id,
            user_id=user_id,
            status="done",
            invoice_ids=[ids["FE-1"]],
            files=None,
            total=1,
            done=1,
            zip_key=zip_key,
        )
        db.session.add(old)
        db.session.flush()
        export_id = old.id
    assert client.get(f"/t/intertec/exports/{export_id}/zip").status_code == 200
    assert status_of(client, "FE-1") == "Downloaded" and status_of(client, "FE-2") == "Pending"


def test_the_console_counts_an_invoice_downloaded_when_all_its_files_are(portal_app, tenants):
    from tests.auth.conftest import sign_in
    from tests.factories import PASSWORD, make_user

    client = recipient_with(portal_app, ("FE-1", True), ("FE-2", False))
    ids = ids_by_number(portal_app)
    client.get(f"/t/intertec/invoices/{ids['FE-1']}/xml")  # its PDF is still pending
    client.get(f"/t/intertec/invoices/{ids['FE-2']}/xml")  # its only file
    with portal_app.app_context():
        login = make_user(tenants["intertec"].load(), role="admin").username
    console = portal_app.test_client()
    assert sign_in(console, "intertec", login, PASSWORD).status_code == 302
    page = html.doc(console.get("/t/intertec/console/?lang=en"))
    [status] = page.xpath("//article[header/h2='Downloaded and pending']//svg/title")
    assert html.text(status) == "1 downloaded, 1 pending"
    rows = html.doc(console.get("/t/intertec/console/invoices?lang=en"))
    shown = {
        html.text(r, "td[1]"): html.text(r, "td[@data-label='Status']")
        for r in rows.xpath("//tbody/tr[td]")
    }
    assert shown == {"FE-1": "Pending", "FE-2": "Downloaded"}


def test_the_migration_tells_each_earlier_download_apart(tmp_path):
    """0012 fills each file's time from the download events (a zip held both files)."""
    from flask_migrate import upgrade

    url, drop = fresh_database_url(tmp_path)
    app = create_app(base_config(tmp_path, DATABASE_URL=url))
    try:
        with app.app_context(), all_tenants():
            upgrade(revision="0011")
            t1, t2 = datetime(2026, 1, 2, 10), datetime(2026, 1, 3, 10)
            with db.engine.begin() as conn:
                for sql in _OLD_ROWS:
                    conn.execute(sa.text(sql), {"t1": t1, "t2": t2})
            upgrade()
            with db.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT number, xml_downloaded_at, pdf_downloaded_at FROM invoice"
                        " ORDER BY number"
                    )
                ).all()
            db.engine.dispose()
    finally:
        drop()
    as_dt = [
        (
            n,
            x if x is None or isinstance(x, datetime) else datetime.fromisoformat(x),
            p if p is None or isinstance(p, datetime) else datetime.fromisoformat(p),
        )
        for n, x, p in rows
    ]
    assert as_dt == [
        ("A-1", t1, None),  # its XML only: the PDF is pending again
        ("A-2", t2, t1),  # PDF first, XML the next day
        ("A-3", t1, t1),  # the zip: both
        ("A-4", None, None),  # never downloaded
        ("A-5", t1, None),  # no PDF to download
    ]


_INVOICE = (
    "INSERT INTO invoice (id, tenant_id, issuer_company_id, customer_company_id, number, kind,"
    " issue_date, currency, total, tax_total, amount_decimals, national_id, format, xml_key,"
    " xml_sha256, xml_size, xml_crc32, pdf_key, first_downloaded_at, created_at) VALUES"
    " ({id}, 1, 1, 2, 'A-{id}', 'invoice', '2026-01-01', 'COP', 1, 0, 2, 'N{id}', 'ubl21-co',"
    " 'x{id}', 'h', 1, 1, {pdf}, {first}, :t1)"
)
_OLD_ROWS = [
    "INSERT INTO tenant (id, slug, name, country, currency, timezone, locales, login_methods,"
    " password_reset, onboarding, password_max_age_days, magic_link_minutes, plan,"
    " primary_color, support_phones, console_settings, created_at, updated_at) VALUES"
    " (1, 'old', 'Old', 'CO', 'COP', 'America/Bogota', '[\"es\"]', '[\"password\"]', 'email',"
    " 'two_emails', 0, 30, 'basic', '#123456', '[]', '[]', :t1, :t1)",
    "INSERT INTO company (id, tenant_id, tax_id, name, kind, created_at) VALUES"
    " (1, 1, '1', 'I', 'issuer', :t1), (2, 1, '2', 'C', 'customer', :t1)",
    _INVOICE.format(id=1, pdf="'p1'", first=":t1"),
    _INVOICE.format(id=2, pdf="'p2'", first=":t1"),
    _INVOICE.format(id=3, pdf="'p3'", first=":t1"),
    _INVOICE.format(id=4, pdf="'p4'", first="NULL"),
    _INVOICE.format(id=5, pdf="NULL", first=":t1"),
    "INSERT INTO download_event (tenant_id, invoice_id, what, created_at) VALUES"
    " (1, 1, 'xml', :t1), (1, 1, 'xml', :t2), (1, 2, 'pdf', :t1), (1, 2, 'xml', :t2),"
    " (1, 3, 'zip', :t1), (1, 5, 'xml', :t1)",
]

"""The reader's new cases through the console and the API: a FatturaPA semplificata and an
invoice with a broken namespace declaration are published; a zip given as the one
invoice is opened as a bulk upload (console) or refused pointing at the batch (API)."""

from __future__ import annotations

import io

from sqlalchemy import select

from saas.console.models import UploadBatch
from saas.extensions import db
from saas.portal.models import Invoice
from saas.tenancy import all_tenants
from tests import html
from tests.api.test_api import API, bearer, key_for, staff
from tests.auth.conftest import csrf_from
from tests.console.test_console import staff_client, zip_of
from tests.einvoice.conftest import FIXTURES
from tests.invoices import ubl_invoice


def upload_one(client, slug: str, data: bytes, name: str, lang: str = "en"):
    page = client.get(f"/t/{slug}/console/upload?lang={lang}")
    return client.post(
        f"/t/{slug}/console/upload?lang={lang}",
        data={"csrf_token": csrf_from(page.text), "xml": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def stored(app, number: str) -> Invoice:
    with app.app_context(), all_tenants():
        return db.session.scalars(select(Invoice).where(Invoice.number == number)).one()


def test_a_semplificata_and_a_repaired_declaration_are_published(app, tenants):
    client = staff_client(app, tenants, "biller", slug="adriatica")
    for name, number in [("semplificata.xml", "S-12"), ("fatturapa-xmlns-quote.xml", "7")]:
        answer = upload_one(client, "adriatica", (FIXTURES / name).read_bytes(), name)
        assert answer.status_code == 302, html.problems(answer)
        page = html.doc(client.get(answer.headers["Location"]))
        assert html.alerts(page) == [f"Published: {number}."]
    invoice = stored(app, "S-12")
    assert (invoice.format, invoice.total, invoice.amount_decimals) == (
        "fatturapa-sm10",
        232,
        2,
    )
    # The file is kept as it came: the repair is only how it is read.
    with app.app_context():
        from saas.storage import get_storage

        kept = get_storage().read(stored(app, "7").xml_key)
    assert b"xmldsig#&quot;" in kept


def test_a_zip_in_the_one_invoice_form_becomes_a_bulk_upload(app, tenants):
    client = staff_client(app, tenants, "biller")
    archive = zip_of({"fe-1.xml": ubl_invoice("FE-1"), "fe-2.xml": ubl_invoice("FE-2")})
    answer = upload_one(client, "intertec", archive, "facturas.zip")
    assert answer.status_code == 303
    assert "/t/intertec/console/uploads/" in answer.headers["Location"]
    page = html.doc(client.get(answer.headers["Location"]))
    assert html.alerts(page)[0] == (
        "The zip is being published as a bulk upload: every invoice in it, each with the PDF "
        "of the same name."
    )
    with app.app_context(), all_tenants():
        batch = db.session.scalars(select(UploadBatch)).one()
        assert (batch.status, batch.count("imported")) == ("done", 2)  # in-process jobs


def test_a_zip_named_as_xml_is_recognised_by_its_content(app, tenants):
    client = staff_client(app, tenants, "biller")
    answer = upload_one(client, "intertec", zip_of({"fe-3.xml": ubl_invoice("FE-3")}), "x.xml")
    assert answer.status_code == 303
    stored(app, "FE-3")


def test_the_api_refuses_a_zip_as_one_invoice_and_names_the_batch(app, tenants):
    key = key_for(app, staff(app, tenants)[0])
    answer = app.test_client().post(
        f"{API}/invoices",
        headers=bearer(key),
        data={"xml": (io.BytesIO(zip_of({"a.xml": ubl_invoice("FE-4")})), "a.zip")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid_invoice" and "/invoices/batch" in body["message"]

"""The S3 endpoint goes away during uploads: a clear 503 in the user's language (JSON for
the API), no invoice row without its files and no file without its row; once it is back,
the same upload succeeds."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.portal.models import Invoice
from saas.tenancy import all_tenants
from tests import html
from tests.api.test_api import key_for, staff, upload
from tests.conftest import free_port, wait_until
from tests.console.test_console import staff_client
from tests.console.test_issue16_strings import upload_one
from tests.invoices import fake_pdf, ubl_invoice


class MotoS3:
    """moto's S3 server on a fixed loopback port, to stop and start like a real one."""

    def __init__(self):
        self.port = free_port()
        self.server = None

    def start(self):
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def s3():
    pytest.importorskip("moto.server")
    server = MotoS3()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(make_app, s3):
    bucket = f"invoices-{uuid.uuid4().hex[:8]}"
    url = f"s3://k:s@127.0.0.1:{s3.port}/{bucket}?secure=false&region=us-east-1"
    return make_app(STORAGE_URL=url)


def invoices(app) -> int:
    with app.app_context(), all_tenants():
        return db.session.scalar(select(func.count(Invoice.id)))


def stored_keys(app) -> list[str]:
    from saas.storage import get_storage

    with app.app_context():
        storage = get_storage()
        objects = storage.client.list_objects(storage.bucket, recursive=True)
        return [o.object_name for o in objects if "/invoices/" in o.object_name]


def test_an_api_upload_while_storage_is_down_is_a_503_and_leaves_nothing(app, tenants, s3):
    key = key_for(app, staff(app, tenants)[0])
    client = app.test_client()
    s3.stop()
    answer = upload(client, key, ubl_invoice("FE-1"), fake_pdf("FE-1"))
    assert answer.status_code == 503
    assert answer.get_json()["error"] == "storage_unavailable"
    assert "Nothing was saved" in answer.get_json()["message"]
    assert answer.headers["Retry-After"] == "30"
    assert invoices(app) == 0
    s3.start()
    assert stored_keys(app) == []  # no file of the refused upload
    again = upload(client, key, ubl_invoice("FE-1"), fake_pdf("FE-1"))
    assert again.status_code == 201
    assert invoices(app) == 1
    assert len(stored_keys(app)) == 2  # the XML and the PDF of that one invoice


def test_a_console_upload_while_storage_is_down_says_so_in_the_users_language(app, tenants, s3):
    client = staff_client(app, tenants, "biller")
    page = client.get("/t/intertec/console/upload?lang=es")
    assert page.status_code == 200
    s3.stop()
    answer = upload_one(client, ubl_invoice("FE-2"), "es")
    assert answer.status_code == 503
    page = html.doc(answer)
    assert html.text(page, "//article[@class='error-page']//h1") == "Archivos no disponibles"
    assert "No se guardó nada" in html.text(page, "//article[@class='error-page']/p[1]")
    assert invoices(app) == 0
    s3.start()
    wait_until(lambda: upload_one(client, ubl_invoice("FE-2"), "es").status_code == 302)
    assert invoices(app) == 1


def test_reading_an_invoice_while_storage_is_down(app, tenants, s3):
    """Its page falls back to what the portal recorded; its printable copy, which needs
    the XML, is a 503 (not a 404: it can be made once storage is back), and nothing of
    it is recorded."""
    from tests.portal.conftest import publish_for
    from tests.portal.test_invoice_reading import reader

    [invoice_id] = publish_for(app, "intertec", ubl_invoice("FE-5"))  # no PDF
    client = reader(app, "intertec", "compras@andina.example")
    s3.stop()
    page = client.get(f"/t/intertec/invoices/{invoice_id}?lang=en")
    assert page.status_code == 200
    assert html.text(html.doc(page), "//dd[@class='invoice-total']").startswith("COP")
    copy = client.get(f"/t/intertec/invoices/{invoice_id}/pdf?lang=en")
    assert copy.status_code == 503
    with app.app_context(), all_tenants():
        assert db.session.get(Invoice, invoice_id).pdf_key is None

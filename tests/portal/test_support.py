"""Support requests: a recipient opens one about an invoice (with an attachment), Support
answers (the requester is emailed in their language, with the support phones), the
requester reads and writes again, Support closes it. Who else could reach a request: a
lower role, staff limited to another issuer, another customer's recipient, another
tenant: each gets a 404 (403 for a role without the queue)."""

from __future__ import annotations

import io

import pytest
from flask import g
from sqlalchemy import select

from saas.audit import AuditEvent
from saas.companies import Company
from saas.extensions import db
from saas.support.models import SupportRequest
from saas.tenancy import all_tenants
from tests import html
from tests.auth.conftest import csrf_from, sign_in
from tests.console.test_console import staff_client
from tests.einvoice.conftest import SAMPLES
from tests.factories import PASSWORD, make_user
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import mails, publish_for
from tests.portal.test_invoice_reading import reader

EMAIL = "compras@andina.example"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def post(client, path, data, files=None):
    page = client.get(path)
    form = {"csrf_token": csrf_from(page.text), **data}
    for name, (content, filename) in (files or {}).items():
        form[name] = (io.BytesIO(content), filename)
    return client.post(path, data=form, content_type="multipart/form-data")


@pytest.fixture
def opened(app, tenants):
    """Andina's recipient, signed in, with a request about FE-1 (a PNG attached)."""
    [invoice_id] = publish_for(app, "intertec", ubl_invoice("FE-1"), fake_pdf("FE-1"))
    client = reader(app, "intertec", EMAIL)
    answer = post(
        client,
        f"/t/intertec/support/new?invoice={invoice_id}&lang=es",
        {"subject": "Valor errado", "body": "El total no coincide.", "invoice": str(invoice_id)},
        {"attachment": (PNG, "captura.png")},
    )
    assert answer.status_code == 303, html.problems(answer)
    with app.app_context(), all_tenants():
        request_id = db.session.scalars(select(SupportRequest.id)).one()
    return client, request_id, invoice_id


def test_a_request_goes_from_the_recipient_to_support_and_back(app, tenants, opened):
    client, request_id, _invoice = opened
    thread = html.doc(client.get(f"/t/intertec/support/{request_id}?lang=es"))
    assert html.text(thread, "//h1") == "Valor errado"
    assert "Sobre Factura FE-1" in html.text(thread, "//article/header/p")
    [attached] = thread.xpath("//ol[@class='messages']//a")
    assert client.get(attached.get("href")).data == PNG

    support = staff_client(app, tenants, "support")
    queue = html.doc(support.get("/t/intertec/console/support?lang=es"))
    assert html.texts(queue, "//table[contains(@class,'support-queue')]/tbody/tr/td[1]") == [
        "Valor errado"
    ]
    sent = post(
        support,
        f"/t/intertec/console/support/{request_id}?lang=es",
        {"body": "Corregimos el valor: le enviamos una nota crédito."},
    )
    assert sent.status_code == 303
    [email] = [m for m in mails(app, EMAIL) if m["template"] == "support_answered"]
    assert email["subject"] == "Respuesta a su solicitud: Valor errado"
    assert f"/t/intertec/support/{request_id}" in email["text"]
    assert "300 3292" in email["text"]  # the tenant's support phones

    thread = html.doc(client.get(f"/t/intertec/support/{request_id}?lang=es"))
    bodies = html.texts(thread, "//div[@class='message-body']")
    assert bodies == ["El total no coincide.", "Corregimos el valor: le enviamos una nota crédito."]
    assert html.text(thread, "//span[contains(@class,'status')]") == "Respondida"
    assert (
        post(client, f"/t/intertec/support/{request_id}", {"body": "Gracias."}).status_code == 303
    )
    assert post(support, f"/t/intertec/console/support/{request_id}/close", {}).status_code == 303
    closed = post(client, f"/t/intertec/support/{request_id}?lang=en", {"body": "Otra cosa"})
    assert closed.status_code == 422
    assert html.problems(closed) == ["This request is closed: open a new one."]
    with app.app_context(), all_tenants():
        events = db.session.scalars(
            select(AuditEvent.event)
            .where(AuditEvent.event.like("support.%"))
            .order_by(AuditEvent.id)
        ).all()
    assert events == ["support.opened", "support.answered", "support.replied", "support.closed"]


def test_the_form_says_what_is_wrong_in_the_users_language(app, tenants):
    publish_for(app, "intertec", ubl_invoice("FE-1"))
    client = reader(app, "intertec", EMAIL)
    empty = post(client, "/t/intertec/support/new?lang=es", {"subject": " ", "body": "x"})
    assert empty.status_code == 422
    assert html.problems(empty) == ["Corrija los campos marcados abajo.", "Complete este campo."]
    bad_file = post(
        client,
        "/t/intertec/support/new?lang=it",
        {"subject": "Fattura", "body": "Ciao"},
        {"attachment": (b"MZ\x90\x00 not an image", "foto.png")},
    )
    assert bad_file.status_code == 422
    assert "L'allegato deve essere un file PDF, PNG o JPEG." in html.problems(bad_file)
    with app.app_context(), all_tenants():
        assert db.session.scalars(select(SupportRequest)).all() == []


def test_who_else_reaches_a_request(app, tenants, opened):
    _client, request_id, invoice_id = opened
    thread = f"/t/intertec/support/{request_id}"
    console = f"/t/intertec/console/support/{request_id}"
    # Staff of a role without the queue: refused; staff limited to another issuer: 404.
    biller = staff_client(app, tenants, "biller")
    assert biller.get("/t/intertec/console/support").status_code == 403
    assert biller.get(console).status_code == 403
    publish_for(app, "intertec", ubl_invoice("SN-1", issuer="sucursal", email=None))
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        sucursal = db.session.scalars(select(Company).where(Company.tax_id == "800197268-4"))
        other_issuer = list(sucursal)
    assert other_issuer  # Support staff who see only the other issuer's invoices
    limited = staff_client(app, tenants, "support", companies=other_issuer)
    assert limited.get(console).status_code == 404
    assert limited.get(f"{console}/files/1").status_code == 404
    assert html.doc(limited.get("/t/intertec/console/support")).xpath("//tbody/tr") == []
    assert post(limited, "/t/intertec/console/support", {}).status_code == 405
    admin = staff_client(app, tenants, "admin")
    assert admin.get(console).status_code == 200
    # Another customer's recipient of the same tenant, and another tenant's recipient.
    publish_for(app, "intertec", ubl_invoice("FE-2", customer="cafetera", email="c@cafe.example"))
    colleague = reader(app, "intertec", "c@cafe.example")
    assert colleague.get(thread).status_code == 404
    assert colleague.get(f"{thread}/files/1").status_code == 404
    stolen = post(
        colleague,
        "/t/intertec/support/new?lang=en",
        {"subject": "x", "body": "y", "invoice": str(invoice_id)},
    )
    assert stolen.status_code == 422
    assert "This invoice is not one of yours." in html.problems(stolen)
    # A recipient has no console queue, and staff have no portal requests page.
    assert colleague.get("/t/intertec/console/support").status_code in (302, 403, 404)
    assert admin.get(thread).status_code == 404
    # Another tenant: its recipient and its Support staff see nothing of it.
    sample = (SAMPLES / "mx" / "ingreso_iva16_stamped.xml").read_bytes()
    publish_for(app, "azteca", sample, email="m@mx.example")
    outsider = reader(app, "azteca", "m@mx.example")
    assert outsider.get(f"/t/azteca/support/{request_id}").status_code == 404
    with app.app_context():
        make_user(tenants["azteca"].load(), role="support", username="sup-mx")
    other_support = app.test_client()
    assert sign_in(other_support, "azteca", "sup-mx", PASSWORD).status_code == 302
    assert other_support.get(f"/t/azteca/console/support/{request_id}").status_code == 404
    assert html.doc(other_support.get("/t/azteca/console/support")).xpath("//tbody/tr") == []

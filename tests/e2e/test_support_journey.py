"""In real Chromium, in Spanish: a recipient asks about an invoice from its page, Support
answers from the console's queue, and the recipient reads the answer in the thread. On
a phone and a desktop no page scrolls sideways or leaves English text."""

import pytest

from tests.conftest import LiveServer
from tests.e2e.layout import LayoutLog
from tests.factories import PASSWORD, make_user
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import publish_for
from tests.portal.test_invoice_reading import reader

pytestmark = pytest.mark.browser
EMAIL = "compras@andina.example"


def sign_in(page, base, login):
    page.goto(f"{base}/t/intertec/login?lang=es")
    page.get_by_label("Correo electrónico o usuario").fill(login)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()


def test_a_question_about_an_invoice_is_answered(app, tenants, browser):
    [invoice_id] = publish_for(app, "intertec", ubl_invoice("FE-7"), fake_pdf("FE-7"))
    reader(app, "intertec", EMAIL)
    with app.app_context():
        make_user(tenants["intertec"].load(), role="support", username="soporte")
    layout = LayoutLog()
    asking = browser.new_context(locale="es-CO")
    helping = browser.new_context(locale="es-CO")
    try:
        with LiveServer(app) as server:
            page = asking.new_page()
            sign_in(page, server.url, EMAIL)
            page.wait_for_url("**/t/intertec/invoices")
            page.goto(f"{server.url}/t/intertec/invoices/{invoice_id}")
            page.get_by_role("button", name="Preguntar por esta factura").click()
            assert "Sobre Factura FE-7" in page.locator(".about-invoice").inner_text()
            page.get_by_label("Asunto").fill("El valor no coincide")
            page.get_by_label("Mensaje").fill("La orden de compra decía otro total.")
            layout.check(page, "new request")
            page.get_by_role("button", name="Enviar la solicitud").click()
            page.wait_for_url("**/t/intertec/support/*")

            staff = helping.new_page()
            sign_in(staff, server.url, "soporte")
            staff.goto(f"{server.url}/t/intertec/console/support")
            layout.check(staff, "support queue")
            staff.get_by_role("link", name="El valor no coincide").click()
            staff.get_by_label("Su respuesta").fill("Revisamos y le enviamos una nota crédito.")
            staff.get_by_role("button", name="Enviar la respuesta").click()
            assert "Su respuesta se envió a compras@andina.example." in staff.inner_text("main")

            page.reload()
            bodies = page.locator(".message-body")
            assert bodies.count() == 2
            assert bodies.nth(1).inner_text() == "Revisamos y le enviamos una nota crédito."
            assert page.locator("article header .status").inner_text() == "Respondida"
            layout.check(page, "thread")
    finally:
        asking.close()
        helping.close()
    assert layout.problems == [], layout.report()

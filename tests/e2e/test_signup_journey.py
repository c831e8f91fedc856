"""In real Chromium, in Spanish: a new issuer finds the sign-up from the start page, fills
it in, verifies its email from the link, chooses a password, lands in the console of its
new portal and publishes its first invoice. On a phone and a desktop no page scrolls
sideways or leaves English text; the Italian form is checked for layout too."""

import re

import pytest

from saas.demo_invoices import ubl_invoice
from tests.conftest import LiveServer, wait_until
from tests.e2e.layout import LayoutLog
from tests.invoices import fake_pdf
from tests.portal.conftest import mails

pytestmark = pytest.mark.browser
EMAIL = "nora@ferreteria.test"
CHOSEN = "la cordillera azul del norte"


def test_a_new_issuer_signs_up_and_publishes_its_first_invoice(app, tenants, browser, tmp_path):
    xml = tmp_path / "FE-1.xml"
    # Issued by the company that signs up (NIT 830012345-9) to one of its customers.
    xml.write_bytes(ubl_invoice("FE-1", issuer=("830012345", "9", "Ferretería Núñez S.A.S.")))
    pdf = tmp_path / "FE-1.pdf"
    pdf.write_bytes(fake_pdf("FE-1"))
    layout = LayoutLog()
    context = browser.new_context(locale="es-CO")
    try:
        with LiveServer(app) as server:
            app.config["BASE_URL"] = server.url  # the emailed link points at this server
            page = context.new_page()
            page.goto(f"{server.url}/?lang=es")
            page.get_by_role("button", name="Cree su portal").click()
            page.get_by_role("heading", name="Cree su portal de facturas").wait_for()
            layout.check(page, "sign-up form")
            page.get_by_label("Nombre de la empresa").fill("Ferretería Núñez S.A.S.")
            page.get_by_label("País").select_option("CO")
            page.get_by_label("Identificador tributario de la empresa").fill("830012345-8")
            page.get_by_label("Su nombre completo").fill("Nora Núñez")
            page.get_by_label("Su correo de trabajo").fill(EMAIL)
            page.get_by_label("PyME").check()
            page.get_by_role("button", name="Envíenme el enlace").click()
            # A wrong check digit: the form comes back with what was typed and the reason.
            error = page.locator("#tax_id-error")
            assert error.inner_text().startswith("Este no es un NIT válido")
            assert page.get_by_label("Nombre de la empresa").input_value() == (
                "Ferretería Núñez S.A.S."
            )
            layout.check(page, "sign-up form with an error")
            page.get_by_label("Identificador tributario de la empresa").fill("830.012.345-9")
            page.get_by_role("button", name="Envíenme el enlace").click()
            page.get_by_role("heading", name="Revise su correo").wait_for()
            layout.check(page, "check your email")

            sent = wait_until(
                lambda: [m for m in mails(app, EMAIL) if m["template"] == "signup_verify"]
            )
            assert sent[0]["subject"] == (
                "Confirme su dirección para crear el portal de Ferretería Núñez S.A.S."
            )
            link = re.search(r"https?://\S+/signup/\S+", sent[0]["text"]).group(0)
            page.goto(link)
            page.get_by_role("heading", name="Su dirección está confirmada").wait_for()
            layout.check(page, "confirm")
            page.get_by_label("Nueva contraseña").fill(CHOSEN)
            page.get_by_label("Confirmar contraseña").fill(CHOSEN)
            page.get_by_role("button", name="Crear mi portal").click()
            page.wait_for_url("**/t/ferreteria-nunez/console/")
            assert "Ferretería Núñez S.A.S." in page.locator("header.brand-bar").inner_text()
            layout.check(page, "new console")

            page.goto(f"{server.url}/t/ferreteria-nunez/console/upload")
            page.locator("#xml").set_input_files(str(xml))
            page.locator("#pdf").set_input_files(str(pdf))
            page.get_by_role("button", name="Publicar").click()
            page.get_by_text("Publicada: FE-1.").wait_for()
            page.goto(f"{server.url}/t/ferreteria-nunez/console/invoices")
            assert page.locator("tbody tr").count() == 1
            assert "FE-1" in page.locator("tbody tr").first.inner_text()
            layout.check(page, "first invoice")

            # The link worked once.
            page.goto(link)
            assert page.get_by_role("heading", name="Este enlace ya no funciona").is_visible()

            italian = context.new_page()
            italian.goto(f"{server.url}/signup?lang=it")
            italian.get_by_role("heading", name="Crea il tuo portale di fatture").wait_for()
            layout.check(italian, "Italian sign-up form", spanish=False)
    finally:
        context.close()
    assert layout.problems == [], layout.report()

"""From the activation email to downloaded files, in real Chromium."""

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import LiveServer, wait_until
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import credentials, publish_for, send_digests

pytestmark = pytest.mark.browser
EMAIL = "compras@andina.example"


def text_of(message):
    return message.get_body(("plain",)).get_content()


def test_recipient_journey(make_app, smtp, tenants, page):
    app = make_app(MAIL_URL=smtp.url)
    with LiveServer(app) as server:
        app.config["BASE_URL"] = server.url
        for n, day in ((1, 5), (2, 15), (3, 25)):
            publish_for(
                app,
                "intertec",
                ubl_invoice(f"FE-{n}", issue_date=date(2026, 3, day)),
                fake_pdf(f"FE-{n}", 50_000),
            )
        # The onboarding pair names FE-1; FE-2 and FE-3 wait for one digest (below).
        messages = wait_until(lambda: len(smtp.messages) >= 2 and smtp.messages)
        by_subject = {m["Subject"]: text_of(m) for m in messages}
        activation = next(t for s, t in by_subject.items() if s.startswith("Active su acceso"))
        username, password = credentials(
            next(t for s, t in by_subject.items() if s.startswith("Su contraseña"))
        )

        # The activation link leads to sign-in with the username filled in.
        page.goto(re.search(r"https?://\S+/access/\S+", activation).group(0))
        page.get_by_role("button", name="Continuar").click()
        login = page.get_by_label("Correo electrónico o usuario")
        assert login.input_value() == username
        page.get_by_label("Contraseña").fill(password)
        page.get_by_role("button", name="Iniciar sesión").click()

        # First sign-in: choose a password.
        page.wait_for_url("**/account/password")
        page.get_by_label("Nueva contraseña").fill("montañas del eje cafetero")
        page.get_by_label("Confirmar contraseña").fill("montañas del eje cafetero")
        page.get_by_role("button", name="Actualizar").click()
        page.wait_for_url("**/t/intertec/invoices")
        rows = page.locator("#invoice-rows tr")
        assert rows.count() == 3

        # Filter by dates: htmx updates the list in place (the page is not loaded again:
        # the marker set on it survives) and the URL keeps the filter.
        page.evaluate("() => { window.stillThisPage = true; }")
        page.get_by_label("Desde").fill("2026-03-10")
        page.get_by_label("Hasta").fill("2026-03-20")
        page.get_by_role("button", name="Filtrar").click()
        page.wait_for_url(re.compile(r".*from=2026-03-10.*to=2026-03-20"))
        expect(page.locator("#invoice-rows tr")).to_have_count(1)
        assert "FE-2" in page.locator("#invoice-rows").inner_text()
        assert page.evaluate("() => window.stillThisPage === true")

        # Dates the wrong way round: the server's answer (422) shows in place.
        page.get_by_label("Desde").fill("2026-03-30")
        page.get_by_role("button", name="Filtrar").click()
        expect(page.locator("#invoice-list [role=alert]")).to_contain_text("Revise las fechas")
        assert page.evaluate("() => window.stillThisPage === true")
        page.get_by_label("Desde").fill("2026-03-10")
        page.get_by_role("button", name="Filtrar").click()
        expect(page.locator("#invoice-rows tr")).to_have_count(1)

        # The PDF is the uploaded file, byte for byte.
        with page.expect_download() as download:
            page.get_by_role("button", name="PDF de FE-2").click()
        assert download.value.suggested_filename == "2026-03-15_FE-2.pdf"
        assert Path(download.value.path()).read_bytes() == fake_pdf("FE-2", 50_000)

        # Pending downloads: a zip of the files still pending (FE-2's XML, FE-1 and FE-3).
        page.goto(f"{server.url}/t/intertec/invoices")
        page.get_by_role("button", name=re.compile("Descargas pendientes")).click()
        page.get_by_role("button", name="Descargar zip").wait_for()
        assert page.locator("progress").get_attribute("value") == "100"
        with page.expect_download() as download:
            page.get_by_role("button", name="Descargar zip").click()
        archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert sorted(archive.namelist()) == [
            "2026-03-05_FE-1.pdf",
            "2026-03-05_FE-1.xml",
            "2026-03-15_FE-2.xml",
            "2026-03-25_FE-3.pdf",
            "2026-03-25_FE-3.xml",
        ]
        page.goto(f"{server.url}/t/intertec/invoices")
        assert page.locator(".status-pending").count() == 0

        # The window's end: one email for FE-2 and FE-3, each with its link.
        def digests():
            return [
                m
                for m in smtp.messages
                if re.match(r"Nueva factura |\d+ facturas nuevas ", m["Subject"])
            ]

        assert digests() == []
        send_digests(app)
        [digest] = wait_until(digests)
        assert digest["Subject"] == "2 facturas nuevas de Intertec"
        body = text_of(digest)
        assert "Número: FE-2 " in body and "Número: FE-3 " in body and "FE-1" not in body
        page.goto(re.search(r"https?://\S+/invoices/\d+", body).group(0))
        expect(page.get_by_role("heading", level=1)).to_contain_text("FE-2")

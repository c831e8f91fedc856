"""A recipient of an XML-only FatturaPA, in real Chromium and in Italian: the invoice
page shows its lines, the list offers the printable copy, and the PDF downloaded holds
the invoice's number and total. On a phone and a desktop the page neither scrolls
sideways nor hides its columns."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import LiveServer
from tests.e2e.layout import LayoutLog
from tests.factories import PASSWORD
from tests.portal.conftest import publish_for
from tests.portal.test_invoice_reading import LINES, PEC, invoice_id, reader

pytestmark = pytest.mark.browser


def test_xml_only_fatturapa_is_read_and_printed(app, tenants, browser):
    publish_for(app, "adriatica", LINES)
    reader(app, "adriatica", PEC)  # gives the recipient the password PASSWORD

    context = browser.new_context(locale="it-IT", accept_downloads=True)
    page = context.new_page()
    layout = LayoutLog()
    try:
        with LiveServer(app) as server:
            page.goto(f"{server.url}/t/adriatica/login?lang=it")
            page.get_by_label("Email o nome utente").fill(PEC)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Accedi").click()
            page.wait_for_url("**/t/adriatica/invoices")
            copy = page.locator(f"a.generated-pdf[href$='/{invoice_id(app, 'FT-2024/118')}/pdf']")
            assert copy.inner_text() == "Copia PDF"

            page.goto(f"{server.url}/t/adriatica/invoices/{invoice_id(app, 'FT-2024/118')}")
            lines = page.locator("table.invoice-lines tbody tr")
            assert lines.count() == 3
            assert (
                lines.nth(0).locator("td").first.inner_text() == "Manutenzione impianto elettrico"
            )
            assert "198,00" in page.locator("table.tax-summary").inner_text()
            layout.check(page, "invoice page", spanish=False)

            with page.expect_download() as caught:
                page.get_by_role("button", name="Scarica copia PDF").click()
            data = Path(caught.value.path()).read_bytes()
    finally:
        context.close()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "FT-2024/118" in text and "1.448,00" in text
    assert layout.problems == [], layout.report()

"""The invoice page reads the stored XML (parties, lines, taxes by rate, payment, notes,
references, attachments, the authority's link and QR) for the three countries, and an
invoice sent without a PDF gets a printable copy, made once, kept, listed as such and
zipped with the pending downloads."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from saas.auth.models import User
from saas.extensions import db
from saas.portal.models import Invoice
from saas.storage import get_storage
from saas.tenancy import all_tenants
from tests import html
from tests.auth.conftest import sign_in
from tests.einvoice.conftest import FIXTURES, SAMPLES
from tests.factories import PASSWORD, hashed
from tests.portal.conftest import publish_for

LINES = (FIXTURES / "fatturapa-lines-allegati.xml").read_bytes()
PEC = "amministrazione@pec.rossi.example"


def reader(app, slug: str, email: str):
    """The recipient publishing created for `email`, signed in with PASSWORD."""
    with app.app_context(), all_tenants():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        user.password_hash, user.must_change_password = hashed(PASSWORD), False
        login = user.username
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, slug, login, PASSWORD).status_code == 302
    return client


def invoice_id(app, number: str) -> int:
    with app.app_context(), all_tenants():
        return db.session.scalars(select(Invoice.id).where(Invoice.number == number)).one()


def cells(page, table_class: str) -> list[list[str]]:
    rows = page.xpath(f"//table[contains(@class, '{table_class}')]/tbody/tr")
    return [[" ".join(td.text_content().split()) for td in row.xpath("td")] for row in rows]


def pdf_text(data: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages
    )


def test_a_fatturapa_page_reads_its_lines_taxes_payment_and_attachment(app, tenants):
    publish_for(app, "adriatica", LINES)
    client = reader(app, "adriatica", PEC)
    page = html.doc(client.get(f"/t/adriatica/invoices/{invoice_id(app, 'FT-2024/118')}?lang=it"))
    assert html.text(page, "//h1") == "Fattura FT-2024/118"
    parties = [" | ".join(p.itertext()) for p in page.xpath("//div[@class='party']/p")]
    assert parties[0].startswith("Officina Esempio S.r.l. | P. IVA / C.F. 02112340159")
    assert "Via Garibaldi, 12" in parties[0] and "20121 Milano (MI)" in parties[0]
    assert "Rossi Costruzioni S.p.A." in parties[1] and "10121 Torino (TO)" in parties[1]
    lines = cells(page, "invoice-lines")
    assert [row[0] for row in lines] == [
        "Manutenzione impianto elettrico",
        "Materiale edile",
        "Bollo",
    ]
    assert lines[0][1:] == ["10 ore", "100,00 €", "100,00 €", "22%", "900,00 €"]
    assert lines[2][4].startswith("N2.2 · ")
    taxes = cells(page, "tax-summary")
    assert [row[2] for row in taxes] == ["198,00 €", "30,00 €", "0,00 €"]
    facts = dict(
        zip(
            html.texts(page, "//dl[@class='meta']/dt"),
            html.texts(page, "//dl[@class='meta']/dd"),
            strict=True,
        )
    )
    assert facts["Scadenza"] == "30 giugno 2024"
    assert "bonifico" in facts["Pagamento"] and "IT60X0542811101000000123456" in facts["Pagamento"]
    assert html.texts(page, "//section[@class='notes']/p") == ["Lavori di manutenzione maggio 2024"]
    [link] = page.xpath("//section[@class='attachments']//a")
    attachment = client.get(link.get("href"))
    assert attachment.status_code == 200 and attachment.data.startswith(b"%PDF-1.4")
    assert attachment.headers["Content-Disposition"].startswith("attachment")


def test_a_credit_note_links_the_invoice_it_corrects(app, tenants):
    publish_for(app, "adriatica", LINES)
    client = reader(app, "adriatica", PEC)
    page = html.doc(client.get(f"/t/adriatica/invoices/{invoice_id(app, 'NC-2024/9')}?lang=it"))
    assert html.text(page, "//h1") == "Nota di credito NC-2024/9"
    [link] = page.xpath("//section[@class='references']//a")
    assert link.get("href").endswith(f"/invoices/{invoice_id(app, 'FT-2024/118')}")


def test_the_printable_copy_is_made_once_kept_and_marked(app, tenants):
    publish_for(app, "adriatica", LINES)
    client = reader(app, "adriatica", PEC)
    first = invoice_id(app, "FT-2024/118")
    listing = html.doc(client.get("/t/adriatica/invoices?lang=it"))
    marked = listing.xpath(
        f"//a[contains(@class, 'generated-pdf') and contains(@href, '/{first}/pdf')]"
    )
    assert [html.text(a) for a in marked] == ["Copia PDF"]
    answer = client.get(f"/t/adriatica/invoices/{first}/pdf?lang=it")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = pdf_text(answer.data)
    assert (
        "FT-2024/118" in text and "1.448,00" in text and "Manutenzione impianto elettrico" in text
    )
    # The band: the tenant's logo (its SVG's own text, "FA", is drawn), then its name.
    assert text.startswith("FA Fatture Adriatica Fattura FT-2024/118 Copia di cortesia")
    with app.app_context(), all_tenants():
        invoice = db.session.get(Invoice, first)
        assert invoice.pdf_generated and invoice.pdf_key and invoice.pdf_downloaded_at is not None
        key = invoice.pdf_key
    again = client.get(f"/t/adriatica/invoices/{first}/pdf")
    assert again.data == answer.data  # kept, not drawn again
    # A reader in another of the tenant's languages gets a copy in theirs, kept beside it.
    english = client.get(f"/t/adriatica/invoices/{first}/pdf?lang=en")
    assert pdf_text(english.data).startswith("FA Fatture Adriatica Invoice FT-2024/118")
    assert client.get(f"/t/adriatica/invoices/{first}/pdf?lang=en").data == english.data
    assert client.get(f"/t/adriatica/invoices/{first}/pdf?lang=it").data == answer.data
    with app.app_context(), all_tenants():
        assert db.session.get(Invoice, first).pdf_key == key  # the zips' copy is the first
        assert get_storage().exists(key.rpartition("/")[0] + "/copy-en.pdf")


def test_the_pending_zip_holds_the_printable_copies(app, tenants):
    publish_for(app, "adriatica", LINES)
    client = reader(app, "adriatica", PEC)
    page = client.get("/t/adriatica/invoices")
    from tests.auth.conftest import csrf_from

    started = client.post(
        "/t/adriatica/invoices/pending", data={"csrf_token": csrf_from(page.text)}
    )
    export = started.headers["Location"]
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"{export}/zip").data))
    names = sorted(archive.namelist())
    assert names == [
        "2024-05-10_FT-2024-118.pdf",
        "2024-05-10_FT-2024-118.xml",
        "2024-05-20_NC-2024-9.pdf",
        "2024-05-20_NC-2024-9.xml",
    ]
    assert "NC-2024/9" in pdf_text(archive.read("2024-05-20_NC-2024-9.pdf"))


@pytest.mark.parametrize(
    "slug, sample, number, verify",
    [
        ("intertec", "co/ubl21-invoice.xml", "SETP990000008", "https://catalogo-vpfe.dian.gov.co/"),
        (
            "azteca",
            "mx/ingreso_iva16_stamped.xml",
            "A123456",
            "https://verificacfdi.facturaelectronica.sat.gob.mx/",
        ),
    ],
)
def test_colombian_and_mexican_pages_link_the_authority_and_show_its_qr(
    app, tenants, slug, sample, number, verify
):
    publish_for(app, slug, (SAMPLES / sample).read_bytes(), email="lector@example.com")
    client = reader(app, slug, "lector@example.com")
    page = html.doc(client.get(f"/t/{slug}/invoices/{invoice_id(app, number)}?lang=es"))
    [check] = page.xpath("//section[@class='national-id']//a")
    assert check.get("href").startswith(verify)
    assert page.xpath("//figure[@class='qr']/*[local-name()='svg']//*[local-name()='path']")
    assert cells(page, "invoice-lines")  # its lines are there
    assert cells(page, "tax-summary")


def test_another_customers_recipient_and_another_tenant_reach_none_of_it(app, tenants):
    publish_for(app, "adriatica", LINES)
    other = (FIXTURES / "fatturapa-two-bodies.xml").read_bytes()
    publish_for(app, "adriatica", other, email="mario@rossi.example")
    first = invoice_id(app, "FT-2024/118")
    paths = [f"/invoices/{first}", f"/invoices/{first}/pdf", f"/invoices/{first}/attachments/0"]
    colleague = reader(app, "adriatica", "mario@rossi.example")  # same tenant, other customer
    assert [colleague.get(f"/t/adriatica{p}").status_code for p in paths] == [404, 404, 404]
    ubl = (SAMPLES / "co" / "ubl21-invoice.xml").read_bytes()
    publish_for(app, "intertec", ubl, email="x@co.example")
    outsider = reader(app, "intertec", "x@co.example")
    assert [outsider.get(f"/t/intertec{p}").status_code for p in paths] == [404, 404, 404]
    with app.app_context(), all_tenants():  # nobody else's attempt drew its copy
        assert db.session.get(Invoice, first).pdf_key is None
    owner = reader(app, "adriatica", PEC)
    assert [owner.get(f"/t/adriatica{p}").status_code for p in paths] == [200, 200, 200]


def test_the_api_says_when_the_pdf_is_the_portals_copy(app, tenants):
    from tests.api.test_api import API, bearer, key_for, staff

    publish_for(app, "intertec", (SAMPLES / "co" / "ubl21-invoice.xml").read_bytes(), email=PEC)
    key = key_for(app, staff(app, tenants)[0])
    api = app.test_client()
    invoice = invoice_id(app, "SETP990000008")
    before = api.get(f"{API}/invoices/{invoice}", headers=bearer(key)).get_json()
    assert (before["has_pdf"], before["pdf_generated"]) == (False, False)
    assert (
        reader(app, "intertec", PEC).get(f"/t/intertec/invoices/{invoice}/pdf").status_code == 200
    )
    after = api.get(f"{API}/invoices/{invoice}", headers=bearer(key)).get_json()
    assert (after["has_pdf"], after["pdf_generated"]) == (True, True)
    pdf = api.get(f"{API}/invoices/{invoice}/pdf", headers=bearer(key))
    assert "SETP990000008" in pdf_text(pdf.data)

"""What real issuers send that the reader once refused wrongly or without saying why:
namespace declarations that are not URIs, dates with a time zone, the FatturaPA
semplificata, and the kinds it does not publish (CFDI 3.x, payment and payroll receipts,
a zip given as one invoice), each refused with a reason of its own."""

from __future__ import annotations

import datetime
import io
import zipfile
from decimal import Decimal

import pytest

from saas.console.upload_messages import describe
from saas.einvoice import EInvoiceError, read_invoices
from saas.einvoice.xml import repair_namespace_uris
from tests.einvoice.conftest import FIXTURES, read_one


@pytest.mark.parametrize("name", ["fatturapa-xmlns-quote.xml", "fatturapa-xmlns-space.xml"])
def test_an_unused_declaration_that_is_not_a_uri_does_not_stop_the_invoice(name):
    record = read_one((FIXTURES / name).read_bytes())
    assert (record.number, record.total, record.issuer_name) == (
        "7",
        Decimal("1000.00"),
        "Giuseppe Verdi",
    )


def test_a_used_declaration_that_is_not_a_uri_is_encoded_the_same_everywhere():
    data = b'<a xmlns:x="urn:a b"><x:b/><c xmlns:x="urn:a b"/></a>'
    assert repair_namespace_uris(data) == (
        b'<a xmlns:x="urn:a%20b"><x:b/><c xmlns:x="urn:a%20b"/></a>'
    )
    assert repair_namespace_uris(b'<a xmlns:x="urn:fine"><x:b/></a>') is None


def test_a_document_that_is_broken_otherwise_still_says_so():
    data = (FIXTURES / "fatturapa-xmlns-quote.xml").read_bytes().replace(b"</Numero>", b"")
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.code == "not_well_formed"


def test_a_date_with_a_time_zone_keeps_its_calendar_date():
    record = read_one((FIXTURES / "fatturapa-date-timezone.xml").read_bytes())
    assert record.issue_date == datetime.date(2014, 12, 18)
    assert record.national_id.endswith("-7-2014-12-18")


@pytest.mark.parametrize("written", ["2014-12-18Z", "2014-12-18-05:00"])
def test_other_time_zone_forms_are_read_and_nonsense_is_not(written):
    data = (FIXTURES / "fatturapa-date-timezone.xml").read_bytes()
    assert read_one(data.replace(b"2014-12-18+01:00", written.encode())).issue_date == (
        datetime.date(2014, 12, 18)
    )
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data.replace(b"2014-12-18+01:00", b"2014-12-18+25:00"))
    assert caught.value.params["why"] == "date"


def test_fatturapa_semplificata_is_read():
    record = read_one((FIXTURES / "semplificata.xml").read_bytes())
    assert record.format == "fatturapa-sm10" and record.country == "IT"
    assert record.kind == "invoice"
    assert (record.number, record.issue_date) == ("S-12", datetime.date(2024, 6, 3))
    # Importo includes VAT: 122.00 + 110.00; VAT 22.00 stated, 10.00 worked out at 10%.
    assert (record.total, record.tax_total) == (Decimal("232.00"), Decimal("32.00"))
    assert (record.issuer_tax_id, record.issuer_name) == ("07654320584", "Bar Centrale di Verdi")
    # A private customer known by the Codice Fiscale alone is named by it.
    assert record.customer_tax_id == record.customer_name == "RSSMRA80A01H501U"
    assert record.customer_email == "cliente@pec.example.it"
    assert record.national_id == "IT-IT07654320584-S0001-S-12-2024-06-03"


def test_a_semplificata_credit_note_and_a_named_customer():
    data = (FIXTURES / "semplificata.xml").read_bytes()
    data = data.replace(b"TD07", b"TD08").replace(
        b"</IdentificativiFiscali>",
        b"</IdentificativiFiscali><AltriDatiIdentificativi><Nome>Mario</Nome>"
        b"<Cognome>Rossi</Cognome></AltriDatiIdentificativi>",
    )
    record = read_one(data)
    assert (record.kind, record.customer_name) == ("credit_note", "Mario Rossi")


def test_a_semplificata_missing_a_field_names_it_and_its_format():
    data = (FIXTURES / "semplificata.xml").read_bytes().replace(b"<Numero>S-12</Numero>", b"")
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.format == "fatturapa-sm10"
    assert caught.value.field == "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/Numero"
    assert describe(caught.value.code, caught.value.format, caught.value.params) == (
        "FatturaPA semplificata 1.0: the field "
        "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/Numero is missing."
    )


@pytest.mark.parametrize(
    "name, version", [("cfdi33-egreso.xml", "3.3"), ("cfdi32-egreso.xml", "3.2")]
)
def test_an_old_cfdi_names_its_version(app, name, version):
    with pytest.raises(EInvoiceError) as caught:
        read_invoices((FIXTURES / name).read_bytes())
    error = caught.value
    assert (error.code, error.format) == ("old_version", "cfdi-" + version.replace(".", ""))
    with app.test_request_context("/?lang=es"):
        assert describe(error.code, error.format, error.params) == (
            f"CFDI {version}: esta versión ya no se emite y no se publica: solo se publica la "
            "versión 4.0."
        )


@pytest.mark.parametrize(
    "name, code, english",
    [
        (
            "cfdi40-pago.xml",
            "cfdi_payment",
            "CFDI 4.0: this is a payment receipt (CFDI of type P, «complemento de pagos»), "
            "not an invoice: payment receipts are not published yet.",
        ),
        (
            "cfdi40-nomina.xml",
            "cfdi_payroll",
            "CFDI 4.0: this is a payroll receipt (CFDI of type N, nómina): it is an "
            "employer's document and is not published here.",
        ),
    ],
)
def test_cfdi_payment_and_payroll_receipts_say_what_they_are(app, name, code, english):
    with pytest.raises(EInvoiceError) as caught:
        read_invoices((FIXTURES / name).read_bytes())
    assert caught.value.code == code
    with app.test_request_context("/?lang=en"):
        assert describe(caught.value.code, caught.value.format, caught.value.params) == english


def test_a_zip_given_as_one_invoice_says_to_upload_it_in_bulk(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.xml", (FIXTURES / "semplificata.xml").read_bytes())
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(buffer.getvalue(), "fatture.zip")
    assert caught.value.code == "zip"
    assert "/invoices/batch" in str(caught.value)  # the API's own answer
    with app.test_request_context("/?lang=it"):
        assert describe("zip") == (
            "Fattura elettronica non riconosciuta: il file è uno zip: caricalo nella pagina "
            "“Carica fatture”, che pubblica ogni fattura che contiene."
        )

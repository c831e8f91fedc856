"""The reading view of each format (saas.einvoice.document_reader): what the invoice page
and the printable copy show, read from the samples and from fixtures of our own."""

from __future__ import annotations

import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from saas.einvoice import read_invoices
from saas.einvoice.document_reader import read_document
from tests.einvoice.conftest import FIXTURES, SAMPLES


def documents(path):
    data = path.read_bytes()
    return [read_document(data, record.national_id) for record in read_invoices(data)]


def test_dian_invoice_lines_taxes_payment_and_cufe_link():
    [doc] = documents(SAMPLES / "co" / "ubl21-invoice.xml")
    assert (doc.kind, doc.number, doc.currency) == ("invoice", "SETP990000008", "COP")
    assert doc.issuer.name == "FACTURADOR DE EJEMPLO" and doc.issuer.tax_id == "901210113-3"
    assert doc.issuer.address[:2] == ["CR 9 A N0 99 - 07 OF 802", "Medellín, Antioquia"]
    first = doc.lines[0]
    assert (first.description, first.quantity, first.unit) == (
        "Base para TV",
        Decimal("1.000000"),
        "EA",
    )
    assert (first.unit_price, first.discount, first.tax_rate, first.total) == (
        Decimal("300000.00"),
        Decimal("50000.00"),
        Decimal("19.00"),
        Decimal("250000.00"),
    )
    assert (doc.taxes[0].name, doc.taxes[0].amount) == ("IVA", Decimal("342000.00"))
    assert doc.total == Decimal("2023060.00") and doc.due_date == datetime.date(2019, 4, 4)
    assert doc.payment_terms == ["cash", "days:60"]
    assert doc.verify_url == (
        "https://catalogo-vpfe.dian.gov.co/document/searchqr?documentkey=" + doc.national_id
    )


def test_fatturapa_bodies_lines_discount_payment_attachment_and_reference():
    invoice, credit = documents(FIXTURES / "fatturapa-lines-allegati.xml")
    assert (invoice.number, credit.number, credit.kind) == (
        "FT-2024/118",
        "NC-2024/9",
        "credit_note",
    )
    assert [ln.tax_rate for ln in invoice.lines] == [
        Decimal("22.00"),
        Decimal("10.00"),
        Decimal("0.00"),
    ]
    assert invoice.lines[0].discount == Decimal("100.0000")  # 10 h at 100.00 less 10 %
    assert invoice.lines[2].tax_note == "N2.2"
    assert [(t.rate, t.base, t.amount) for t in invoice.taxes] == [
        (Decimal("22.00"), Decimal("900.00"), Decimal("198.00")),
        (Decimal("10.00"), Decimal("300.00"), Decimal("30.00")),
        (Decimal("0.00"), Decimal("20.00"), Decimal("0.00")),
    ]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        Decimal("1220.00"),
        Decimal("228.00"),
        Decimal("1448.00"),
    )
    assert invoice.due_date == datetime.date(2024, 6, 30)
    assert invoice.payment_terms == ["TP02", "MP05", "IBAN IT60X0542811101000000123456"]
    assert invoice.notes == ["Lavori di manutenzione maggio 2024"]
    [attachment] = invoice.attachments
    assert (attachment.name, attachment.media_type) == ("rapportino-maggio.pdf", "application/pdf")
    assert attachment.data.startswith(b"%PDF-1.4")
    assert [(r.number, r.date) for r in credit.references] == [
        ("FT-2024/118", datetime.date(2024, 5, 10))
    ]
    assert credit.attachments == [] and [ln.description for ln in credit.lines] == [
        "Storno ore non eseguite"
    ]


def test_semplificata_lines_include_their_vat():
    [doc] = documents(FIXTURES / "semplificata.xml")
    assert [(ln.description, ln.total) for ln in doc.lines] == [
        ("Servizio catering", Decimal("122.00")),
        ("Pasticceria", Decimal("110.00")),
    ]
    assert [(t.base, t.amount) for t in doc.taxes] == [
        (Decimal("100.00"), Decimal("22.00")),
        (Decimal("100.00"), Decimal("10.00")),
    ]
    assert doc.total == Decimal("232.00") and doc.customer.name == "RSSMRA80A01H501U"


def test_cfdi_concepts_retentions_and_sat_verification_url():
    [doc] = documents(FIXTURES / "cfdi-conceptos-retencion.xml")
    assert [ln.description for ln in doc.lines] == [
        "Consultoría fiscal",
        "Licencia de software",
        "Curso de capacitación",
    ]
    consulting, _, course = doc.lines
    assert (consulting.discount, consulting.tax_rate, consulting.unit) == (
        Decimal("500.00"),
        Decimal("16.000000"),
        "Servicio",
    )
    assert consulting.withholdings == ["ISR 10%", "IVA 10.6667%"]
    assert course.tax_note == "Exento"
    withheld = [(t.name, t.amount) for t in doc.taxes if t.withheld]
    assert withheld == [("ISR", Decimal("950.00")), ("IVA", Decimal("1013.34"))]
    assert (doc.subtotal, doc.discount_total, doc.tax_total, doc.withheld_total, doc.total) == (
        Decimal("12500.00"),
        Decimal("500.00"),
        Decimal("1840.00"),
        Decimal("1963.34"),
        Decimal("11876.66"),
    )
    assert doc.payment_terms == ["method:PUE", "form:03", "Contado"]
    url = urlsplit(doc.verify_url)
    assert url.netloc == "verificacfdi.facturaelectronica.sat.gob.mx"
    assert parse_qs(url.query) == {
        "id": ["5E2D6AFF-2DD7-43D1-83D3-14C1ACA396D9"],
        "re": ["AAA010101AAA"],
        "rr": ["MUÑO800101AB2"],
        "tt": ["11876.66"],
        "fe": ["NDU2Nzg="],  # the seal's last 8 characters
    }


def test_a_cfdi_credit_note_names_the_invoice_it_relates_to():
    data = (
        (FIXTURES / "cfdi-untrimmed.xml")
        .read_bytes()
        .replace(
            b"<cfdi:Emisor",
            b'<cfdi:CfdiRelacionados TipoRelacion="01"><cfdi:CfdiRelacionado '
            b'UUID="5e2d6aff-2dd7-43d1-83d3-14c1aca396d9"/></cfdi:CfdiRelacionados><cfdi:Emisor',
        )
    )
    [record] = read_invoices(data)
    doc = read_document(data, record.national_id)
    assert [r.national_id for r in doc.references] == ["5E2D6AFF-2DD7-43D1-83D3-14C1ACA396D9"]

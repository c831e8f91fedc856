"""Mexico: CFDI 4.0, stamped with a TimbreFiscalDigital."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from saas.einvoice import EInvoiceError, InvoiceRecord, read_invoices
from tests.einvoice.conftest import FIXTURES, read_one

STAMP = "cfdi:Complemento/tfd:TimbreFiscalDigital"
TFD = b"""<cfdi:Complemento>
  <tfd:TimbreFiscalDigital xmlns:tfd="http://www.sat.gob.mx/TimbreFiscalDigital" Version="1.1"
      UUID="ed1752fe-e865-4ff2-bfe1-0f552e770dc9" FechaTimbrado="2021-12-08T00:00:00"
      RfcProvCertif="SAT970701NN3" SelloCFD="" NoCertificadoSAT="" SelloSAT=""/>
</cfdi:Complemento>"""


def test_sample_stamped_invoice(samples):
    data = (samples / "mx" / "ingreso_iva16_stamped.xml").read_bytes()
    assert read_one(data) == InvoiceRecord(
        format="cfdi-40",
        country="MX",
        kind="invoice",
        number="A123456",  # Serie "A" + Folio "123456"
        issue_date=datetime.date(2020, 1, 1),
        currency="MXN",
        total=Decimal("17852.75"),
        tax_total=Decimal("2462.45"),
        national_id="6D7434A6-E3F2-47AD-9E4C-08849946AFA0",  # written in lower case
        issuer_tax_id="H&E951128469",  # written "H&amp;E951128469"
        issuer_name="HERRERIA & ELECTRICOS S DE CV",
        customer_tax_id="KIJ0906199R1",
        customer_name="KIJ, S.A DE C.V.",
        customer_email=None,
    )


def test_sample_without_stamp_is_refused(samples):
    # cfdv40-min.xml is a valid CFDI 4.0 but was never stamped by a PAC: no national id.
    with pytest.raises(EInvoiceError) as caught:
        read_invoices((samples / "mx" / "cfdv40-min.xml").read_bytes())
    assert caught.value.format == "cfdi-40"
    assert caught.value.field == STAMP
    assert str(caught.value) == f"CFDI 4.0: missing field {STAMP}"


@pytest.mark.parametrize("name", ["cfdv40-ejemplo.xml", "cfdv40-ejemplo-signed-tfd.xml"])
def test_sample_payment_receipts_are_refused(samples, name):
    # Both "ejemplo" samples are TipoDeComprobante="P" (a payment receipt), not an invoice.
    with pytest.raises(EInvoiceError) as caught:
        read_invoices((samples / "mx" / name).read_bytes())
    assert caught.value.field == "cfdi:Comprobante/@TipoDeComprobante"
    assert "'P'" in str(caught.value)


def test_sample_stamped_ejemplo_read_as_an_invoice(samples):
    # The stamped "ejemplo" (UTF-8 with a byte order mark) with its type changed to I.
    data = (samples / "mx" / "cfdv40-ejemplo-signed-tfd.xml").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    data = data.replace(b'TipoDeComprobante="P"', b'TipoDeComprobante="I"')
    assert read_one(data) == InvoiceRecord(
        format="cfdi-40",
        country="MX",
        kind="invoice",
        number="A123ABC",
        issue_date=datetime.date(2021, 12, 7),
        currency="MXN",
        total=Decimal("1500"),
        tax_total=Decimal("360000"),  # the document's TotalImpuestosTrasladados, not a line's
        national_id="499E9A70-36AC-448A-BBD9-F3F52102E4BE",
        issuer_tax_id="AAA010101AAA",
        issuer_name="Esta es una demostración",
        customer_tax_id="BASJ600902KL9",
        customer_name="Juanito Bananas De la Sierra",
        customer_email=None,
    )


def test_sample_min_with_a_stamp_uses_the_uuid_as_number(samples):
    # cfdv40-min.xml has no Serie/Folio, no cfdi:Impuestos and an untrimmed Rfc=" AAA010101AAA".
    data = (samples / "mx" / "cfdv40-min.xml").read_bytes()
    data = data.replace(b"</cfdi:Conceptos>", b"</cfdi:Conceptos>" + TFD)
    record = read_one(data)
    assert record == InvoiceRecord(
        format="cfdi-40",
        country="MX",
        kind="invoice",
        number="ED1752FE-E865-4FF2-BFE1-0F552E770DC9",
        issue_date=datetime.date(2021, 12, 7),
        currency="MXN",
        total=Decimal("1500"),
        tax_total=Decimal("0"),
        national_id="ED1752FE-E865-4FF2-BFE1-0F552E770DC9",
        issuer_tax_id="AAA010101AAA",
        issuer_name="Esta es una demostración",
        customer_tax_id="BASJ600902KL9",
        customer_name="Juanito Bananas De la Sierra",
        customer_email=None,
    )


def test_untrimmed_values_and_rfcs_with_ampersand_and_enye():
    record = read_one((FIXTURES / "cfdi-untrimmed.xml").read_bytes())
    assert record == InvoiceRecord(
        format="cfdi-40",
        country="MX",
        kind="credit_note",  # TipoDeComprobante=" E "
        number="NC0042",
        issue_date=datetime.date(2024, 5, 6),
        currency="MXN",
        total=Decimal("116.00"),
        tax_total=Decimal("16.00"),
        national_id="0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0",
        issuer_tax_id="Ñ&M850101AB1",  # written "  ñ&amp;m850101ab1  "
        issuer_name="COMERCIALIZADORA Ñ&M",
        customer_tax_id="MUÑO800101AB2",
        customer_name="José Muñoz Peña",
        customer_email=None,
    )


def untrimmed(old: bytes, new: bytes) -> bytes:
    data = (FIXTURES / "cfdi-untrimmed.xml").read_bytes()
    assert old in data
    return data.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            b'TipoDeComprobante=" E "',
            b'TipoDeComprobante="X"',
            "cfdi:Comprobante/@TipoDeComprobante",
        ),
        (b'TipoDeComprobante=" E "', b"", "cfdi:Comprobante/@TipoDeComprobante"),
        ('Rfc=" MUÑO800101AB2 "'.encode(), b'Rfc="MUNOZ"', "cfdi:Receptor/@Rfc"),
        (b'Total=" 116.00 "', b'Total="1,16"', "cfdi:Comprobante/@Total"),
        (b'Fecha=" 2024-05-06T10:11:12 "', b'Fecha="06/05/2024"', "cfdi:Comprobante/@Fecha"),
        (b'UUID=" 0f1e2d3c', b'UUID=" not-a-uuid', f"{STAMP}/@UUID"),
        (b"<tfd:TimbreFiscalDigital", b"<tfd:Other", STAMP),
    ],
)
def test_invalid_or_missing_values_are_named(old, new, field):
    data = untrimmed(old, new)
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.format == "cfdi-40"
    assert caught.value.field == field


def test_cfdi_33_is_not_supported():
    data = untrimmed(
        b'xmlns:cfdi="http://www.sat.gob.mx/cfd/4"', b'xmlns:cfdi="http://www.sat.gob.mx/cfd/3"'
    )
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    # The namespace is CFDI 3's, the Version attribute says 4.0: named by its namespace.
    assert (caught.value.format, caught.value.code) == ("cfdi-3", "old_version")
    assert str(caught.value).startswith("CFDI 3.x: this version is no longer issued")

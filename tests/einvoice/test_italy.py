"""Italy: FatturaPA 1.2, samples and own fixtures (several bodies, root prefixes, encodings)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from saas.einvoice import EInvoiceError, InvoiceRecord, read_invoices
from tests.einvoice.conftest import FIXTURES, read_one

NUMERO = "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/Numero"
NAMESPACE = b"http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"


def fatturapa(**fields) -> InvoiceRecord:
    """An expected FatturaPA record; only what differs between the samples is passed."""
    defaults = dict(
        format="fatturapa-12",
        country="IT",
        kind="invoice",
        currency="EUR",
        issuer_tax_id="12345670157",
        issuer_name="MªF. Services",
        customer_tax_id="09876540585",
        customer_name="MARIO LEONI",
        customer_email=None,
    )
    return InvoiceRecord(**(defaults | fields))


SAMPLES = {
    "invoice-simple.xml": fatturapa(
        number="SAMPLE-001",
        issue_date=datetime.date(2023, 3, 2),
        total=Decimal("1388.40"),
        tax_total=Decimal("356.40"),  # 356.40 at 22% + 0.00 for N2.2
        national_id="IT-IT01234567890-679a2f25-SAMPLE-001-2023-03-02",
    ),
    "invoice-simple-with-pec.xml": fatturapa(
        number="SAMPLE-001",
        issue_date=datetime.date(2023, 3, 2),
        total=Decimal("1388.40"),
        tax_total=Decimal("356.40"),
        national_id="IT-IT01234567890-679a2f25-SAMPLE-001-2023-03-02",
        customer_email="fooo@inbox.com",
    ),
    "invoice-credit-note.xml": fatturapa(
        kind="credit_note",  # TD04
        number="CN-001",
        issue_date=datetime.date(2024, 10, 9),
        total=Decimal("1388.40"),
        tax_total=Decimal("356.40"),
        national_id="IT-IT01234567890-019270f3-CN-001-2024-10-09",
    ),
    "invoice-b2g.xml": fatturapa(  # FPA12
        number="SAMPLE-002",
        issue_date=datetime.date(2024, 10, 9),
        total=Decimal("265.00"),  # written "265.00 " with a trailing space
        tax_total=Decimal("24.00"),
        national_id="IT-IT01234567890-019270f1-SAMPLE-002-2024-10-09",
        issuer_name="Hotel California",
        customer_tax_id="13029381004",
        customer_name="Mela S.r.l.",
    ),
    "invoice-windows1252.xml": fatturapa(
        number="1",
        issue_date=datetime.date(2025, 1, 23),
        total=Decimal("169.14"),
        tax_total=Decimal("30.50"),
        national_id="IT-IT01234567890-00001-1-2025-01-23",
        # The file declares windows-1252 but its bytes are UTF-8 ("ª" is C2 AA). The
        # declaration is honoured, as by every XML parser and by the sample's upstream
        # expected output, so the name reads "MÂªF." (see test_real_windows_1252 for a
        # file that is what it declares).
        issuer_name="MÂªF. Services",
        customer_email="test@pec.it",
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample(samples, name):
    assert read_invoices((samples / "it" / name).read_bytes(), name) == [SAMPLES[name]]


def test_two_bodies_give_two_records():
    records = read_invoices((FIXTURES / "fatturapa-two-bodies.xml").read_bytes())
    common = dict(
        issuer_tax_id="02112340159",
        issuer_name="Officina Esempio S.r.l.",
        customer_tax_id="RSSMRA85T10A562S",  # a private customer's Codice Fiscale, upper-cased
        customer_name="Mario Rossi",  # Nome + Cognome
    )
    assert records == [
        fatturapa(
            number="2024/001",
            issue_date=datetime.date(2024, 2, 1),
            total=Decimal("122.00"),
            tax_total=Decimal("22.00"),
            national_id="IT-IT02112340159-A0042-2024/001-2024-02-01",
            **common,
        ),
        fatturapa(
            kind="debit_note",  # TD05
            number="2024/002",
            issue_date=datetime.date(2024, 2, 3),
            # No ImportoTotaleDocumento: taxable 50.00 + 10.00 plus tax 11.00 + 1.00.
            total=Decimal("72.00"),
            tax_total=Decimal("12.00"),
            national_id="IT-IT02112340159-A0042-2024/002-2024-02-03",
            **common,
        ),
    ]
    assert records[0].national_id != records[1].national_id


def test_real_windows_1252_with_ns2_prefix():
    data = (FIXTURES / "fatturapa-ns2-windows1252.xml").read_bytes()
    assert b"\x80uro" in data  # the euro sign as windows-1252 writes it (latin-1 has none)
    assert read_one(data) == fatturapa(
        kind="credit_note",
        number="NC-12",
        issue_date=datetime.date(2024, 4, 30),
        total=Decimal("61.00"),
        tax_total=Decimal("11.00"),
        national_id="IT-IT03123450011-Z9-NC-12-2024-04-30",
        issuer_tax_id="03123450011",  # written "IT03123450011": the prefix is dropped
        issuer_name="Caffè & Società \N{EN DASH} Più €uro S.p.A.",  # the dash is byte 0x96
        customer_tax_id="DE123456789",  # a foreign VAT id: IdPaese + IdCodice
        customer_name="Müller Großhandel GmbH",
        customer_email="fatture@pec.esempio.it",
    )


NO_PREFIX = fatturapa(
    number="7",
    issue_date=datetime.date(2024, 3, 15),
    total=Decimal("1000.00"),
    tax_total=Decimal("0.00"),
    national_id="IT-ITVRDGPP80A01H501U-00007-7-2024-03-15",
    issuer_tax_id="07654320584",  # IdFiscaleIVA wins over CodiceFiscale
    issuer_name="Giuseppe Verdi",
    customer_tax_id="80012340586",  # a public body's numeric Codice Fiscale
    customer_name="Comune di Esempio",
)


def test_no_prefix_and_no_namespace():
    assert read_one((FIXTURES / "fatturapa-no-prefix.xml").read_bytes()) == NO_PREFIX


def test_no_prefix_with_default_namespace():
    # With xmlns="..." on an unprefixed root its children inherit the namespace, which the
    # schema does not want but senders do: children are matched by local name anyway.
    data = (FIXTURES / "fatturapa-no-prefix.xml").read_bytes()
    data = data.replace(b"<FatturaElettronica ", b'<FatturaElettronica xmlns="' + NAMESPACE + b'" ')
    assert read_one(data) == NO_PREFIX


def two_bodies(old: bytes, new: bytes, count: int = 1) -> bytes:
    data = (FIXTURES / "fatturapa-two-bodies.xml").read_bytes()
    assert old in data
    return data.replace(old, new, count)


def test_missing_numero_is_named():
    data = (FIXTURES / "fatturapa-no-prefix.xml").read_bytes().replace(b"<Numero>7</Numero>", b"")
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.format == "fatturapa-12"
    assert caught.value.field == NUMERO
    assert str(caught.value) == f"FatturaPA 1.2: missing field {NUMERO}"


def test_missing_field_of_a_later_body_names_the_body():
    data = two_bodies(b"<Numero>2024/002</Numero>", b"<Numero> </Numero>")
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.field == (
        "FatturaElettronicaBody[2]/DatiGenerali/DatiGeneraliDocumento/Numero"
    )


def test_bodies_repeating_number_and_date_are_refused():
    data = two_bodies(b"<Numero>2024/002</Numero>", b"<Numero>2024/001</Numero>").replace(
        b"<Data>2024-02-03</Data>", b"<Data>2024-02-01</Data>"
    )
    with pytest.raises(EInvoiceError, match="same number and date"):
        read_invoices(data)


def test_wrong_partita_iva_check_digit():
    data = two_bodies(b"<IdCodice>02112340159</IdCodice>", b"<IdCodice>02112340150</IdCodice>", 2)
    with pytest.raises(EInvoiceError, match="wrong check digit") as caught:
        read_invoices(data)
    assert caught.value.field == (
        "FatturaElettronicaHeader/CedentePrestatore/DatiAnagrafici/IdFiscaleIVA/IdCodice"
    )


def test_wrong_codice_fiscale_check_character():
    data = two_bodies(b"rssmra85t10a562s", b"rssmra85t10a562t")
    with pytest.raises(EInvoiceError, match="wrong check character") as caught:
        read_invoices(data)
    assert caught.value.field == (
        "FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici/CodiceFiscale"
    )


@pytest.mark.parametrize("version", [b"FPR11", b""])
def test_unsupported_version(version):
    data = two_bodies(b'versione="FPR12"', b'versione="' + version + b'"')
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.field == "FatturaElettronica/@versione"


def test_other_namespace_is_not_fatturapa():
    data = two_bodies(b"docs/xsd/fatture/v1.2", b"docs/xsd/fatture/v9.9")
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.format is None
    assert "FatturaElettronica" in str(caught.value)

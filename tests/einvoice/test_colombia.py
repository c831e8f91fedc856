"""Colombia: DIAN UBL 2.1 Invoice, CreditNote, DebitNote and the AttachedDocument wrapper."""

from __future__ import annotations

import datetime
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from lxml import etree

from saas.einvoice import EInvoiceError, InvoiceRecord, read_invoices
from tests.einvoice.conftest import read_one

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CUFE = (
    "e633d09279badff1414e7e00f0c9322c01879754c0349e2ea8acd357a474962e"
    "17729d393a8bb4094ff3f29dbf0e3af1"
)
# The note samples are unsigned templates whose cbc:UUID (CUDE) is empty; tests that need a
# complete note put this one in.
CUDE = "a" * 96
SUPPLIER_ID = "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"
CUSTOMER_ID = "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"

SAMPLE_INVOICE = InvoiceRecord(
    format="ubl21-co",
    country="CO",
    kind="invoice",
    number="SETP990000008",
    issue_date=datetime.date(2019, 6, 12),
    currency="COP",
    total=Decimal("2023060.00"),
    # Four top-level cac:TaxTotal: IVA 342000.00, INC 0.00, ICA 0.00, bag tax 60.00.
    tax_total=Decimal("342060.00"),
    national_id=CUFE,
    issuer_tax_id="901210113-3",
    issuer_name="FACTURADOR DE EJEMPLO",
    customer_tax_id="901210113-3",
    customer_name="ADQUIRIENTE DE EJEMPLO",
    customer_email="sd_fistrib_facturaelectronica@dian.gov.co",
)


def edited(path, edit) -> bytes:
    """The sample at ``path`` after ``edit(root)`` changed its tree."""
    root = etree.fromstring(path.read_bytes())
    edit(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def with_cude(root) -> None:
    root.find("cbc:UUID", NS).text = CUDE


def attached_document(
    inner_xml: str, parent_id: str | None = "SETP990000008", cdata: bool = True
) -> bytes:
    """A DIAN AttachedDocument carrying ``inner_xml`` as CDATA, like those exchanged by email.

    With ``cdata=False`` the inner XML is escaped text instead, as some issuers send it. The
    wrapper also carries, as DIAN's do, the ApplicationResponse in a second (nested)
    Attachment, which must not be mistaken for the invoice.
    """
    parent = f"<cbc:ParentDocumentID>{parent_id}</cbc:ParentDocumentID>" if parent_id else ""
    description = f"<![CDATA[{inner_xml}]]>" if cdata else escape(inner_xml)
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<AttachedDocument xmlns="urn:oasis:names:specification:ubl:schema:xsd:AttachedDocument-2"
    xmlns:cac="{NS["cac"]}" xmlns:cbc="{NS["cbc"]}">
  <cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID>
  <cbc:CustomizationID>Documentos adjuntos</cbc:CustomizationID>
  <cbc:ProfileID>Factura Electrónica de Venta</cbc:ProfileID>
  <cbc:ProfileExecutionID>2</cbc:ProfileExecutionID>
  <cbc:ID>90000001</cbc:ID>
  <cbc:IssueDate>2019-06-12</cbc:IssueDate>
  <cbc:IssueTime>13:00:00-05:00</cbc:IssueTime>
  <cbc:DocumentType>Contenedor de Factura Electrónica</cbc:DocumentType>
  {parent}
  <cac:SenderParty>
    <cac:PartyTaxScheme>
      <cbc:RegistrationName>FACTURADOR DE EJEMPLO</cbc:RegistrationName>
      <cbc:CompanyID schemeAgencyID="195" schemeID="3" schemeName="31">901210113</cbc:CompanyID>
    </cac:PartyTaxScheme>
  </cac:SenderParty>
  <cac:Attachment>
    <cac:ExternalReference>
      <cbc:MimeCode>text/xml</cbc:MimeCode>
      <cbc:EncodingCode>UTF-8</cbc:EncodingCode>
      <cbc:Description>{description}</cbc:Description>
    </cac:ExternalReference>
  </cac:Attachment>
  <cac:ParentDocumentLineReference>
    <cbc:LineID>1</cbc:LineID>
    <cac:DocumentReference>
      <cbc:ID>SETP990000008</cbc:ID>
      <cac:Attachment>
        <cac:ExternalReference>
          <cbc:Description><![CDATA[<?xml version="1.0" encoding="utf-8"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"/>
]]></cbc:Description>
        </cac:ExternalReference>
      </cac:Attachment>
    </cac:DocumentReference>
  </cac:ParentDocumentLineReference>
</AttachedDocument>
""".encode()


# Samples


def test_sample_invoice(samples):
    record = read_one((samples / "co" / "ubl21-invoice.xml").read_bytes())
    assert record == SAMPLE_INVOICE
    assert str(record.total) == "2023060.00"  # the amount as written, never through a float


@pytest.mark.parametrize("name", ["ubl21-credit-note.xml", "ubl21-debit-note.xml"])
def test_sample_notes_are_unsigned_templates_without_cude(samples, name):
    # Both note samples have an empty <cbc:UUID schemeName="CUDE-SHA384"/>: without the CUDE
    # there is no national id, so they are refused rather than stored without one.
    with pytest.raises(EInvoiceError) as caught:
        read_invoices((samples / "co" / name).read_bytes())
    assert caught.value.format == "ubl21-co"
    assert caught.value.field == "cbc:UUID"
    assert str(caught.value) == "DIAN UBL 2.1: missing field cbc:UUID"


def test_sample_credit_note_supplier_nit_has_a_wrong_check_digit(samples):
    # With a CUDE the credit note sample still fails: its supplier NIT 9000000 is given the
    # check digit 9 (schemeID="9"), DIAN's algorithm gives 3 (the customer's is right).
    data = edited(samples / "co" / "ubl21-credit-note.xml", with_cude)
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.field == SUPPLIER_ID
    assert "wrong check digit" in str(caught.value)
    assert str(caught.value).startswith(f"DIAN UBL 2.1: field {SUPPLIER_ID} has the invalid value")


def test_sample_credit_note_with_cude_and_corrected_nit(samples):
    def fix(root):
        with_cude(root)
        root.find(SUPPLIER_ID, NS).set("schemeID", "3")

    record = read_one(edited(samples / "co" / "ubl21-credit-note.xml", fix))
    assert record == InvoiceRecord(
        format="ubl21-co",
        country="CO",
        kind="credit_note",
        number="NC1000",
        issue_date=datetime.date(2019, 6, 27),
        currency="COP",
        total=Decimal("0.00"),
        tax_total=Decimal("0"),  # the sample has no top-level cac:TaxTotal
        national_id=CUDE,
        issuer_tax_id="9000000-3",
        issuer_name="FACTURADOR DE EJEMPLO",
        customer_tax_id="9000000-3",
        customer_name="ADQUIRIENTE DE EJEMPLO",
        customer_email="sd_fistrib_facturaelectronica@dian.gov.co",
    )


def test_sample_debit_note_with_cude(samples):
    record = read_one(edited(samples / "co" / "ubl21-debit-note.xml", with_cude))
    assert record == InvoiceRecord(
        format="ubl21-co",
        country="CO",
        kind="debit_note",
        number="ND1",
        issue_date=datetime.date(2019, 6, 21),
        currency="USD",
        total=Decimal("14994.07"),  # cac:RequestedMonetaryTotal, as debit notes have
        tax_total=Decimal("2394.01"),
        national_id=CUDE,
        issuer_tax_id="800197268-4",
        issuer_name="FACTURADOR DE EJEMPLO",
        customer_tax_id="900108281-3",
        customer_name="ADQUIRIENTE DE EJEMPLO",
        customer_email="crosas12@servicios.com",
    )


# Party identifiers


def customer_id_edit(text: str, **attributes):
    def edit(root):
        company_id = root.find(CUSTOMER_ID, NS)
        company_id.text = text
        for name in ("schemeID", "schemeName"):
            company_id.attrib.pop(name, None)
        company_id.attrib.update(attributes)

    return edit


@pytest.mark.parametrize(
    ("text", "attributes", "expected"),
    [
        ("900123456", {"schemeID": "8", "schemeName": "31"}, "900123456-8"),
        ("900123456", {"schemeName": "31"}, "900123456-8"),  # no schemeID: computed
        ("900.123.456", {}, "900123456-8"),  # no schemeName: a NIT
        ("1.020.304.050", {"schemeName": "13"}, "1020304050"),  # cédula: digits, no check digit
        (" ab 123456 ", {"schemeName": "41"}, "AB123456"),  # passport: kept, upper-cased
    ],
)
def test_customer_identifier_by_scheme(samples, text, attributes, expected):
    data = edited(samples / "co" / "ubl21-invoice.xml", customer_id_edit(text, **attributes))
    assert read_one(data).customer_tax_id == expected


@pytest.mark.parametrize(
    ("text", "attributes"),
    [
        ("900123456", {"schemeID": "7", "schemeName": "31"}),
        ("90012345A", {"schemeName": "31"}),
        ("1.020.304.05X", {"schemeName": "13"}),
    ],
)
def test_invalid_customer_identifier(samples, text, attributes):
    data = edited(samples / "co" / "ubl21-invoice.xml", customer_id_edit(text, **attributes))
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.field == CUSTOMER_ID


def test_customer_without_email(samples):
    def drop_contact(root):
        contact = root.find("cac:AccountingCustomerParty/cac:Party/cac:Contact", NS)
        contact.getparent().remove(contact)

    data = edited(samples / "co" / "ubl21-invoice.xml", drop_contact)
    assert read_one(data).customer_email is None


@pytest.mark.parametrize(
    ("removed", "field"),
    [
        ("cac:LegalMonetaryTotal", "cac:LegalMonetaryTotal/cbc:PayableAmount"),
        ("cbc:IssueDate", "cbc:IssueDate"),
        ("cbc:DocumentCurrencyCode", "cbc:DocumentCurrencyCode"),
        ("cac:AccountingCustomerParty", CUSTOMER_ID),
    ],
)
def test_missing_field_is_named(samples, removed, field):
    def remove(root):
        root.remove(root.find(removed, NS))

    with pytest.raises(EInvoiceError) as caught:
        read_invoices(edited(samples / "co" / "ubl21-invoice.xml", remove))
    assert caught.value.format == "ubl21-co"
    assert caught.value.field == field
    assert str(caught.value) == f"DIAN UBL 2.1: missing field {field}"


def test_amount_must_be_a_plain_decimal(samples):
    def set_nan(root):
        root.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS).text = "NaN"

    with pytest.raises(EInvoiceError, match="cac:LegalMonetaryTotal/cbc:PayableAmount"):
        read_invoices(edited(samples / "co" / "ubl21-invoice.xml", set_nan))


# AttachedDocument


def test_attached_document_wrapping_the_sample_invoice(samples):
    inner = (samples / "co" / "ubl21-invoice.xml").read_text(encoding="utf-8")
    assert read_one(attached_document(inner), "ad0901210113.xml") == SAMPLE_INVOICE


def test_attached_document_with_escaped_instead_of_cdata(samples):
    inner = (samples / "co" / "ubl21-invoice.xml").read_text(encoding="utf-8")
    assert read_one(attached_document(inner, cdata=False)) == SAMPLE_INVOICE


def test_attached_document_number_is_the_parent_document_id(samples):
    inner = (samples / "co" / "ubl21-invoice.xml").read_text(encoding="utf-8")
    record = read_one(attached_document(inner, parent_id=" SETP990000099 "))
    assert record.number == "SETP990000099"
    assert record.national_id == CUFE


def test_attached_document_without_parent_id_uses_the_inner_id(samples):
    inner = (samples / "co" / "ubl21-invoice.xml").read_text(encoding="utf-8")
    assert read_one(attached_document(inner, parent_id=None)).number == "SETP990000008"


def test_attached_document_carrying_a_note(samples):
    inner = edited(samples / "co" / "ubl21-debit-note.xml", with_cude).decode("utf-8")
    record = read_one(attached_document(inner, parent_id="ND1"))
    assert (record.kind, record.number, record.total) == ("debit_note", "ND1", Decimal("14994.07"))


def test_attached_document_without_attachment():
    data = attached_document("", parent_id="X1")
    with pytest.raises(EInvoiceError) as caught:
        read_invoices(data)
    assert caught.value.field == "cac:Attachment/cac:ExternalReference/cbc:Description"


def test_attached_document_carrying_something_else():
    data = attached_document('<?xml version="1.0"?><Report xmlns="urn:example"/>')
    with pytest.raises(EInvoiceError, match="not a UBL Invoice, CreditNote or DebitNote"):
        read_invoices(data)


@pytest.mark.parametrize("cdata", [True, False], ids=["cdata", "escaped"])
def test_attached_document_inner_xml_gets_the_same_hardening(tmp_path, cdata):
    # As CDATA the DOCTYPE is visible to the scan of the outer file; escaped ("&lt;!DOCTYPE")
    # it is not, and the inner document's own scan must refuse it.
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    inner = (
        f'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&x;</Invoice>'
    )
    with pytest.raises(EInvoiceError, match="DOCTYPE") as caught:
        read_invoices(attached_document(inner, cdata=cdata))
    assert "TOP-SECRET-VALUE" not in str(caught.value)
    assert caught.value.format == ("ubl21-co" if not cdata else None)


def test_attached_document_inner_xml_depth_is_bounded():
    inner = (
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
        + "<a>" * 200
        + "</a>" * 200
        + "</Invoice>"
    )
    with pytest.raises(EInvoiceError, match="deeper than 100"):
        read_invoices(attached_document(inner))

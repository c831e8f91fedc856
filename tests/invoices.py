"""Electronic invoices made to order for tests: DIAN UBL 2.1 with chosen values."""

from __future__ import annotations

import hashlib
from datetime import date

# Valid NITs with their DIAN check digits.
ISSUER_NIT = ("900123456", "8")
CUSTOMERS = {
    "andina": ("800765432", "3", "Distribuidora Andina S.A.S."),
    "cafetera": ("901234567", "7", "Cafetera del Valle Ltda."),
}


def ubl_invoice(
    number: str,
    *,
    issue_date: date = date(2026, 1, 15),
    customer: str = "andina",
    email: str | None = "compras@andina.example",
    total: str = "119000.00",
    tax: str = "19000.00",
) -> bytes:
    """A DIAN UBL 2.1 invoice; its CUFE is derived from the number, so it is stable."""
    nit, dv, name = CUSTOMERS[customer]
    cufe = hashlib.sha384(f"cufe-{number}".encode()).hexdigest()
    contact = (
        f"<cac:Contact><cbc:ElectronicMail>{email}</cbc:ElectronicMail></cac:Contact>"
        if email
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID>
  <cbc:ProfileID>DIAN 2.1</cbc:ProfileID>
  <cbc:ID>{number}</cbc:ID>
  <cbc:UUID schemeID="2" schemeName="CUFE-SHA384">{cufe}</cbc:UUID>
  <cbc:IssueDate>{issue_date.isoformat()}</cbc:IssueDate>
  <cbc:IssueTime>10:00:00-05:00</cbc:IssueTime>
  <cbc:InvoiceTypeCode>01</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>COP</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty>
    <cbc:AdditionalAccountID>1</cbc:AdditionalAccountID>
    <cac:Party>
      <cac:PartyTaxScheme>
        <cbc:RegistrationName>Intertec S.A.S.</cbc:RegistrationName>
        <cbc:CompanyID schemeID="{ISSUER_NIT[1]}" schemeName="31">{ISSUER_NIT[0]}</cbc:CompanyID>
      </cac:PartyTaxScheme>
    </cac:Party>
  </cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>
    <cbc:AdditionalAccountID>1</cbc:AdditionalAccountID>
    <cac:Party>
      <cac:PartyTaxScheme>
        <cbc:RegistrationName>{name}</cbc:RegistrationName>
        <cbc:CompanyID schemeID="{dv}" schemeName="31">{nit}</cbc:CompanyID>
      </cac:PartyTaxScheme>
      {contact}
    </cac:Party>
  </cac:AccountingCustomerParty>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="COP">{tax}</cbc:TaxAmount>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="COP">100000.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="COP">100000.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="COP">{total}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="COP">{total}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
</Invoice>
""".encode()


def fake_pdf(label: str, size: int = 2048) -> bytes:
    """Bytes that start like a PDF, different per label."""
    body = hashlib.sha256(label.encode()).hexdigest().encode() * (size // 64 + 1)
    return b"%PDF-1.7\n" + body[:size] + b"\n%%EOF\n"

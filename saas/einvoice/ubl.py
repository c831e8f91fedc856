"""Colombia: DIAN UBL 2.1 Invoice, CreditNote and DebitNote, bare or in an AttachedDocument."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

from lxml import etree

from saas.einvoice.records import (
    InvoiceRecord,
    invalid,
    missing,
    parse_amount,
    parse_currency,
    parse_date,
    parse_tax_id,
)
from saas.einvoice.xml import parse_xml

FORMAT = "ubl21-co"

_MAINDOC = "urn:oasis:names:specification:ubl:schema:xsd:"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
DOCUMENT_KINDS = {
    f"{{{_MAINDOC}Invoice-2}}Invoice": "invoice",
    f"{{{_MAINDOC}CreditNote-2}}CreditNote": "credit_note",
    f"{{{_MAINDOC}DebitNote-2}}DebitNote": "debit_note",
}
ATTACHED_DOCUMENT = f"{{{_MAINDOC}AttachedDocument-2}}AttachedDocument"

# DIAN identification types (schemeName of cbc:CompanyID): only a NIT has a check digit.
_NIT_SCHEME = "31"
_CEDULA_SCHEME = "13"
_ATTACHMENT_PATH = "cac:Attachment/cac:ExternalReference/cbc:Description"
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")


def read_document(root: etree._Element) -> InvoiceRecord:
    """Read a bare UBL 2.1 Invoice, CreditNote or DebitNote."""
    kind = DOCUMENT_KINDS[root.tag]
    # Fields are read in record order, so the first problem reported is the first one found.
    number = _required(root, "cbc:ID")
    issue_date = parse_date(FORMAT, "cbc:IssueDate", _required(root, "cbc:IssueDate"))
    currency = parse_currency(
        FORMAT, "cbc:DocumentCurrencyCode", _required(root, "cbc:DocumentCurrencyCode")
    )
    total = _payable_amount(root, kind)
    tax_total = sum(
        (
            parse_amount(FORMAT, "cac:TaxTotal/cbc:TaxAmount", amount.text or "")
            for amount in root.findall("cac:TaxTotal/cbc:TaxAmount", NS)
        ),
        Decimal(0),
    )
    national_id = _required(root, "cbc:UUID")
    issuer_tax_id, issuer_name, _ = _party(root, "cac:AccountingSupplierParty")
    customer_tax_id, customer_name, customer_email = _party(root, "cac:AccountingCustomerParty")
    return InvoiceRecord(
        format=FORMAT,
        country="CO",
        kind=kind,
        number=number,
        issue_date=issue_date,
        currency=currency,
        total=total,
        tax_total=tax_total,
        national_id=national_id,
        issuer_tax_id=issuer_tax_id,
        issuer_name=issuer_name,
        customer_tax_id=customer_tax_id,
        customer_name=customer_name,
        customer_email=customer_email,
    )


def read_attached_document(wrapper: etree._Element) -> InvoiceRecord:
    """Read the invoice carried as CDATA by a DIAN AttachedDocument.

    The inner XML goes through the same hardened parser as an upload. The number is the
    wrapper's cbc:ParentDocumentID, or the inner cbc:ID when the wrapper has none.
    """
    record = read_document(attached_invoice(wrapper))
    parent_id = _text(wrapper, "cbc:ParentDocumentID")
    return dataclasses.replace(record, number=parent_id) if parent_id else record


def attached_invoice(wrapper: etree._Element) -> etree._Element:
    """The UBL Invoice, CreditNote or DebitNote an AttachedDocument carries as text."""
    text = _required(wrapper, _ATTACHMENT_PATH)
    # The inner document keeps its own XML declaration; as text it is already decoded, so
    # the declaration is dropped and the text re-encoded as UTF-8 for the parser.
    inner_xml = _XML_DECLARATION.sub("", text.lstrip("\ufeff"), count=1).encode("utf-8")
    inner = parse_xml(inner_xml, format=FORMAT)
    if inner.tag not in DOCUMENT_KINDS:
        raise invalid(
            FORMAT,
            _ATTACHMENT_PATH,
            etree.QName(inner).localname,
            "the attachment is not a UBL Invoice, CreditNote or DebitNote",
            "attachment_kind",
        )
    return inner


def _payable_amount(root: etree._Element, kind: str) -> Decimal:
    """cbc:PayableAmount of LegalMonetaryTotal, or of RequestedMonetaryTotal for a debit note.

    Both places are tried, the expected one first, as issuers do not all follow the annex.
    """
    totals = ["cac:LegalMonetaryTotal", "cac:RequestedMonetaryTotal"]
    if kind == "debit_note":
        totals.reverse()
    paths = [f"{total}/cbc:PayableAmount" for total in totals]
    for path in paths:
        text = _text(root, path)
        if text is not None:
            return parse_amount(FORMAT, path, text)
    raise missing(FORMAT, paths[0])


def _party(root: etree._Element, role: str) -> tuple[str, str, str | None]:
    """Tax id, registration name and e-mail of the supplier or customer party."""
    scheme = f"{role}/cac:Party/cac:PartyTaxScheme"
    company_id_path = f"{scheme}/cbc:CompanyID"
    raw_id = _required(root, company_id_path)
    tax_id = _tax_id(company_id_path, raw_id, root.find(company_id_path, NS).attrib)
    name = _required(root, f"{scheme}/cbc:RegistrationName")
    email = _text(root, f"{role}/cac:Party/cac:Contact/cbc:ElectronicMail")
    return tax_id, name, email


def _tax_id(field: str, raw: str, attributes) -> str:
    """Normalise a party identifier according to its DIAN identification type (schemeName).

    A NIT (31, also assumed when schemeName is absent) gets its check digit, taken from
    schemeID and verified, or computed when absent. A cédula (13) and the other types
    (passport, foreign id...) have no check digit: they are kept as written, without
    spaces and dots, upper-cased (a cédula is then digits only).
    """
    scheme_name = (attributes.get("schemeName") or _NIT_SCHEME).strip()
    if scheme_name == _NIT_SCHEME:
        check_digit = (attributes.get("schemeID") or "").strip()
        if check_digit and "-" not in raw:
            raw = f"{raw}-{check_digit}"
        return parse_tax_id(FORMAT, field, "CO", raw)
    identifier = re.sub(r"[\s.]", "", raw).upper()
    if scheme_name == _CEDULA_SCHEME and not re.fullmatch(r"[0-9]+", identifier):
        raise invalid(
            FORMAT, field, raw, "a cédula de ciudadanía is made of digits only", "cedula_digits"
        )
    return identifier


def _text(element: etree._Element, path: str) -> str | None:
    """Stripped text at ``path``; None when the element is absent or empty."""
    value = element.findtext(path, namespaces=NS)
    if value is None:
        return None
    return value.strip() or None


def _required(element: etree._Element, path: str) -> str:
    value = _text(element, path)
    if value is None:
        raise missing(FORMAT, path)
    return value

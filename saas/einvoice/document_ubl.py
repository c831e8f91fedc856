"""The reading view of a DIAN UBL 2.1 Invoice, CreditNote or DebitNote."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from saas.einvoice.document import (
    Document,
    Line,
    Party,
    Reference,
    TaxRow,
    amount,
    clean,
    date,
    joined,
)
from saas.einvoice.ubl import DOCUMENT_KINDS, FORMAT, NS

NS = {
    **NS,
    "sts": "dian:gov:co:facturaelectronica:Structures-2-1",
    "sts_old": "http://www.dian.gov.co/contratos/facturaelectronica/v1/Structures",
}
_LINES = {"invoice": "InvoiceLine", "credit_note": "CreditNoteLine", "debit_note": "DebitNoteLine"}
_QUANTITIES = {
    "invoice": "InvoicedQuantity",
    "credit_note": "CreditedQuantity",
    "debit_note": "DebitedQuantity",
}
# The DIAN's public page for a CUFE/CUDE (what the QR code of the printed invoice opens).
VERIFY_URL = "https://catalogo-vpfe.dian.gov.co/document/searchqr?documentkey={}"


def read(root: etree._Element, national_id: str) -> Document:
    kind = DOCUMENT_KINDS[root.tag]
    cufe = _text(root, "cbc:UUID") or national_id
    totals = root.find("cac:LegalMonetaryTotal", NS)
    if totals is None or kind == "debit_note":
        totals = root.find("cac:RequestedMonetaryTotal", NS)
    if totals is None:
        totals = root.find("cac:LegalMonetaryTotal", NS)
    taxes = [*_taxes(root, "cac:TaxTotal", False), *_taxes(root, "cac:WithholdingTaxTotal", True)]
    qr = _text(root, ".//sts:QRCode") or _text(root, ".//sts_old:QRCode")
    return Document(
        format=FORMAT,
        kind=kind,
        number=_text(root, "cbc:ID") or "",
        issue_date=date(_text(root, "cbc:IssueDate")),
        currency=_text(root, "cbc:DocumentCurrencyCode") or "",
        issuer=_party(root, "cac:AccountingSupplierParty"),
        customer=_party(root, "cac:AccountingCustomerParty"),
        national_id=cufe,
        lines=[_line(row, kind) for row in root.findall(f"cac:{_LINES[kind]}", NS)],
        taxes=taxes,
        subtotal=_amount(totals, "cbc:LineExtensionAmount"),
        discount_total=_amount(totals, "cbc:AllowanceTotalAmount"),
        tax_total=sum(
            (amount(e.text) or Decimal(0) for e in root.findall("cac:TaxTotal/cbc:TaxAmount", NS)),
            Decimal(0),
        ),
        withheld_total=sum((t.amount for t in taxes if t.withheld), Decimal(0)) or None,
        total=_amount(totals, "cbc:PayableAmount"),
        due_date=date(
            _text(root, "cbc:DueDate") or _text(root, "cac:PaymentMeans/cbc:PaymentDueDate")
        ),
        payment_terms=_payment_terms(root),
        notes=[n for n in (clean(e.text) for e in root.findall("cbc:Note", NS)) if n],
        references=[
            Reference(
                number=_text(ref, "cbc:ID"),
                national_id=_text(ref, "cbc:UUID"),
                date=date(_text(ref, "cbc:IssueDate")),
            )
            for ref in root.findall("cac:BillingReference/cac:InvoiceDocumentReference", NS)
        ],
        verify_url=VERIFY_URL.format(cufe),
        qr_text=qr or VERIFY_URL.format(cufe),
    )


def _party(root: etree._Element, role: str) -> Party:
    party = root.find(f"{role}/cac:Party", NS)
    if party is None:
        return Party(name="", tax_id="")
    scheme = party.find("cac:PartyTaxScheme", NS)
    company_id = scheme.find("cbc:CompanyID", NS) if scheme is not None else None
    tax_id = clean(company_id.text) if company_id is not None else None
    if tax_id and company_id is not None and company_id.get("schemeID") and "-" not in tax_id:
        tax_id = f"{tax_id}-{company_id.get('schemeID')}"
    address = party.find("cac:PhysicalLocation/cac:Address", NS)
    if address is None and scheme is not None:
        address = scheme.find("cac:RegistrationAddress", NS)
    lines: list[str] = []
    if address is not None:
        lines = [
            t for t in (clean(e.text) for e in address.findall("cac:AddressLine/cbc:Line", NS)) if t
        ]
        place = joined(
            _text(address, "cbc:CityName"), _text(address, "cbc:CountrySubentity"), sep=", "
        )
        lines += [x for x in (place, _text(address, "cac:Country/cbc:Name")) if x]
    name = (
        (_text(scheme, "cbc:RegistrationName") if scheme is not None else None)
        or _text(party, "cac:PartyName/cbc:Name")
        or ""
    )
    return Party(
        name=name,
        tax_id=tax_id or "",
        address=lines,
        email=_text(party, "cac:Contact/cbc:ElectronicMail"),
    )


def _line(row: etree._Element, kind: str) -> Line:
    quantity = row.find(f"cbc:{_QUANTITIES[kind]}", NS)
    discount = sum(
        (
            amount(charge.findtext("cbc:Amount", namespaces=NS)) or Decimal(0)
            for charge in row.findall("cac:AllowanceCharge", NS)
            if (charge.findtext("cbc:ChargeIndicator", namespaces=NS) or "").strip() == "false"
        ),
        Decimal(0),
    )
    rates = [
        amount(sub.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS))
        for sub in row.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    ]
    names = [
        clean(sub.findtext("cac:TaxCategory/cac:TaxScheme/cbc:Name", namespaces=NS))
        for sub in row.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    ]
    withheld = [
        joined(
            clean(sub.findtext("cac:TaxCategory/cac:TaxScheme/cbc:Name", namespaces=NS)),
            _percent(sub.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS)),
        )
        for sub in row.findall("cac:WithholdingTaxTotal/cac:TaxSubtotal", NS)
    ]
    return Line(
        description=_text(row, "cac:Item/cbc:Description") or _text(row, "cbc:Note") or "",
        quantity=amount(quantity.text) if quantity is not None else None,
        unit=quantity.get("unitCode") if quantity is not None else None,
        unit_price=_amount(row, "cac:Price/cbc:PriceAmount"),
        discount=discount or None,
        tax_rate=next((r for r in rates if r is not None), None),
        tax_note=next((n for n in names if n), None),
        total=_amount(row, "cbc:LineExtensionAmount"),
        withholdings=[w for w in withheld if w],
    )


def _taxes(root: etree._Element, path: str, withheld: bool) -> list[TaxRow]:
    rows = []
    for sub in root.findall(f"{path}/cac:TaxSubtotal", NS):
        tax = amount(sub.findtext("cbc:TaxAmount", namespaces=NS))
        if tax is None:
            continue
        rows.append(
            TaxRow(
                name=clean(sub.findtext("cac:TaxCategory/cac:TaxScheme/cbc:Name", namespaces=NS))
                or "",
                rate=amount(sub.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS)),
                base=amount(sub.findtext("cbc:TaxableAmount", namespaces=NS)),
                amount=tax,
                withheld=withheld,
            )
        )
    return rows


def _payment_terms(root: etree._Element) -> list[str]:
    terms = []
    for means in root.findall("cac:PaymentMeans", NS):
        # DIAN: ID 1 is cash (contado), 2 credit; PaymentMeansCode the instrument.
        method = {"1": "cash", "2": "credit"}.get((_text(means, "cbc:ID") or "").strip())
        if method:
            terms.append(method)
    for term in root.findall("cac:PaymentTerms", NS):
        days = _text(term, "cac:SettlementPeriod/cbc:DurationMeasure")
        if days:
            terms.append(f"days:{days}")
        note = _text(term, "cbc:Note")
        if note:
            terms.append(note)
    return terms


def _percent(text: str | None) -> str | None:
    value = amount(text)
    return f"{value.normalize():f}%" if value is not None else None


def _text(element: etree._Element | None, path: str) -> str | None:
    if element is None:
        return None
    return clean(element.findtext(path, namespaces=NS))


def _amount(element: etree._Element | None, path: str) -> Decimal | None:
    return amount(element.findtext(path, namespaces=NS)) if element is not None else None

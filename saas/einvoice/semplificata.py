"""Italy: FatturaPA semplificata 1.0 (FatturaElettronicaSemplificata, versione FSM10).

The simplified invoice (up to 400 euro, DM 10/05/2019) has the same transmission data as
FatturaPA 1.2 but flatter parties and lines: the issuer's tax id and name sit directly
under CedentePrestatore; the customer may be identified by a tax id alone; each
DatiBeniServizi is one line whose Importo already includes its VAT (DatiIVA/Imposta, or
its Aliquota). Bodies are invoices of their own, as in FatturaPA 1.2.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

import saas.einvoice.fatturapa as fatturapa
from saas.einvoice.fatturapa import _children, _find, _text
from saas.einvoice.records import (
    InvoiceRecord,
    invalid,
    missing,
    parse_amount,
)

FORMAT = "fatturapa-sm10"
NAMESPACE = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.0"
VERSION = "FSM10"
# TD07 is the simplified invoice; TD08 and TD09 its credit and debit notes.
KINDS = {"TD08": "credit_note", "TD09": "debit_note"}

_HEADER = fatturapa._HEADER  # the same header and bodies as FatturaPA 1.2's


def is_semplificata(root: etree._Element) -> bool:
    name = etree.QName(root)
    return name.localname == "FatturaElettronicaSemplificata" and name.namespace in (
        NAMESPACE,
        None,
    )


def read_semplificata(root: etree._Element) -> list[InvoiceRecord]:
    version = (root.get("versione") or "").strip()
    if version != VERSION:
        field = "FatturaElettronicaSemplificata/@versione"
        if not version:
            raise missing(FORMAT, field)
        raise invalid(FORMAT, field, version, f"expected {VERSION}", "version", versions=VERSION)
    header = _required_element(root, _HEADER)
    transmitter, progressive = fatturapa.read_transmission(header, FORMAT)
    issuer = _required_element(header, "CedentePrestatore", f"{_HEADER}/")
    issuer_tax_id = fatturapa.read_tax_id(issuer, f"{_HEADER}/CedentePrestatore", FORMAT)
    issuer_name = _name(issuer)
    if issuer_name is None:
        raise missing(FORMAT, f"{_HEADER}/CedentePrestatore/Denominazione")
    customer = _required_element(header, "CessionarioCommittente", f"{_HEADER}/")
    ids = _required_element(customer, "IdentificativiFiscali", f"{_HEADER}/CessionarioCommittente/")
    customer_tax_id = fatturapa.read_tax_id(
        ids, f"{_HEADER}/CessionarioCommittente/IdentificativiFiscali", FORMAT
    )
    other = _find(customer, "AltriDatiIdentificativi")
    # A private customer is often known by the Codice Fiscale alone.
    customer_name = (_name(other) if other is not None else None) or customer_tax_id
    customer_email = _text(header, "DatiTrasmissione/PECDestinatario")

    parties = dict(
        issuer_tax_id=issuer_tax_id,
        issuer_name=issuer_name,
        customer_tax_id=customer_tax_id,
        customer_name=customer_name,
        customer_email=customer_email,
    )
    return fatturapa.read_bodies(
        root, FORMAT, KINDS, (transmitter, progressive), parties, _line_totals
    )


def _line_totals(body: etree._Element, prefix: str) -> tuple[Decimal, Decimal]:
    """(total, VAT): the sum of the lines' Importo, which include their VAT, and of
    their DatiIVA/Imposta; a line that gives only the rate has its VAT worked out."""
    total = tax = Decimal(0)
    lines = _children(body, "DatiBeniServizi")
    if not lines:
        raise missing(FORMAT, f"{prefix}DatiBeniServizi")
    line = f"{prefix}DatiBeniServizi"
    for row in lines:
        amount = parse_amount(FORMAT, f"{line}/Importo", _required(row, "Importo", f"{line}/"))
        total += amount
        vat = _text(row, "DatiIVA/Imposta")
        rate = _text(row, "DatiIVA/Aliquota")
        if vat is not None:
            tax += parse_amount(FORMAT, f"{line}/DatiIVA/Imposta", vat)
        elif rate is not None:
            percent = parse_amount(FORMAT, f"{line}/DatiIVA/Aliquota", rate)
            share = amount - amount / (1 + percent / 100)
            tax += share.quantize(Decimal("0.01"))
    return total, tax


def _name(element: etree._Element) -> str | None:
    name = _text(element, "Denominazione")
    if name is None:
        parts = [_text(element, "Nome"), _text(element, "Cognome")]
        name = " ".join(part for part in parts if part) or None
    return name


def _required(element: etree._Element, path: str, prefix: str) -> str:
    return fatturapa._required(element, path, prefix, FORMAT)


def _required_element(element: etree._Element, path: str, prefix: str = "") -> etree._Element:
    return fatturapa._required_element(element, path, prefix, FORMAT)

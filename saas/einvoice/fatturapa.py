"""Italy: FatturaPA 1.2 (FatturaElettronica, versione FPR12 or FPA12).

The root element's prefix varies between senders (p:, ns2:, none) and its children carry no
namespace, so children are matched by local name only. One file holds one header and one or
more bodies: each FatturaElettronicaBody is an invoice of its own.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from lxml import etree

from saas.einvoice.records import (
    EInvoiceError,
    InvoiceRecord,
    invalid,
    missing,
    parse_amount,
    parse_currency,
    parse_date,
    parse_tax_id,
)

FORMAT = "fatturapa-12"
NAMESPACE = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
VERSIONS = ("FPR12", "FPA12")
# TipoDocumento codes that are not invoices; every other code (TD01, TD06, ...) is one.
KINDS = {"TD04": "credit_note", "TD05": "debit_note"}

_HEADER = "FatturaElettronicaHeader"
_BODY = "FatturaElettronicaBody"
_DOCUMENT = "DatiGenerali/DatiGeneraliDocumento"


def is_fatturapa(root: etree._Element) -> bool:
    """True for a FatturaElettronica root in the FatturaPA 1.2 namespace or in none."""
    name = etree.QName(root)
    return name.localname == "FatturaElettronica" and name.namespace in (NAMESPACE, None)


def read_fatturapa(root: etree._Element) -> list[InvoiceRecord]:
    """One record per FatturaElettronicaBody, with the parties of the shared header."""
    version = (root.get("versione") or "").strip()
    if version not in VERSIONS:
        field = "FatturaElettronica/@versione"
        if not version:
            raise missing(FORMAT, field)
        raise invalid(
            FORMAT,
            field,
            version,
            f"expected {' or '.join(VERSIONS)}",
            "version",
            versions=" / ".join(VERSIONS),
        )

    header = _required_element(root, _HEADER)
    transmitter, progressive = read_transmission(header)
    issuer_tax_id, issuer_name = _party(header, "CedentePrestatore")
    customer_tax_id, customer_name = _party(header, "CessionarioCommittente")
    customer_email = _text(header, "DatiTrasmissione/PECDestinatario")

    parties = dict(
        issuer_tax_id=issuer_tax_id,
        issuer_name=issuer_name,
        customer_tax_id=customer_tax_id,
        customer_name=customer_name,
        customer_email=customer_email,
    )
    return read_bodies(root, FORMAT, KINDS, (transmitter, progressive), parties, _body_totals)


def _body_totals(body: etree._Element, prefix: str) -> tuple[Decimal, Decimal]:
    """(total, tax): ImportoTotaleDocumento when stated, else the summary's sum."""
    tax_total, taxable_total = _summary_totals(body, prefix)
    declared = _text(body, f"{_DOCUMENT}/ImportoTotaleDocumento")
    if declared is None:
        return taxable_total + tax_total, tax_total
    field = f"{prefix}{_DOCUMENT}/ImportoTotaleDocumento"
    return parse_amount(FORMAT, field, declared), tax_total


def read_bodies(
    root, format: str, kinds: dict, transmission: tuple[str, str], parties: dict, totals
) -> list[InvoiceRecord]:
    """One InvoiceRecord per FatturaElettronicaBody (of FatturaPA or the semplificata,
    `format`): its kind by `kinds`, its amounts by `totals(body, prefix)`, the parties
    of the shared header."""
    bodies = _children(root, _BODY)
    if not bodies:
        raise missing(format, _BODY)
    records: list[InvoiceRecord] = []
    for position, body in enumerate(bodies, start=1):
        # Fields of the second body onwards are named FatturaElettronicaBody[2]/... in errors.
        prefix = f"{_BODY}[{position}]/" if len(bodies) > 1 else f"{_BODY}/"
        document = f"{prefix}{_DOCUMENT}"
        code = _required(body, f"{_DOCUMENT}/TipoDocumento", prefix, format)
        divisa = _required(body, f"{_DOCUMENT}/Divisa", prefix, format)
        currency = parse_currency(format, f"{document}/Divisa", divisa)
        data = _required(body, f"{_DOCUMENT}/Data", prefix, format)
        issue_date = parse_date(format, f"{document}/Data", data)
        number = _required(body, f"{_DOCUMENT}/Numero", prefix, format)
        total, tax_total = totals(body, prefix)
        transmitter, progressive = transmission
        national_id = build_national_id(transmitter, progressive, number, issue_date)
        if any(record.national_id == national_id for record in records):
            raise invalid(
                format,
                f"{document}/Numero",
                number,
                "an earlier body of the same file has the same number and date",
                "duplicate_body",
            )
        records.append(
            InvoiceRecord(
                format=format,
                country="IT",
                kind=kinds.get(code, "invoice"),
                number=number,
                issue_date=issue_date,
                currency=currency,
                total=total,
                tax_total=tax_total,
                national_id=national_id,
                **parties,
            )
        )
    return records


def build_national_id(
    transmitter: str, progressive: str, number: str, issue_date: datetime.date
) -> str:
    """The portal's stable id of one FatturaPA invoice.

    FatturaPA carries no national id inside the document: the SdI assigns its identifier
    only on delivery, outside the XML. The portal therefore builds one from what the file
    says and the same file always gives:

        "IT-" + IdTrasmittente (IdPaese + IdCodice) + "-" + ProgressivoInvio
              + "-" + Numero + "-" + Data (YYYY-MM-DD)

    e.g. "IT-IT01234567890-679a2f25-SAMPLE-001-2023-03-02". The transmitter and its
    progressive number identify the file; number and date tell its bodies apart (a file
    whose bodies repeat a number and date is refused).
    """
    return f"IT-{transmitter}-{progressive}-{number}-{issue_date.isoformat()}"


def read_transmission(header: etree._Element, format: str = FORMAT) -> tuple[str, str]:
    """The transmitter (IdPaese + IdCodice of IdTrasmittente) and its ProgressivoInvio."""
    transmission, prefix = "DatiTrasmissione", f"{_HEADER}/"
    country = _required(header, f"{transmission}/IdTrasmittente/IdPaese", prefix, format)
    code = _required(header, f"{transmission}/IdTrasmittente/IdCodice", prefix, format)
    progressive = _required(header, f"{transmission}/ProgressivoInvio", prefix, format)
    return f"{country.upper()}{code}", progressive


def _party(header: etree._Element, role: str) -> tuple[str, str]:
    """Tax id (read_tax_id) and name of CedentePrestatore (issuer) or
    CessionarioCommittente (customer): Denominazione, or Nome and Cognome."""
    base = f"{_HEADER}/{role}/DatiAnagrafici"
    details = _required_element(header, f"{role}/DatiAnagrafici", f"{_HEADER}/")
    tax_id = read_tax_id(details, base)

    name = _text(details, "Anagrafica/Denominazione")
    if name is None:
        given_and_family = [_text(details, "Anagrafica/Nome"), _text(details, "Anagrafica/Cognome")]
        name = " ".join(part for part in given_and_family if part) or None
    if name is None:
        raise missing(FORMAT, f"{base}/Anagrafica/Denominazione")
    return tax_id, name


def read_tax_id(element: etree._Element, base: str, format: str = FORMAT) -> str:
    """The tax id under `element` (named `base` in errors): IdFiscaleIVA/IdCodice, as a
    Partita IVA when IdPaese is IT; a foreign VAT id is kept as IdPaese + IdCodice (not
    validated). Without IdFiscaleIVA it is the CodiceFiscale (a private person)."""
    vat_country = (_text(element, "IdFiscaleIVA/IdPaese") or "IT").upper()
    vat_code = _text(element, "IdFiscaleIVA/IdCodice")
    fiscal_code = _text(element, "CodiceFiscale")
    if vat_code and vat_country == "IT":
        return parse_tax_id(format, f"{base}/IdFiscaleIVA/IdCodice", "IT", vat_code)
    if vat_code:
        code = vat_code.upper().replace(" ", "")
        return code if code.startswith(vat_country) else f"{vat_country}{code}"
    if fiscal_code:
        return parse_tax_id(format, f"{base}/CodiceFiscale", "IT", fiscal_code)
    raise EInvoiceError(
        f"missing field {base}/IdFiscaleIVA/IdCodice (or {base}/CodiceFiscale)",
        format=format,
        field=f"{base}/IdFiscaleIVA/IdCodice",
        code="missing_tax_id",
        params={"other": f"{base}/CodiceFiscale"},
    )


def _summary_totals(body: etree._Element, prefix: str) -> tuple[Decimal, Decimal]:
    """Sums of DatiRiepilogo/Imposta (the tax total) and DatiRiepilogo/ImponibileImporto."""
    tax_total = Decimal(0)
    taxable_total = Decimal(0)
    summary = f"{prefix}DatiBeniServizi/DatiRiepilogo"
    for goods in _children(body, "DatiBeniServizi"):
        for row in _children(goods, "DatiRiepilogo"):
            tax_total += parse_amount(FORMAT, f"{summary}/Imposta", _text(row, "Imposta") or "")
            taxable_total += parse_amount(
                FORMAT, f"{summary}/ImponibileImporto", _text(row, "ImponibileImporto") or ""
            )
    return tax_total, taxable_total


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    """Child elements with local name ``name``, whatever their namespace."""
    return [
        child
        for child in element
        if isinstance(child.tag, str) and etree.QName(child).localname == name
    ]


def _find(element: etree._Element, path: str) -> etree._Element | None:
    """The first element along a "/"-separated path of local names, or None."""
    for name in path.split("/"):
        matches = _children(element, name)
        if not matches:
            return None
        element = matches[0]
    return element


def _text(element: etree._Element, path: str) -> str | None:
    """Stripped text at ``path``; None when the element is absent or empty."""
    found = _find(element, path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _required(element: etree._Element, path: str, prefix: str, format: str = FORMAT) -> str:
    """Text at ``path``; a missing-field error names it as ``prefix + path``."""
    value = _text(element, path)
    if value is None:
        raise missing(format, f"{prefix}{path}")
    return value


def _required_element(
    element: etree._Element, path: str, prefix: str = "", format: str = FORMAT
) -> etree._Element:
    found = _find(element, path)
    if found is None:
        raise missing(format, f"{prefix}{path}")
    return found

"""The reading view of one body of a FatturaPA 1.2 or FatturaPA semplificata file."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal

from lxml import etree

import saas.einvoice.fatturapa as fatturapa
from saas.einvoice import semplificata
from saas.einvoice.document import (
    Attachment,
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
from saas.einvoice.fatturapa import FORMAT, KINDS, _children, build_national_id

_MEDIA_TYPES = {
    "PDF": "application/pdf",
    "XML": "application/xml",
    "TXT": "text/plain",
    "PNG": "image/png",
    "JPG": "image/jpeg",
    "JPEG": "image/jpeg",
    "ZIP": "application/zip",
}


def read(root: etree._Element, national_id: str) -> Document:
    simple = semplificata.is_semplificata(root)
    header = _find(root, "FatturaElettronicaHeader")
    transmitter = (_text(header, "DatiTrasmissione/IdTrasmittente/IdPaese") or "").upper()
    transmitter += _text(header, "DatiTrasmissione/IdTrasmittente/IdCodice") or ""
    progressive = _text(header, "DatiTrasmissione/ProgressivoInvio") or ""
    bodies = _children(root, "FatturaElettronicaBody")
    body = bodies[0]
    for candidate in bodies:  # the body this invoice is, among the file's
        number = _text(candidate, "DatiGenerali/DatiGeneraliDocumento/Numero") or ""
        day = date(_text(candidate, "DatiGenerali/DatiGeneraliDocumento/Data"))
        if day and build_national_id(transmitter, progressive, number, day) == national_id:
            body = candidate
            break
    general = _find(body, "DatiGenerali/DatiGeneraliDocumento")
    kind_code = _text(general, "TipoDocumento") or ""
    kind = (semplificata.KINDS if simple else KINDS).get(kind_code, "invoice")
    if simple:
        issuer = _party(_find(header, "CedentePrestatore"), "", "Sede")
        customer = _party(_find(header, "CessionarioCommittente"), "IdentificativiFiscali/", "")
        other = _find(header, "CessionarioCommittente/AltriDatiIdentificativi")
        if other is not None:
            customer.name = _name(other) or customer.name
            customer.address = _address(_find(other, "Sede"))
        customer.name = customer.name or customer.tax_id
        lines, taxes = _simple_lines(body)
    else:
        issuer = _party(_find(header, "CedentePrestatore"), "DatiAnagrafici/", "Sede")
        customer = _party(_find(header, "CessionarioCommittente"), "DatiAnagrafici/", "Sede")
        lines = [_line(row) for row in _all(body, "DatiBeniServizi/DettaglioLinee")]
        taxes = _summary(body)
    customer.email = _text(header, "DatiTrasmissione/PECDestinatario")
    withheld = [
        TaxRow(
            name=_text(row, "TipoRitenuta") or "RT",
            rate=amount(_text(row, "AliquotaRitenuta")),
            base=None,
            amount=amount(_text(row, "ImportoRitenuta")) or Decimal(0),
            withheld=True,
        )
        for row in _all(general, "DatiRitenuta")
    ]
    tax_total = sum((t.amount for t in taxes), Decimal(0))
    base = sum((t.base or Decimal(0) for t in taxes), Decimal(0))
    declared = amount(_text(general, "ImportoTotaleDocumento"))
    payments = _all(body, "DatiPagamento")
    dues = [
        date(_text(d, "DataScadenzaPagamento"))
        for p in payments
        for d in _all(p, "DettaglioPagamento")
    ]
    return Document(
        format=semplificata.FORMAT if simple else FORMAT,
        kind=kind,
        number=_text(general, "Numero") or "",
        issue_date=date(_text(general, "Data")),
        currency=_text(general, "Divisa") or "EUR",
        issuer=issuer,
        customer=customer,
        national_id=national_id,
        lines=lines,
        taxes=[*taxes, *withheld],
        subtotal=None if simple else base,
        tax_total=tax_total,
        withheld_total=sum((t.amount for t in withheld), Decimal(0)) or None,
        total=declared
        if declared is not None
        else (
            sum((ln.total or Decimal(0) for ln in lines), Decimal(0))
            if simple
            else base + tax_total
        ),
        due_date=next((d for d in dues if d), None),
        payment_terms=_payment_terms(payments),
        notes=[n for n in (clean(e.text) for e in _children(general, "Causale")) if n],
        references=[
            Reference(
                number=_text(ref, "IdDocumento"), national_id=None, date=date(_text(ref, "Data"))
            )
            for ref in _all(body, "DatiGenerali/DatiFattureCollegate")
        ]
        + [
            Reference(
                number=_text(ref, "NumeroFR"), national_id=None, date=date(_text(ref, "DataFR"))
            )
            for ref in _all(body, "DatiGenerali/DatiFatturaRettificata")
        ],
        attachments=[a for a in (_attachment(e) for e in _children(body, "Allegati")) if a],
    )


def _party(element: etree._Element | None, ids: str, seat: str) -> Party:
    if element is None:
        return Party(name="", tax_id="")
    country = _text(element, f"{ids}IdFiscaleIVA/IdPaese") or "IT"
    vat = _text(element, f"{ids}IdFiscaleIVA/IdCodice")
    tax_id = (vat if country == "IT" else f"{country}{vat}") if vat else None
    tax_id = tax_id or _text(element, f"{ids}CodiceFiscale") or ""
    holder = _find(element, f"{ids}Anagrafica") if ids == "DatiAnagrafici/" else element
    return Party(
        name=(_name(holder) if holder is not None else None) or "",
        tax_id=tax_id,
        address=_address(_find(element, seat)) if seat else [],
    )


def _name(element: etree._Element) -> str | None:
    return _text(element, "Denominazione") or joined(
        _text(element, "Nome"), _text(element, "Cognome")
    )


def _address(seat: etree._Element | None) -> list[str]:
    if seat is None:
        return []
    street = joined(_text(seat, "Indirizzo"), _text(seat, "NumeroCivico"), sep=", ")
    town = joined(
        _text(seat, "CAP"),
        _text(seat, "Comune"),
        f"({_text(seat, 'Provincia')})" if _text(seat, "Provincia") else None,
    )
    return [x for x in (street, town, _text(seat, "Nazione")) if x]


def _line(row: etree._Element) -> Line:
    price = amount(_text(row, "PrezzoUnitario"))
    quantity = amount(_text(row, "Quantita"))
    total = amount(_text(row, "PrezzoTotale"))
    gross = (price * (quantity if quantity is not None else 1)) if price is not None else None
    # ScontoMaggiorazione: SC a discount, MG a surcharge; what is off the line is the
    # difference between price times quantity and the line's total.
    has_discount = any(_text(d, "Tipo") == "SC" for d in _children(row, "ScontoMaggiorazione"))
    discount = (gross - total) if has_discount and gross is not None and total is not None else None
    return Line(
        description=_text(row, "Descrizione") or "",
        quantity=quantity,
        unit=_text(row, "UnitaMisura"),
        unit_price=price,
        discount=discount if discount else None,
        tax_rate=amount(_text(row, "AliquotaIVA")),
        tax_note=_text(row, "Natura"),
        total=total,
        withholdings=["RT"] if _text(row, "Ritenuta") == "SI" else [],
    )


def _summary(body: etree._Element) -> list[TaxRow]:
    return [
        TaxRow(
            name=_text(row, "Natura") or "IVA",
            rate=amount(_text(row, "AliquotaIVA")),
            base=amount(_text(row, "ImponibileImporto")),
            amount=amount(_text(row, "Imposta")) or Decimal(0),
        )
        for row in _all(body, "DatiBeniServizi/DatiRiepilogo")
    ]


def _simple_lines(body: etree._Element) -> tuple[list[Line], list[TaxRow]]:
    """Semplificata lines carry VAT-inclusive amounts; the summary is built per rate."""
    lines: list[Line] = []
    by_rate: dict[tuple[Decimal | None, str | None], tuple[Decimal, Decimal]] = {}
    for row in _children(body, "DatiBeniServizi"):
        total = amount(_text(row, "Importo")) or Decimal(0)
        rate = amount(_text(row, "DatiIVA/Aliquota"))
        vat = amount(_text(row, "DatiIVA/Imposta"))
        if vat is None and rate is not None:
            vat = (total - total / (1 + rate / 100)).quantize(Decimal("0.01"))
        lines.append(
            Line(
                description=_text(row, "Descrizione") or "",
                tax_rate=rate,
                tax_note=_text(row, "Natura"),
                total=total,
            )
        )
        key = (rate, _text(row, "Natura"))
        base, tax = by_rate.get(key, (Decimal(0), Decimal(0)))
        by_rate[key] = (base + total - (vat or 0), tax + (vat or 0))
    taxes = [
        TaxRow(name=note or "IVA", rate=rate, base=base, amount=tax)
        for (rate, note), (base, tax) in by_rate.items()
    ]
    return lines, taxes


def _payment_terms(payments: list[etree._Element]) -> list[str]:
    terms = []
    for payment in payments:
        condition = _text(
            payment, "CondizioniPagamento"
        )  # TP01 instalments, TP02 whole, TP03 advance
        if condition:
            terms.append(condition)
        for detail in _all(payment, "DettaglioPagamento"):
            method = _text(detail, "ModalitaPagamento")  # MP05 bank transfer, ...
            if method:
                terms.append(method)
            iban = _text(detail, "IBAN")
            if iban:
                terms.append(f"IBAN {iban}")
    return terms


def _attachment(element: etree._Element) -> Attachment | None:
    name = _text(element, "NomeAttachment")
    content = _find(element, "Attachment")
    raw = "".join((content.text or "").split()) if content is not None else ""
    if not name or not raw:
        return None
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    kind = (_text(element, "FormatoAttachment") or name.rpartition(".")[2]).upper()
    return Attachment(
        name=name,
        media_type=_MEDIA_TYPES.get(kind, "application/octet-stream"),
        description=_text(element, "DescrizioneAttachment"),
        data=data,
    )


def _find(element: etree._Element | None, path: str) -> etree._Element | None:
    """fatturapa's path by local names, for an element that may be missing."""
    return fatturapa._find(element, path) if element is not None else None


def _all(element: etree._Element | None, path: str) -> list[etree._Element]:
    """Every element along `path`, under every parent of each step's name (a body may
    hold several DatiBeniServizi, each with its lines)."""
    found = [element] if element is not None else []
    for name in path.split("/"):
        found = [child for parent in found for child in _children(parent, name)]
    return found


def _text(element: etree._Element | None, path: str) -> str | None:
    found = _find(element, path)
    return clean(found.text) if found is not None else None

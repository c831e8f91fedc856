"""The reading view of a stamped CFDI 4.0."""

from __future__ import annotations

from urllib.parse import urlencode

from lxml import etree

from saas.einvoice.cfdi import FORMAT, KINDS, NS
from saas.einvoice.document import Document, Line, Party, Reference, TaxRow, amount, clean, date

# SAT's page that checks a CFDI; the printed CFDI's QR code holds this URL with the
# UUID, both RFCs, the total and the last 8 characters of the issuer's seal (Anexo 20).
VERIFY_URL = "https://verificacfdi.facturaelectronica.sat.gob.mx/default.aspx"
TAXES = {"001": "ISR", "002": "IVA", "003": "IEPS"}


def read(root: etree._Element, national_id: str) -> Document:
    issuer, customer = root.find("cfdi:Emisor", NS), root.find("cfdi:Receptor", NS)
    taxes = root.find("cfdi:Impuestos", NS)
    rows = []
    if taxes is not None:
        rows += [_tax(t, False) for t in taxes.findall("cfdi:Traslados/cfdi:Traslado", NS)]
        rows += [_tax(t, True) for t in taxes.findall("cfdi:Retenciones/cfdi:Retencion", NS)]
    total = amount(_get(root, "Total"))
    seal = _get(root, "Sello") or ""
    query = {
        "id": national_id,
        "re": _get(issuer, "Rfc") or "",
        "rr": _get(customer, "Rfc") or "",
        "tt": _get(root, "Total") or "",
        "fe": seal[-8:],
    }
    url = f"{VERIFY_URL}?{urlencode(query)}"
    payment = [
        f"{name}:{value}"
        for name, value in (
            ("method", _get(root, "MetodoPago")),  # PUE at once, PPD in instalments
            ("form", _get(root, "FormaPago")),  # 01 cash, 03 transfer, 99 to be defined
        )
        if value
    ]
    if _get(root, "CondicionesDePago"):
        payment.append(_get(root, "CondicionesDePago") or "")
    number = "".join(p for p in (_get(root, "Serie"), _get(root, "Folio")) if p)
    return Document(
        format=FORMAT,
        kind=KINDS.get(_get(root, "TipoDeComprobante") or "", "invoice"),
        number=number or national_id,
        issue_date=date(_get(root, "Fecha")),
        currency=(_get(root, "Moneda") or "").upper(),
        issuer=_party(issuer),
        customer=_party(customer),
        national_id=national_id,
        lines=[_line(c) for c in root.findall("cfdi:Conceptos/cfdi:Concepto", NS)],
        taxes=[r for r in rows if r is not None],
        subtotal=amount(_get(root, "SubTotal")),
        discount_total=amount(_get(root, "Descuento")),
        tax_total=amount(_get(taxes, "TotalImpuestosTrasladados")),
        withheld_total=amount(_get(taxes, "TotalImpuestosRetenidos")),
        total=total,
        payment_terms=payment,
        references=[
            Reference(number=None, national_id=(_get(r, "UUID") or "").upper() or None, date=None)
            for r in root.findall("cfdi:CfdiRelacionados/cfdi:CfdiRelacionado", NS)
        ],
        verify_url=url,
        qr_text=url,
    )


def _party(element: etree._Element | None) -> Party:
    if element is None:
        return Party(name="", tax_id="")
    # A CFDI 4.0 gives the customer's fiscal postal code, not a street address.
    postal = _get(element, "DomicilioFiscalReceptor")
    return Party(
        name=_get(element, "Nombre") or "",
        tax_id=(_get(element, "Rfc") or "").upper(),
        address=[f"C.P. {postal}"] if postal else [],
    )


def _line(concept: etree._Element) -> Line:
    transfers = concept.findall("cfdi:Impuestos/cfdi:Traslados/cfdi:Traslado", NS)
    rate = next((amount(_get(t, "TasaOCuota")) for t in transfers if _get(t, "TasaOCuota")), None)
    held = [
        f"{TAXES.get(_get(r, 'Impuesto') or '', _get(r, 'Impuesto'))} "
        f"{_rate_text(_get(r, 'TasaOCuota'))}".strip()
        for r in concept.findall("cfdi:Impuestos/cfdi:Retenciones/cfdi:Retencion", NS)
    ]
    exempt = next((t for t in transfers if _get(t, "TipoFactor") == "Exento"), None)
    return Line(
        description=_get(concept, "Descripcion") or "",
        quantity=amount(_get(concept, "Cantidad")),
        unit=_get(concept, "Unidad") or _get(concept, "ClaveUnidad"),
        unit_price=amount(_get(concept, "ValorUnitario")),
        discount=amount(_get(concept, "Descuento")),
        tax_rate=rate * 100 if rate is not None else None,  # TasaOCuota is a fraction
        tax_note="Exento" if exempt is not None else None,
        total=amount(_get(concept, "Importe")),
        withholdings=held,
    )


def _tax(element: etree._Element, withheld: bool) -> TaxRow | None:
    value = amount(_get(element, "Importe"))
    if value is None:
        return None
    code = _get(element, "Impuesto") or ""
    rate = amount(_get(element, "TasaOCuota"))
    return TaxRow(
        name=TAXES.get(code, code),
        rate=rate * 100 if rate is not None else None,
        base=amount(_get(element, "Base")),
        amount=value,
        withheld=withheld,
    )


def _rate_text(text: str | None) -> str:
    rate = amount(text)
    return f"{(rate * 100).normalize():f}%" if rate is not None else ""


def _get(element: etree._Element | None, name: str) -> str | None:
    if element is None:
        return None
    return clean(element.get(name))

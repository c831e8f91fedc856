"""Mexico: CFDI 4.0 (cfdi:Comprobante), stamped with a TimbreFiscalDigital.

Values are attributes and senders leave spaces around them, so every value is trimmed.
A CFDI becomes a fiscal document only once a PAC stamps it: without the
tfd:TimbreFiscalDigital (and its UUID, the national id) it is refused.
"""

from __future__ import annotations

import re
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

FORMAT = "cfdi-40"
NS = {
    "cfdi": "http://www.sat.gob.mx/cfd/4",
    "tfd": "http://www.sat.gob.mx/TimbreFiscalDigital",
}
COMPROBANTE = f"{{{NS['cfdi']}}}Comprobante"
# CFDI 3.3 and 3.2 (the namespace before 4.0): still sent, no longer issued since 2023.
COMPROBANTE_3 = "{http://www.sat.gob.mx/cfd/3}Comprobante"
# TipoDeComprobante: I = ingreso (invoice), E = egreso (credit note) are published.
KINDS = {"I": "invoice", "E": "credit_note"}
# The other types, each refused with its own reason: P (pago, a payment receipt: the
# next to be read, as a record of its own kind), N (nómina, payroll: an employer's
# document, never an issuer's customer's), T (traslado: goods moved, nothing billed).
NOT_PUBLISHED = {
    "P": ("cfdi_payment", "a payment receipt (pago)"),
    "N": ("cfdi_payroll", "a payroll receipt (nómina)"),
    "T": ("cfdi_transfer", "a transfer voucher (traslado)"),
}
# The versions before 4.0, as the error names them.
OLD_VERSIONS = {"3.3": "cfdi-33", "3.2": "cfdi-32"}

_STAMP = "cfdi:Complemento/tfd:TimbreFiscalDigital"
_UUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
_FECHA = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T[0-9]{2}:[0-9]{2}:[0-9]{2}")


def read_cfdi(root: etree._Element) -> InvoiceRecord:
    """Read a stamped CFDI 4.0 Comprobante of type I or E."""
    kind_code = _required(root, "cfdi:Comprobante", "TipoDeComprobante")
    if kind_code in NOT_PUBLISHED:
        code, what = NOT_PUBLISHED[kind_code]
        raise EInvoiceError(
            f"TipoDeComprobante {kind_code!r} is {what}, not an invoice: it is not published",
            format=FORMAT,
            field="cfdi:Comprobante/@TipoDeComprobante",
            code=code,
            params={"kind": kind_code},
        )
    if kind_code not in KINDS:
        raise invalid(
            FORMAT,
            "cfdi:Comprobante/@TipoDeComprobante",
            kind_code,
            "only I (ingreso, an invoice) and E (egreso, a credit note) are accepted",
            "cfdi_kind",
        )
    fecha = _required(root, "cfdi:Comprobante", "Fecha")
    fecha_match = _FECHA.fullmatch(fecha)
    if not fecha_match:
        raise invalid(
            FORMAT, "cfdi:Comprobante/@Fecha", fecha, "expected YYYY-MM-DDThh:mm:ss", "datetime"
        )
    issue_date = parse_date(FORMAT, "cfdi:Comprobante/@Fecha", fecha_match.group(1))
    currency = parse_currency(
        FORMAT, "cfdi:Comprobante/@Moneda", _required(root, "cfdi:Comprobante", "Moneda")
    )
    total = parse_amount(
        FORMAT, "cfdi:Comprobante/@Total", _required(root, "cfdi:Comprobante", "Total")
    )
    taxes = root.find("cfdi:Impuestos", NS)  # the document's taxes, not a line's
    transferred = _attribute(taxes, "TotalImpuestosTrasladados") if taxes is not None else None
    tax_total = (
        parse_amount(FORMAT, "cfdi:Impuestos/@TotalImpuestosTrasladados", transferred)
        if transferred is not None
        else Decimal(0)
    )
    national_id = _stamp_uuid(root)
    issuer_tax_id, issuer_name = _party(root, "cfdi:Emisor")
    customer_tax_id, customer_name = _party(root, "cfdi:Receptor")

    # Serie and Folio are both optional; without either, the UUID is the only number there is.
    series_and_folio = (_attribute(root, "Serie"), _attribute(root, "Folio"))
    number = "".join(part for part in series_and_folio if part)
    return InvoiceRecord(
        format=FORMAT,
        country="MX",
        kind=KINDS[kind_code],
        number=number or national_id,
        issue_date=issue_date,
        currency=currency,
        total=total,
        tax_total=tax_total,
        national_id=national_id,
        issuer_tax_id=issuer_tax_id,
        issuer_name=issuer_name,
        customer_tax_id=customer_tax_id,
        customer_name=customer_name,
        customer_email=None,  # a CFDI carries no e-mail address for the customer
    )


def _stamp_uuid(root: etree._Element) -> str:
    """The upper-cased UUID of the tfd:TimbreFiscalDigital in cfdi:Complemento."""
    stamp = root.find(_STAMP, NS)
    if stamp is None:
        raise missing(FORMAT, _STAMP)
    uuid = _required(stamp, _STAMP, "UUID").upper()
    if not _UUID.fullmatch(uuid):
        raise invalid(FORMAT, f"{_STAMP}/@UUID", uuid, "expected a UUID", "uuid")
    return uuid


def _party(root: etree._Element, path: str) -> tuple[str, str]:
    """Normalised RFC and name of cfdi:Emisor or cfdi:Receptor."""
    party = root.find(path, NS)
    if party is None:
        raise missing(FORMAT, path)
    rfc = parse_tax_id(FORMAT, f"{path}/@Rfc", "MX", _required(party, path, "Rfc"))
    return rfc, _required(party, path, "Nombre")


def _attribute(element: etree._Element, name: str) -> str | None:
    """Trimmed attribute value; None when absent or blank."""
    value = element.get(name)
    if value is None:
        return None
    return value.strip() or None


def _required(element: etree._Element, path: str, name: str) -> str:
    """Trimmed attribute ``name`` of ``element``; errors name it as ``path/@name``."""
    value = _attribute(element, name)
    if value is None:
        raise missing(FORMAT, f"{path}/@{name}")
    return value


def refuse_old_version(root: etree._Element) -> EInvoiceError:
    """The error for a CFDI 3.3 or 3.2 (or another of the cfd/3 namespace), named so."""
    version = (root.get("Version") or root.get("version") or "").strip()
    return EInvoiceError(
        "this version is no longer issued (CFDI 4.0 is, since 2023) and is not published",
        format=OLD_VERSIONS.get(version, "cfdi-3"),
        code="old_version",
        params={"current": "4.0"},
    )

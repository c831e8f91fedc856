"""E-invoice reader: turns an uploaded file into normalised InvoiceRecords.

Formats (docs/architecture.md, "E-invoices"): Colombia DIAN UBL 2.1 (Invoice, CreditNote,
DebitNote, bare or in an AttachedDocument), Italy FatturaPA 1.2 and FatturaPA
semplificata 1.0 (also signed as .p7m, DER or base64) and Mexico CFDI 4.0 (stamped; older
versions and the types that are not invoices are refused with their own reason). The
format is detected from the content; the file name only helps the error message. Parsing
never resolves entities, never fetches anything and is bounded in size, depth and
element count, the parser itself stopping at the limits (see saas.einvoice.xml).
"""

from __future__ import annotations

from lxml import etree

from saas.einvoice import cfdi, fatturapa, semplificata, ubl
from saas.einvoice.detect import ZIP_MAGIC, root_of
from saas.einvoice.records import EInvoiceError, InvoiceRecord
from saas.einvoice.xml import MAX_BYTES

__all__ = ["MAX_BYTES", "ZIP_MAGIC", "EInvoiceError", "InvoiceRecord", "read_invoices", "root_of"]


def read_invoices(data: bytes, filename: str = "") -> list[InvoiceRecord]:
    """Detect the format and return one record per invoice in the file (FatturaPA may hold several).

    Raises EInvoiceError, naming the format and the field when known, for anything that is
    not a complete e-invoice of a supported format.
    """
    root = root_of(data, filename)

    if root.tag in ubl.DOCUMENT_KINDS:
        return [ubl.read_document(root)]
    if root.tag == ubl.ATTACHED_DOCUMENT:
        return [ubl.read_attached_document(root)]
    if fatturapa.is_fatturapa(root):
        return fatturapa.read_fatturapa(root)
    if semplificata.is_semplificata(root):
        return semplificata.read_semplificata(root)
    if root.tag == cfdi.COMPROBANTE:
        return [cfdi.read_cfdi(root)]
    if root.tag == cfdi.COMPROBANTE_3:
        raise cfdi.refuse_old_version(root)
    name = etree.QName(root)
    # Names come from the upload: cut to a sensible length before echoing them back.
    where = f" in namespace {name.namespace[:100]}" if name.namespace else ""
    raise EInvoiceError(
        f"the root element {name.localname[:100]}{where} is not a DIAN UBL 2.1, FatturaPA 1.2, "
        "FatturaPA semplificata or CFDI 4.0 document",
        code="unknown_root",
        params={"root": name.localname[:100]},
    )

"""Which reading view a stored invoice file gets, by its format."""

from __future__ import annotations

from saas.einvoice import (
    cfdi,
    document_cfdi,
    document_fatturapa,
    document_ubl,
    fatturapa,
    semplificata,
    ubl,
)
from saas.einvoice.document import Document


def read_document(data: bytes, national_id: str) -> Document:
    """The document of the stored file `data` whose national id is `national_id` (a
    FatturaPA file may hold several invoices). The file was read when published: any
    error now is the caller's to report as unreadable."""
    from saas.einvoice import (
        root_of,
    )

    root = root_of(data)
    if root.tag in ubl.DOCUMENT_KINDS:
        return document_ubl.read(root, national_id)
    if root.tag == ubl.ATTACHED_DOCUMENT:
        return document_ubl.read(ubl.attached_invoice(root), national_id)
    if fatturapa.is_fatturapa(root) or semplificata.is_semplificata(root):
        return document_fatturapa.read(root, national_id)
    if root.tag == cfdi.COMPROBANTE:
        return document_cfdi.read(root, national_id)
    raise ValueError("not a document the portal publishes")

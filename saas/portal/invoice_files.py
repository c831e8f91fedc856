"""An invoice's files in storage: written before its row, removed again when the row
is refused. Single publishing and batch publishing both go through these two."""

from __future__ import annotations

import logging
import uuid

from saas.storage import StorageUnavailable, get_storage, tenant_key

log = logging.getLogger(__name__)


def store_files(tenant, xml: bytes, pdf: bytes | None, stored: list[str]):
    """Files first, under keys we make (appended to `stored`, so that a refused write
    removes them again): (xml_key, pdf_key or None)."""
    folder = uuid.uuid4().hex
    storage = get_storage()
    xml_key = tenant_key(tenant.id, "invoices", folder, "invoice.xml")
    storage.put(xml_key, xml, "application/xml")
    stored.append(xml_key)
    pdf_key = None
    if pdf is not None:
        pdf_key = tenant_key(tenant.id, "invoices", folder, "invoice.pdf")
        storage.put(pdf_key, pdf, "application/pdf")
        stored.append(pdf_key)
    return xml_key, pdf_key


def remove_files(keys: list[str]) -> None:
    """Best effort: when storage went away between two writes, what was written stays
    (logged with its key) and the refusal that called this is what the user sees."""
    for key in keys:
        try:
            get_storage().delete(key)
        except StorageUnavailable:
            log.error("storage unavailable: %s stays without its invoice", key)

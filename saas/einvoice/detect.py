"""From an uploaded file's bytes to its XML root: size, zip and .p7m checked first."""

from __future__ import annotations

from lxml import etree

from saas.einvoice.p7m import is_signed_envelope, unwrap_signed
from saas.einvoice.records import EInvoiceError
from saas.einvoice.xml import check_size, looks_like_xml, parse_xml

ZIP_MAGIC = b"PK\x03\x04"


def root_of(data: bytes, filename: str = "") -> etree._Element:
    """The XML root of an uploaded file (a signed .p7m unwrapped first), parsed with the
    hardened parser; EInvoiceError for what is no XML document at all."""
    data = bytes(data)
    check_size(data)
    if data.startswith(ZIP_MAGIC):
        raise EInvoiceError(
            "the file is a zip: send it to the batch upload (POST .../invoices/batch, "
            "or Bulk upload in the console), which publishes every invoice in it",
            code="zip",
        )
    if not looks_like_xml(data):
        if not is_signed_envelope(data):
            if filename.lower().endswith(".p7m"):
                raise EInvoiceError(
                    "the .p7m file is not a readable signed (CAdES) envelope", code="p7m_unreadable"
                )
            raise EInvoiceError(
                "the file is neither XML nor a signed .p7m envelope", code="not_xml_or_p7m"
            )
        data = unwrap_signed(data)
    return parse_xml(data)

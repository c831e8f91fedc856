"""Unwrap signed ".p7m" files (CAdES / PKCS#7 SignedData) to the document they carry.

Italian invoices are often exchanged signed, as DER or as base64 text (sometimes with PEM
armour). The envelope is recognised by its content, not by the file name. The signature is
not verified here: the portal records what the issuer uploads, and the envelope is only
opened to read the invoice inside.
"""

from __future__ import annotations

import base64
import binascii
import re

from asn1crypto import cms

from saas.einvoice.records import EInvoiceError
from saas.einvoice.xml import looks_like_xml

# DER of the object identifier 1.2.840.113549.1.7.2 (signedData), which follows the outer
# SEQUENCE header at the start of every CMS SignedData ContentInfo.
_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
_PEM_ARMOUR = re.compile(rb"-----(BEGIN|END) [A-Z0-9 ]+-----")
# An envelope may itself be signed again ("countersigned" p7m of a p7m); a few levels at most.
MAX_NESTING = 3


def is_signed_envelope(data: bytes) -> bool:
    """True when the bytes are a CMS SignedData envelope, in DER or base64."""
    return _as_der(data) is not None


def unwrap_signed(data: bytes) -> bytes:
    """The document inside a signed envelope (nested envelopes are opened too).

    Raises EInvoiceError when the bytes are not an envelope, carry no document (a detached
    signature) or cannot be decoded.
    """
    der = _as_der(data)
    if der is None:
        raise EInvoiceError(
            "the file is neither XML nor a signed .p7m envelope", code="not_xml_or_p7m"
        )
    for _ in range(MAX_NESTING):
        data = _encapsulated_content(der)
        if looks_like_xml(data):
            return data
        der = _as_der(data)
        if der is None:
            return data  # not XML: the XML parser will say so
    raise EInvoiceError(
        f"the signed .p7m envelope is nested more than {MAX_NESTING} times",
        code="p7m_nested",
        params={"n": MAX_NESTING},
    )


def _as_der(data: bytes) -> bytes | None:
    """The DER (or BER) bytes of a SignedData envelope given as binary or base64, else None."""
    if _starts_signed_data(data):
        return data
    if looks_like_xml(data):
        return None
    text = _PEM_ARMOUR.sub(b"", data)
    try:
        decoded = base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if _starts_signed_data(decoded) else None


def _starts_signed_data(data: bytes) -> bool:
    # A SEQUENCE (0x30) whose header (at most 6 bytes) is followed by the signedData OID.
    return data[:1] == b"\x30" and _SIGNED_DATA_OID in data[:16]


def _encapsulated_content(der: bytes) -> bytes:
    """The eContent of a SignedData envelope."""
    try:
        content_info = cms.ContentInfo.load(der)
        if content_info["content_type"].native != "signed_data":
            raise EInvoiceError("the .p7m envelope is not CMS SignedData", code="p7m_unreadable")
        encapsulated = content_info["content"]["encap_content_info"]["content"]
        payload = encapsulated.native if encapsulated is not None else None
    except EInvoiceError:
        raise
    except Exception as exc:
        # asn1crypto decodes lazily and hostile input can fail in many ways (ValueError,
        # TypeError, RecursionError on absurd nesting...): all mean "unreadable envelope".
        raise EInvoiceError(
            "the signed .p7m envelope could not be decoded", code="p7m_unreadable"
        ) from exc
    if not payload:
        raise EInvoiceError(
            "the signed .p7m envelope carries no document (the signature is detached)",
            code="p7m_detached",
        )
    if not isinstance(payload, bytes):
        raise EInvoiceError(
            "the signed .p7m envelope does not carry a plain document", code="p7m_unreadable"
        )
    return payload

"""Hardened XML parsing for uploaded e-invoices.

Uploaded files are hostile until proven otherwise. Before lxml sees a byte the file must be
at most MAX_BYTES, must start like XML, must declare (if anything) an encoding from a short
list, and must not contain a DOCTYPE anywhere: without a DOCTYPE there are no entities to
expand (billion laughs) or resolve (XXE), so the parser settings below are a second line of
defence. After parsing, element nesting deeper than MAX_DEPTH is refused.
"""

from __future__ import annotations

import re

from lxml import etree

from saas.einvoice.records import EInvoiceError

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100

_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_DOCTYPE = re.compile(rb"<!doctype", re.IGNORECASE)
# A byte order mark, white space (NUL bytes too, for UTF-16 and UTF-32), then "<".
_XML_START = re.compile(rb"(?:\xef\xbb\xbf|\xff\xfe|\xfe\xff)?[\s\x00]*<")
_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# libxml2 would also decode exotic encodings such as UTF-7, in which "<!DOCTYPE" need not
# appear as ASCII and so would slip past the scan above: only these are accepted.
_ACCEPTED_ENCODINGS = frozenset(
    {
        "utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "ascii",
        "iso-8859-1", "latin1", "latin-1", "iso-8859-15", "windows-1252", "cp1252",
    }
)  # fmt: skip


def check_size(data: bytes, format: str | None = None) -> None:
    """Refuse an empty file or one over MAX_BYTES, before any work is spent on it."""
    if len(data) > MAX_BYTES:
        raise EInvoiceError(
            f"the file is larger than the limit of {MAX_BYTES // (1024 * 1024)} MiB", format=format
        )
    if not data.strip():
        raise EInvoiceError("the file is empty", format=format)


def ascii_view(data: bytes) -> bytes:
    """The file with byte order mark, NUL bytes and leading white space removed.

    Dropping NUL bytes turns the ASCII characters of UTF-16 and UTF-32 text into plain ASCII,
    so markup can be looked for without knowing the encoding.
    """
    for mark in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            data = data[len(mark) :]
            break
    return data.replace(b"\x00", b"").lstrip()


def looks_like_xml(data: bytes) -> bool:
    """True when the file starts like an XML document (a "<" after any BOM and white space)."""
    return _XML_START.match(data) is not None


def parse_xml(data: bytes, format: str | None = None) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise EInvoiceError.

    ``format`` is only used to name the format in error messages (for an inner document).
    """
    check_size(data, format)
    view = ascii_view(data)
    if not view.startswith(b"<"):
        raise EInvoiceError("the file is not an XML document", format=format)
    # The whole file is searched, not only its first bytes: comments can push a DOCTYPE far
    # down the prolog. A "<!DOCTYPE" in CDATA is refused as well; no e-invoice needs one.
    if _DOCTYPE.search(view):
        raise EInvoiceError(
            "the file contains a DOCTYPE declaration, which is refused for safety", format=format
        )
    declared = _DECLARED_ENCODING.match(view)
    if declared and declared.group(1).decode("ascii").lower() not in _ACCEPTED_ENCODINGS:
        raise EInvoiceError(
            f"the XML encoding {declared.group(1).decode('ascii')!r} is not supported",
            format=format,
        )

    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # libxml2's message may quote names from the upload: keep it short.
        reason = (exc.msg or "").strip()[:200]
        raise EInvoiceError(f"the file is not well-formed XML ({reason})", format=format) from None
    if root.getroottree().docinfo.doctype:
        # Only reached if the scan above ever misses one: a second line of defence.
        raise EInvoiceError(
            "the file contains a DOCTYPE declaration, which is refused for safety", format=format
        )
    _check_depth(root, format)
    return root


def _check_depth(root: etree._Element, format: str | None) -> None:
    """Refuse element nesting deeper than MAX_DEPTH (the root element is depth 1)."""
    pending = [(root, 1)]
    while pending:
        element, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise EInvoiceError(
                f"the XML nests elements deeper than {MAX_DEPTH} levels", format=format
            )
        pending.extend((child, depth + 1) for child in element)

"""Hardened XML parsing for uploaded e-invoices.

Uploaded files are hostile until proven otherwise. Before lxml sees a byte the file must be
at most MAX_BYTES, must start like XML, must declare (if anything) an encoding from a short
list, and must not contain a DOCTYPE anywhere: without a DOCTYPE there are no entities to
expand (billion laughs) or resolve (XXE), so the parser settings below are a second line of
defence.

The work is bounded while parsing, not after: a first pass feeds the file to lxml with a
target that builds nothing and counts, and libxml2 stops as soon as the file has more than
MAX_ELEMENTS elements or MAX_ATTRIBUTES attributes and namespace declarations, or nests
deeper than MAX_DEPTH. Only a file within that budget is parsed into a tree. A flat file of
millions of empty elements is thus refused after its first MAX_ELEMENTS, in a fraction of a
second, instead of costing seconds of tree building and walking per upload.
"""

from __future__ import annotations

import re

from lxml import etree

from saas.einvoice.records import EInvoiceError

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100
# A real invoice has hundreds to a few thousand elements; a 10 MiB FatturaPA lot with
# thousands of lines stays well under these.
MAX_ELEMENTS = 200_000
MAX_ATTRIBUTES = 400_000  # attributes and namespace declarations, over the whole file
_FEED_BYTES = 64 * 1024

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
            f"the file is larger than the limit of {MAX_BYTES // (1024 * 1024)} MiB",
            format=format,
            code="too_large",
            params={"size": MAX_BYTES // (1024 * 1024)},
        )
    if not data.strip():
        raise EInvoiceError("the file is empty", format=format, code="empty")


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
        raise EInvoiceError("the file is not an XML document", format=format, code="not_xml")
    # The whole file is searched, not only its first bytes: comments can push a DOCTYPE far
    # down the prolog. A "<!DOCTYPE" in CDATA is refused as well; no e-invoice needs one.
    if _DOCTYPE.search(view):
        raise _doctype_refused(format)
    declared = _DECLARED_ENCODING.match(view)
    if declared and declared.group(1).decode("ascii").lower() not in _ACCEPTED_ENCODINGS:
        encoding = declared.group(1).decode("ascii")[:40]
        raise EInvoiceError(
            f"the XML encoding {encoding!r} is not supported",
            format=format,
            code="encoding",
            params={"encoding": encoding},
        )

    try:
        root = _parse_within_budget(data, format)
    except etree.XMLSyntaxError as exc:
        repaired = repair_namespace_uris(data) if _BAD_URI.search(exc.msg or "") else None
        if repaired is None:
            raise _not_well_formed(exc, format) from None
        try:
            root = _parse_within_budget(repaired, format)
        except etree.XMLSyntaxError as again:
            raise _not_well_formed(again, format) from None
    if root.getroottree().docinfo.doctype:
        # Only reached if the scan above ever misses one: a second line of defence.
        raise _doctype_refused(format)
    return root


def _parser(target=None) -> etree.XMLParser:
    return etree.XMLParser(
        target=target,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )


def _not_well_formed(exc: etree.XMLSyntaxError, format: str | None) -> EInvoiceError:
    # libxml2's message may quote names from the upload: keep it short.
    reason = (exc.msg or "").strip()[:200]
    return EInvoiceError(
        f"the file is not well-formed XML ({reason})",
        format=format,
        code="not_well_formed",
        params={"line": exc.lineno} if exc.lineno else {},
    )


def _doctype_refused(format: str | None) -> EInvoiceError:
    return EInvoiceError(
        "the file contains a DOCTYPE declaration, which is refused for safety",
        format=format,
        code="doctype",
    )


class _Budget:
    """An lxml parser target that builds nothing: it counts, and stops the parser (by
    raising from inside it) at the first element, attribute or level over the limits."""

    def __init__(self, format: str | None):
        self.format = format
        self.elements = self.attributes = self.depth = 0

    def start(self, tag, attrib) -> None:
        self.elements += 1
        self.depth += 1
        self.attributes += len(attrib)
        if self.depth > MAX_DEPTH:
            raise EInvoiceError(
                f"the XML nests elements deeper than {MAX_DEPTH} levels",
                format=self.format,
                code="too_deep",
                params={"n": MAX_DEPTH},
            )
        if self.elements > MAX_ELEMENTS:
            raise EInvoiceError(
                f"the XML has more than {MAX_ELEMENTS:,} elements, the limit",
                format=self.format,
                code="too_many_elements",
                params={"n": MAX_ELEMENTS},
            )
        self._check_attributes()

    def start_ns(self, prefix, uri) -> None:
        self.attributes += 1
        self._check_attributes()

    def _check_attributes(self) -> None:
        if self.attributes > MAX_ATTRIBUTES:
            raise EInvoiceError(
                f"the XML has more than {MAX_ATTRIBUTES:,} attributes, the limit",
                format=self.format,
                code="too_many_attributes",
                params={"n": MAX_ATTRIBUTES},
            )

    def end(self, tag) -> None:
        self.depth -= 1

    def doctype(self, name, public_id, system_url) -> None:
        # Called at "<!DOCTYPE", before its internal subset declares any entity.
        raise _doctype_refused(self.format)

    def close(self) -> None:
        return None


def _parse_within_budget(data: bytes, format: str | None) -> etree._Element:
    """The tree, built only after a first pass (which builds nothing) found the file
    within budget; lxml's syntax errors pass through."""
    parser = _parser(_Budget(format))
    view = memoryview(data)
    # In pieces: libxml2 refuses to buffer a whole file over 10,000,000 bytes at once.
    for start in range(0, len(view), _FEED_BYTES):
        parser.feed(bytes(view[start : start + _FEED_BYTES]))
    parser.close()
    return etree.fromstring(data, _parser())


# libxml2's complaint about a namespace name that is not a URI, e.g. the
# 'http://www.w3.org/2000/09/xmldsig#"' some Italian software writes: the XML Namespaces
# recommendation does not require a URI there, the SdI passes such files on, and the
# invoice itself is intact.
_BAD_URI = re.compile(r"xmlns(:[\w.-]+)?: '.*' is not a valid URI")
_DECLARATION = re.compile(rb"""\sxmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*(?:"([^"<]*)"|'([^'<]*)')""")
_ENTITIES = {b"&quot;": b'"', b"&apos;": b"'", b"&lt;": b"<", b"&gt;": b">", b"&amp;": b"&"}
# What RFC 3986 allows in a URI (escapes included): anything else is percent-encoded.
_URI_CHARS = re.compile(rb"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


def repair_namespace_uris(data: bytes) -> bytes | None:
    """The document with each namespace declaration whose name is not a URI dropped if
    its prefix is used nowhere, else percent-encoded (the same everywhere, so elements
    keep their namespace); None when there is nothing to repair. Only ASCII-compatible
    encodings are looked at: other files keep the parser's error."""
    changed = False

    def repair(match: re.Match) -> bytes:
        nonlocal changed
        prefix, raw = (
            match.group(1),
            match.group(2) if match.group(2) is not None else match.group(3),
        )
        value = raw
        for entity, char in _ENTITIES.items():
            value = value.replace(entity, char)
        if _URI_CHARS.fullmatch(value):
            return match.group(0)
        changed = True
        if prefix is not None and not _prefix_used(data, prefix):
            return b""
        encoded = b"".join(
            bytes([c]) if _URI_CHARS.fullmatch(bytes([c])) else b"%%%02X" % c for c in value
        )
        name = b"xmlns:" + prefix if prefix is not None else b"xmlns"
        return b" " + name + b'="' + encoded.replace(b"&", b"&amp;") + b'"'

    repaired = _DECLARATION.sub(repair, data)
    return repaired if changed else None


def _prefix_used(data: bytes, prefix: bytes) -> bool:
    """Whether an element or attribute name anywhere in the document has this prefix."""
    return re.search(rb"[<\s/]" + re.escape(prefix) + rb":[A-Za-z_]", data) is not None

"""An invoice read from its stored XML for people: the invoice page, its attachments,
the printable copy made when the issuer sent no PDF, and the words for the document's
codes (tax exemptions, payment terms) in the reader's language."""

from __future__ import annotations

import logging
import uuid
import zlib
from decimal import Decimal

from flask import g
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from reportlab.graphics.barcode.qr import QrCodeWidget

from saas.einvoice.document import Document
from saas.einvoice.document_reader import read_document
from saas.extensions import db
from saas.i18n import percent
from saas.portal.models import Invoice
from saas.storage import StorageError, StorageUnavailable, get_storage
from saas.transactions import claim

log = logging.getLogger(__name__)


def document_for(invoice: Invoice, *, storage_away_ok: bool = True) -> Document | None:
    """The invoice as its XML says it; None (logged) if the stored file cannot be read
    (any more, or now: storage is away), when the page falls back to what the portal
    recorded. With `storage_away_ok=False` storage being away is the caller's 503."""
    try:
        return read_document(get_storage().read(invoice.xml_key), invoice.national_id)
    except StorageUnavailable:
        if not storage_away_ok:
            raise
        log.warning("invoice %s: storage is away, its page shows the summary", invoice.id)
        return None
    except (StorageError, ValueError) as error:
        log.warning("invoice %s: its XML cannot be read for the page: %s", invoice.id, error)
        return None


def linked_references(document: Document, visible) -> dict[int, Invoice]:
    """Position in `document.references` -> the referred invoice when it is in the
    portal and `visible` (a SELECT of the reader's invoices) holds it."""
    found: dict[int, Invoice] = {}
    for position, ref in enumerate(document.references):
        if ref.national_id:
            rule = Invoice.national_id == ref.national_id
        elif ref.number:
            rule = Invoice.number == ref.number
        else:
            continue
        invoice = db.session.scalars(visible.where(rule).limit(1)).first()
        if invoice is not None:
            found[position] = invoice
    return found


def qr_svg(text: str) -> str:
    """The QR code of `text` as an inline SVG: one path of dark modules, with a quiet
    zone, in presentation attributes only (the pages' CSP allows no style). ReportLab,
    which draws the PDF's, encodes it."""
    code = QrCodeWidget(text)
    code.draw()  # encodes `text` into code.qr
    matrix, size = code.qr, code.qr.getModuleCount()
    path = "".join(
        f"M{col + 4},{row + 4}h1v1h-1z"
        for row in range(size)
        for col in range(size)
        if matrix.isDark(row, col)
    )
    side = size + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="132" '
        f'height="132" aria-hidden="true" shape-rendering="crispEdges"><rect width="{side}" '
        f'height="{side}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )


def file_key(invoice: Invoice, what: str) -> str | None:
    """The storage key of an invoice's "xml" or "pdf"; for an invoice sent without a
    PDF, its printable copy in the page's language (made now if it was never asked for
    in it). Every download of an invoice's files (portal, console) goes through here."""
    if what != "pdf":
        return invoice.xml_key
    if invoice.pdf_key is None:
        ensure_pdf(invoice)
    elif invoice.pdf_generated:
        return _copy_in_page_language(invoice)
    return invoice.pdf_key


def _copy_key(invoice: Invoice, suffix: str = "") -> str:
    """Where a printable copy in the current language is kept: beside the XML, named for
    its language ("copy-it.pdf"), so every later ask in that language finds it."""
    return f"{invoice.xml_key.rpartition('/')[0]}/copy-{get_locale()}{suffix}.pdf"


def _render_copy(invoice: Invoice, key: str) -> bytes | None:
    document = document_for(invoice, storage_away_ok=False)  # away: a 503, not a 404
    if document is None:
        return None
    from saas.portal.pdf_render import render_pdf  # it imports this module's labels

    data = render_pdf(document, g.tenant, invoice.amount_decimals)
    # A later copy in one language may be written by two requests at once: either copy
    # is the same invoice in the same words, and nothing records its bytes.
    get_storage().put(key, data, "application/pdf")
    return data


def _copy_in_page_language(invoice: Invoice) -> str | None:
    """A generated PDF is the portal's, so each reader gets it in their language: the
    one kept as the invoice's PDF (the first asked for, which zips carry), or another
    copy beside it, made at the first ask in that language."""
    if invoice.pdf_key.rpartition("/")[2].startswith(f"copy-{get_locale()}-"):
        return invoice.pdf_key  # the first copy was asked for in this language
    key = _copy_key(invoice)
    if get_storage().exists(key):
        return key
    return key if _render_copy(invoice, key) is not None else invoice.pdf_key


def ensure_pdf(invoice: Invoice) -> bool:
    """Give an invoice that came without a PDF its printable copy, made once, in the
    current language, and kept as its PDF (marked generated): downloads, zips and the
    pending count then treat it as any PDF. False when the XML cannot be read."""
    if invoice.pdf_key is not None:
        return True
    # A name of its own (two requests may race to it; the invoice records the winner's
    # size and checksum, which zips rely on), that still says its language.
    key = _copy_key(invoice, f"-{uuid.uuid4().hex[:8]}")
    data = _render_copy(invoice, key)
    if data is None:
        return False
    won = claim(
        Invoice,
        Invoice.id == invoice.id,
        Invoice.pdf_key.is_(None),
        pdf_key=key,
        pdf_size=len(data),
        pdf_crc32=zlib.crc32(data),
        pdf_generated=True,
    )
    if not won:  # another request made it at the same moment: keep theirs
        get_storage().delete(key)
    db.session.refresh(invoice)
    return True


# --- the document's codes, in words ---------------------------------------------------

# What each country calls a tax id: names, the same in every language.
TAX_ID_NAMES = {"ubl21-co": "NIT", "cfdi-40": "RFC"}


def tax_id_label(format: str) -> str:
    return TAX_ID_NAMES.get(format, "P. IVA / C.F.")


def kind_title(kind: str) -> str:
    return {
        "invoice": _("Invoice"),
        "credit_note": _("Credit note"),
        "debit_note": _("Debit note"),
    }.get(kind, kind)


# FatturaPA's Natura: why a line carries no VAT.
def _natura(code: str) -> str | None:
    words = {
        "N1": _("excluded from VAT (art. 15)"),
        "N2": _("not subject to VAT"),
        "N3": _("not taxable"),
        "N4": _("exempt"),
        "N5": _("margin scheme"),
        "N6": _("reverse charge"),
        "N7": _("VAT paid in another EU country"),
    }
    return words.get(code[:2])


def tax_label(name: str | None, rate: Decimal | None) -> str:
    """ "IVA 19 %", "N2.2 · not subject to VAT", "Exento"."""
    if name and name[:1] == "N" and name[1:2].isdigit():
        meaning = _natura(name)
        return f"{name} · {meaning}" if meaning else name
    if name == "Exento":
        return _("Exempt")
    if rate is None:
        return name or ""
    digits = max(0, -int(rate.normalize().as_tuple().exponent))
    return " ".join(x for x in (name, percent(rate / 100, digits)) if x)


def quantity(value: Decimal) -> str:
    """A line's quantity as the locale writes numbers, with the decimals it has."""
    return format_decimal(value.normalize(), format="#,##0.######")


def payment_term_label(term: str) -> str:
    """A payment code of the document in words; text the document wrote stays as is."""
    if term.startswith("days:"):
        return _("within %(days)s days", days=term.partition(":")[2])
    if term.startswith(("method:", "form:")):
        kind, _sep, code = term.partition(":")
        method = {"PUE": _("paid in one payment"), "PPD": _("paid in instalments or later")}
        form = {
            "01": _("cash"),
            "03": _("bank transfer"),
            "04": _("credit card"),
            "99": _("to be defined"),
        }
        table = method if kind == "method" else form
        return table.get(code, code)
    words = {
        "cash": _("cash (contado)"),
        "credit": _("on credit"),
        "TP01": _("in instalments"),
        "TP02": _("in full"),
        "TP03": _("advance payment"),
        "MP01": _("cash"),
        "MP02": _("cheque"),
        "MP05": _("bank transfer"),
        "MP08": _("payment card"),
        "MP12": _("RIBA"),
        "MP19": _("SEPA direct debit"),
    }
    return words.get(term, term)

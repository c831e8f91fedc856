"""The printable copy of an invoice the issuer sent without a PDF ("representación
impresa", "copia di cortesia"), drawn from the same reading of the XML as the invoice
page, in the current language, with the tenant's name and colour.

ReportLab draws it: it installs from wheels with no system library (WeasyPrint would
need Pango), its standard fonts cover Spanish and Italian text and the euro sign, and it
draws QR codes itself, so the DIAN and SAT verification codes need nothing more. svglib
(pure Python up to 1.5; 1.6 needs the system's cairo) turns the tenant's SVG logo into
a ReportLab drawing.
"""

from __future__ import annotations

import io
import logging
from decimal import Decimal
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from svglib.svglib import svg2rlg

from saas.einvoice.document import Document
from saas.i18n import day, money
from saas.portal.reading import kind_title, payment_term_label, tax_id_label, tax_label
from saas.portal.reading import quantity as format_quantity
from saas.storage import get_storage

log = logging.getLogger(__name__)


def render_pdf(document: Document, tenant, decimals: int) -> bytes:
    """The PDF's bytes. Call inside the app context of the tenant (money and dates use
    its conventions) and the language wanted (flask_babel.force_locale)."""
    brand = colors.HexColor(tenant.primary_color)
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=8.5, leading=11)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5)
    heading = ParagraphStyle("heading", parent=styles["Heading1"], textColor=brand, fontSize=16)
    band = ParagraphStyle("band", parent=body, textColor=colors.white, fontSize=13, leading=16)

    def cash(value: Decimal | None) -> str:
        return "" if value is None else money(value, document.currency, decimals)

    def text(value) -> Paragraph:
        return Paragraph(escape(str(value or "")), body)

    story: list = []
    name = Paragraph(f"<b>{escape(tenant.name)}</b>", band)
    logo = _logo(tenant)
    cells, widths = ([logo, name], [22 * mm, 158 * mm]) if logo else ([name], [180 * mm])
    header = Table([cells], colWidths=widths)
    header.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), brand),
                ("PADDING", (0, 0), (-1, -1), 8),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [header, Spacer(1, 6 * mm)]
    story.append(Paragraph(escape(f"{kind_title(document.kind)} {document.number}"), heading))
    story.append(
        Paragraph(
            escape(
                _(
                    "Printable copy of the electronic invoice, made by the portal from its "
                    "XML: the XML is the legal document."
                )
            ),
            small,
        )
    )
    story.append(Spacer(1, 4 * mm))

    def party(title: str, who) -> list:
        lines = [
            f"<b>{escape(title)}</b>",
            escape(who.name),
            escape(f"{tax_id_label(document.format)} {who.tax_id}"),
        ]
        lines += [escape(line) for line in who.address]
        return [Paragraph("<br/>".join(lines), body)]

    parties = Table(
        [[party(_("Issuer"), document.issuer), party(_("Customer"), document.customer)]],
        colWidths=[90 * mm, 90 * mm],
    )
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [parties, Spacer(1, 4 * mm)]

    facts = [
        [
            text(_("Issue date")),
            text(day(document.issue_date, "long") if document.issue_date else ""),
        ]
    ]
    if document.due_date:
        facts.append([text(_("Due date")), text(day(document.due_date, "long"))])
    if document.payment_terms:
        facts.append(
            [
                text(_("Payment")),
                text("; ".join(payment_term_label(t) for t in document.payment_terms)),
            ]
        )
    for ref in document.references:
        said = " ".join(x for x in (ref.number, ref.national_id) if x)
        if ref.date:
            said += f" ({day(ref.date, 'medium')})"
        facts.append([text(_("Refers to")), text(said)])
    story += [Table(facts, colWidths=[40 * mm, 140 * mm]), Spacer(1, 4 * mm)]

    rows = [
        [
            text(_("Description")),
            text(_("Quantity")),
            text(_("Unit price")),
            text(_("Discount")),
            text(_("Tax")),
            text(_("Amount")),
        ]
    ]
    for line in document.lines:
        quantity = (
            "" if line.quantity is None else f"{format_quantity(line.quantity)} {line.unit or ''}"
        )
        rows.append(
            [
                text(line.description),
                text(quantity),
                text(cash(line.unit_price)),
                text(cash(line.discount)),
                text(tax_label(line.tax_note, line.tax_rate)),
                text(cash(line.total)),
            ]
        )
    lines = Table(
        rows, colWidths=[70 * mm, 20 * mm, 25 * mm, 20 * mm, 20 * mm, 25 * mm], repeatRows=1
    )
    lines.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, brand),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [lines, Spacer(1, 4 * mm)]

    totals = [
        [
            text(tax_label(t.name, t.rate) + (f" ({_('withheld')})" if t.withheld else "")),
            text(cash(t.base)),
            text(cash(t.amount)),
        ]
        for t in document.taxes
    ]
    if document.subtotal is not None:
        totals.append([text(_("Subtotal")), text(""), text(cash(document.subtotal))])
    if document.tax_total is not None:
        totals.append([text(_("Taxes")), text(""), text(cash(document.tax_total))])
    totals.append(
        [
            Paragraph(f"<b>{escape(_('Total'))}</b>", body),
            text(""),
            Paragraph(f"<b>{escape(cash(document.total))}</b>", body),
        ]
    )
    summary = Table(totals, colWidths=[60 * mm, 35 * mm, 35 * mm], hAlign="RIGHT")
    summary.setStyle(TableStyle([("LINEABOVE", (0, -1), (-1, -1), 0.8, brand)]))
    story += [summary, Spacer(1, 4 * mm)]

    for note in document.notes:
        story.append(Paragraph(escape(note), small))
    story.append(Spacer(1, 3 * mm))
    identity = [
        Paragraph(
            f"<b>{escape(_('Electronic invoice id'))}</b><br/>{escape(document.national_id)}", small
        )
    ]
    if document.verify_url:
        identity.append(
            Paragraph(
                escape(_("Check it with the tax authority:"))
                + "<br/>"
                + escape(document.verify_url),
                small,
            )
        )
    if document.qr_text:
        code = QrCodeWidget(document.qr_text)
        left, bottom, right, top = code.getBounds()
        side = 30 * mm
        drawing = Drawing(
            side, side, transform=[side / (right - left), 0, 0, side / (top - bottom), 0, 0]
        )
        drawing.add(code)
        story.append(Table([[identity, drawing]], colWidths=[145 * mm, 35 * mm]))
    else:
        story += identity

    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{kind_title(document.kind)} {document.number}",
        author=tenant.name,
        invariant=True,  # the same invoice gives the same bytes
    )
    pdf.build(story)
    return buffer.getvalue()


def _logo(tenant) -> Drawing | None:
    """The tenant's SVG logo, 14 mm high, on a white tile; None without one, or if
    svglib cannot draw it (the name alone then stands in the band). The logo passed the
    checks of saas.branding: no script, nothing it loads."""
    if not tenant.logo_key:
        return None
    try:
        drawing = svg2rlg(io.BytesIO(get_storage().read(tenant.logo_key)))
    except Exception as error:  # a drawing problem must not cost the invoice its PDF
        log.warning("tenant %s: its logo cannot be drawn in a PDF: %s", tenant.slug, error)
        return None
    if drawing is None or not drawing.width or not drawing.height:
        return None
    side = 14 * mm
    scale = min(side / drawing.width, side / drawing.height)
    tile = Drawing(side, side)
    tile.add(Rect(0, 0, side, side, fillColor=colors.white, strokeColor=None))
    drawing.scale(scale, scale)
    drawing.translate(
        (side - drawing.width * scale) / 2 / scale, (side - drawing.height * scale) / 2 / scale
    )
    tile.add(drawing)
    return tile

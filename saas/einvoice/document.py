"""An invoice as a person reads it: parties with their addresses, lines, taxes by rate,
payment terms, notes, references and attachments, read from the stored XML for the
invoice page and the generated PDF.

The record readers (ubl, fatturapa, cfdi) decide whether a file is published and are
strict; these read a file that was already accepted and are lenient: what a file leaves
out is None, never an error. The labels (tax names, payment codes) are the document's
own codes; the pages word them.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation


@dataclass
class Party:
    name: str
    tax_id: str
    address: list[str] = field(default_factory=list)  # lines, in reading order
    email: str | None = None


@dataclass
class Line:
    description: str
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    discount: Decimal | None = None  # an amount off the line
    tax_rate: Decimal | None = None  # percent
    tax_note: str | None = None  # why no tax (FatturaPA's Natura), or the tax's name
    total: Decimal | None = None  # before tax
    withholdings: list[str] = field(default_factory=list)  # "ISR 10%": taxes held back


@dataclass
class TaxRow:
    name: str  # "IVA", "INC", "IEPS", "ISR", a FatturaPA Natura code...
    rate: Decimal | None
    base: Decimal | None
    amount: Decimal
    withheld: bool = False  # a retention, taken off the total


@dataclass
class Attachment:
    name: str
    media_type: str
    description: str | None
    data: bytes


@dataclass
class Reference:
    """A document this one refers to (the invoice a credit note corrects)."""

    number: str | None
    national_id: str | None
    date: datetime.date | None


@dataclass
class Document:
    format: str
    kind: str
    number: str
    issue_date: datetime.date | None
    currency: str
    issuer: Party
    customer: Party
    national_id: str
    lines: list[Line] = field(default_factory=list)
    taxes: list[TaxRow] = field(default_factory=list)
    subtotal: Decimal | None = None  # lines before tax, after discounts
    discount_total: Decimal | None = None
    tax_total: Decimal | None = None
    withheld_total: Decimal | None = None
    total: Decimal | None = None
    due_date: datetime.date | None = None
    payment_terms: list[str] = field(default_factory=list)  # codes and texts, as written
    notes: list[str] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    verify_url: str | None = None  # the authority's page for this document
    qr_text: str | None = None  # what the document's QR code holds


# --- lenient value readers, shared by the three formats ---------------------------------

_DATE_START = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def amount(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def date(text: str | None) -> datetime.date | None:
    match = _DATE_START.match((text or "").strip())
    if match is None:
        return None
    try:
        return datetime.date.fromisoformat(match.group(0))
    except ValueError:
        return None


def clean(text: str | None) -> str | None:
    """One line of text, white space collapsed; None when empty."""
    if text is None:
        return None
    return " ".join(text.split()) or None


def joined(*parts: str | None, sep: str = " ") -> str | None:
    return sep.join(p for p in parts if p) or None

"""The normalised invoice record, the reader's error, and the value parsers the readers share."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from saas.einvoice.taxids import InvalidTaxId, normalize_tax_id
from saas.validation import one_line

# Format codes as stored on invoices, and the names people know them by (used in messages).
FORMAT_NAMES = {
    "ubl21-co": "DIAN UBL 2.1",
    "fatturapa-12": "FatturaPA 1.2",
    "fatturapa-sm10": "FatturaPA semplificata 1.0",
    "cfdi-40": "CFDI 4.0",
    # Recognised only to be refused by name.
    "cfdi-33": "CFDI 3.3",
    "cfdi-32": "CFDI 3.2",
    "cfdi-3": "CFDI 3.x",
}

_AMOUNT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
MAX_DECIMALS = 6  # what the invoice table stores exactly
# xs:date, the type of FatturaPA's Data and UBL's IssueDate, may carry a time zone
# ("2014-12-18+01:00", "2014-12-18Z"): the calendar date is what the invoice means.
_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])?")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class InvoiceRecord:
    """One invoice read from an uploaded file, in the same shape whatever its country."""

    format: str  # a key of FORMAT_NAMES
    country: str  # "CO" | "IT" | "MX"
    kind: str  # "invoice" | "credit_note" | "debit_note"
    number: str
    issue_date: datetime.date
    currency: str  # ISO 4217
    total: Decimal  # amount payable
    tax_total: Decimal
    national_id: str  # CUFE/CUDE, TimbreFiscalDigital UUID, or the FatturaPA id built by the reader
    issuer_tax_id: str
    issuer_name: str
    customer_tax_id: str
    customer_name: str
    customer_email: str | None

    def __post_init__(self):
        # Names come from a file the portal does not control and end up in email
        # subjects and pages: one line each, whatever the XML's layout.
        for name in ("issuer_name", "customer_name", "number"):
            object.__setattr__(self, name, one_line(getattr(self, name)))
        if self.customer_email is not None:
            object.__setattr__(self, "customer_email", self.customer_email.strip() or None)

    @property
    def amount_decimals(self) -> int:
        """The decimals the document writes its totals with ("1234567.89": 2)."""
        # parse_amount gives finite amounts, whose exponent is an int (not "n", "N", "F").
        total, tax = self.total.as_tuple().exponent, self.tax_total.as_tuple().exponent
        return max(0, -cast(int, total), -cast(int, tax))


class EInvoiceError(ValueError):
    """The file is not an e-invoice this reader accepts.

    ``format`` is the detected format code (None when unknown), ``field`` the offending
    field's path (None when the problem is the file as a whole), ``message`` the English
    sentence for machines and logs, which is also ``str(error)``, e.g.
    "FatturaPA 1.2: missing field FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/Numero".
    ``code`` and ``params`` say the same for people: a stable code ("missing_field") and
    the values its sentence names, which the pages word in the reader's language
    (saas.console.upload_messages); for "invalid_value", ``params["why"]`` is the reason's
    own code.
    """

    def __init__(
        self,
        detail: str,
        *,
        format: str | None = None,
        field: str | None = None,
        code: str = "unreadable",
        params: dict | None = None,
    ):
        self.format = format
        self.field = field
        self.code = code
        self.params = dict(params or {})
        if field is not None:
            self.params.setdefault("field", field)
        self.message = f"{FORMAT_NAMES.get(format or '', 'Unrecognised e-invoice')}: {detail}"
        super().__init__(self.message)


def missing(format: str, field: str) -> EInvoiceError:
    """The error for a required field that is absent or empty."""
    return EInvoiceError(f"missing field {field}", format=format, field=field, code="missing_field")


def invalid(
    format: str, field: str, value: str, reason: str, why: str, **why_params
) -> EInvoiceError:
    """The error for a field whose value cannot be used; `why` is the reason's code
    (its English words are `reason`) and `why_params` the values the reason names."""
    shown = value if len(value) <= 60 else value[:57] + "..."
    return EInvoiceError(
        f"field {field} has the invalid value {shown!r} ({reason})",
        format=format,
        field=field,
        code="invalid_value",
        params={"value": shown, "why": why, **why_params},
    )


def parse_amount(format: str, field: str, text: str) -> Decimal:
    """A money amount as Decimal; only plain decimal notation (no NaN, exponent or commas)."""
    value = text.strip()
    if not _AMOUNT.fullmatch(value):
        raise invalid(format, field, value, "expected a decimal amount such as 1234.50", "amount")
    if len(value.partition(".")[2]) > MAX_DECIMALS:
        raise invalid(
            format, field, value, f"at most {MAX_DECIMALS} decimals", "decimals", n=MAX_DECIMALS
        )
    return Decimal(value)


def parse_date(format: str, field: str, text: str) -> datetime.date:
    """A calendar date written YYYY-MM-DD."""
    value = text.strip()
    try:
        match = _DATE.fullmatch(value)
        if match is None:
            raise ValueError(value)
        return datetime.date.fromisoformat(match.group(1))
    except ValueError:
        raise invalid(format, field, value, "expected a date written YYYY-MM-DD", "date") from None


def parse_currency(format: str, field: str, text: str) -> str:
    """An ISO 4217 alphabetic currency code, upper-cased."""
    value = text.strip().upper()
    if not _CURRENCY.fullmatch(value):
        raise invalid(
            format, field, value, "expected a three-letter ISO 4217 currency code", "currency"
        )
    return value


def parse_tax_id(format: str, field: str, country: str, text: str) -> str:
    """A tax id normalised by taxids.normalize_tax_id, reported as a field error if invalid."""
    try:
        return normalize_tax_id(country, text)
    except InvalidTaxId as exc:
        raise invalid(format, field, text.strip(), str(exc), "tax_id", country=country) from None

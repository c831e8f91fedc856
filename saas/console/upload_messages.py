"""Why an invoice file was not published, in the reader's language.

The reader (saas.einvoice) and publishing (saas.portal.publishing) say it in English for
the API, the command line and the logs, and with a code and its values for people: this
module words those codes. Paths of XML fields and the values found stay as written in
the file: they are what a person looks for in it.
"""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.einvoice.records import FORMAT_NAMES

COUNTRY_TAX_IDS = {"CO": "NIT", "IT": "Partita IVA / Codice Fiscale", "MX": "RFC"}


def _n(params: dict, key: str = "n") -> str:
    value = params.get(key)
    return format_decimal(value) if isinstance(value, int) else "?"


# What is wrong with a whole file, or with a field (the sentence names it).
PROBLEMS = {
    "too_large": lambda p: _("the file is larger than %(size)s MB.", size=_n(p, "size")),
    "empty": lambda p: _("the file is empty."),
    "not_xml": lambda p: _("the file is not an XML document."),
    "not_xml_or_p7m": lambda p: _("the file is neither XML nor a signed .p7m file."),
    "doctype": lambda p: _("the file has a DOCTYPE declaration, which is refused for safety."),
    "encoding": lambda p: _(
        "the XML encoding %(encoding)s is not supported.", encoding=p.get("encoding", "?")
    ),
    "not_well_formed": lambda p: (
        _("the file is not well-formed XML (line %(line)s).", line=_n(p, "line"))
        if p.get("line")
        else _("the file is not well-formed XML.")
    ),
    "too_deep": lambda p: _("the XML nests elements deeper than %(n)s levels.", n=_n(p)),
    "too_many_elements": lambda p: _("the XML has more than %(n)s elements.", n=_n(p)),
    "too_many_attributes": lambda p: _("the XML has more than %(n)s attributes.", n=_n(p)),
    "p7m_unreadable": lambda p: _("the .p7m file is not a readable signed envelope."),
    "p7m_nested": lambda p: _("the .p7m file is signed more than %(n)s times over.", n=_n(p)),
    "p7m_detached": lambda p: _("the .p7m file holds a signature without the invoice."),
    "unknown_root": lambda p: _(
        "%(root)s is not a DIAN UBL 2.1, FatturaPA 1.2, FatturaPA semplificata or CFDI 4.0 "
        "document.",
        root=p.get("root", "?"),
    ),
    "zip": lambda p: _(
        "the file is a zip: upload it on the “Upload invoices” page, which publishes every "
        "invoice in it."
    ),
    "old_version": lambda p: _(
        "this version is no longer issued and is not published: only version %(current)s is.",
        current=p.get("current", "?"),
    ),
    "cfdi_payment": lambda p: _(
        "this is a payment receipt (CFDI of type P, «complemento de pagos»), not an "
        "invoice: payment receipts are not published yet."
    ),
    "cfdi_payroll": lambda p: _(
        "this is a payroll receipt (CFDI of type N, nómina): it is an employer's document "
        "and is not published here."
    ),
    "cfdi_transfer": lambda p: _(
        "this is a transfer voucher (CFDI of type T, traslado), which bills nothing: it is "
        "not published."
    ),
    "missing_field": lambda p: _("the field %(field)s is missing.", field=p.get("field", "?")),
    "missing_tax_id": lambda p: _(
        "the field %(field)s (or %(other)s) is missing.",
        field=p.get("field", "?"),
        other=p.get("other", "?"),
    ),
    "invalid_value": lambda p: _(
        "the field %(field)s has the value “%(value)s”: %(reason)s",
        field=p.get("field", "?"),
        value=p.get("value", ""),
        reason=_reason(p),
    ),
    "invalid_email": lambda p: _(
        "The recipient email %(address)s is not an email address.", address=p.get("address", "")
    ),
    "not_pdf": lambda p: _("The PDF file is not a PDF document."),
    "issuer_not_assigned": lambda p: (
        _(
            "This issuer's tax id, %(tax_id)s, is not one of your companies (you publish "
            "for %(companies)s).",
            tax_id=p.get("tax_id", "?"),
            companies=p["companies"],
        )
        if p.get("companies")
        else _(
            "The issuer %(tax_id)s is not one of the companies assigned to you.",
            tax_id=p.get("tax_id", "?"),
        )
    ),
    "wrong_country": lambda p: _wrong_country(p),
    "national_id_taken": lambda p: _(
        "its national id %(id)s belongs to an invoice of another issuer.",
        id=p.get("national_id", "?"),
    ),
}

# Why a field's value cannot be used (EInvoiceError's params["why"]).
REASONS = {
    "amount": lambda p: _("expected an amount such as 1234.50."),
    "decimals": lambda p: _("at most %(n)s decimals.", n=_n(p)),
    "date": lambda p: _("expected a date written YYYY-MM-DD."),
    "datetime": lambda p: _("expected a date and time written YYYY-MM-DDThh:mm:ss."),
    "currency": lambda p: _("expected a three-letter currency code such as COP or EUR."),
    "tax_id": lambda p: _(
        "it is not a valid %(label)s: check the number and its check digit.",
        label=COUNTRY_TAX_IDS.get(p.get("country", ""), _("tax ID")),
    ),
    "attachment_kind": lambda p: _("the attachment is not an invoice, credit note or debit note."),
    "cedula_digits": lambda p: _("a cédula de ciudadanía has digits only."),
    "cfdi_kind": lambda p: _("only I (ingreso) and E (egreso) vouchers are accepted."),
    "uuid": lambda p: _("expected a UUID."),
    "version": lambda p: _("expected %(versions)s.", versions=p.get("versions", "?")),
    "duplicate_body": lambda p: _("another invoice of the file has the same number and date."),
}

UNREADABLE = _l("the file cannot be read as an e-invoice.")

# An invoice of another country than the portal's: (invoice's, portal's) -> the sentence,
# whole, so that each language agrees its adjectives with "invoice" and "portal".
WRONG_COUNTRY = {
    ("IT", "CO"): _l("an Italian invoice cannot be published by a Colombian portal."),
    ("MX", "CO"): _l("a Mexican invoice cannot be published by a Colombian portal."),
    ("CO", "IT"): _l("a Colombian invoice cannot be published by an Italian portal."),
    ("MX", "IT"): _l("a Mexican invoice cannot be published by an Italian portal."),
    ("CO", "MX"): _l("a Colombian invoice cannot be published by a Mexican portal."),
    ("IT", "MX"): _l("an Italian invoice cannot be published by a Mexican portal."),
}


def _wrong_country(params: dict) -> str:
    sentence = WRONG_COUNTRY.get((params.get("country"), params.get("portal_country")))
    if sentence is None:
        return _("this portal does not publish invoices of this country.")
    return str(sentence)


def _reason(params: dict) -> str:
    reason = REASONS.get(params.get("why", ""))
    return reason(params) if reason is not None else str(UNREADABLE)


# Problems of the upload rather than of the file's content: whole sentences of their own.
OWN_SENTENCES = {"invalid_email", "not_pdf", "issuer_not_assigned"}


def describe(code: str | None, format: str | None = None, params: dict | None = None) -> str:
    """The sentence for a refused file: "FatturaPA 1.2: the field ... is missing."."""
    problem = PROBLEMS.get(code or "")
    detail = problem(params or {}) if problem is not None else str(UNREADABLE)
    if code in OWN_SENTENCES:
        return detail
    name = FORMAT_NAMES.get(format or "") or _("Not a known e-invoice")
    return _("%(format)s: %(problem)s", format=name, problem=detail)


def describe_error(error) -> str:
    """`describe` for a PublishError."""
    return describe(error.code, error.format, error.params)

"""Publishing: the one way an invoice enters the portal (command line, console, API).

`publish()` reads the XML, finds or creates the customer company and its recipients,
stores the files under the tenant's keys and adds the invoice; the caller's transaction
owner commits, and the outbox sends the mail after that. The same national id from the
same issuer returns the existing invoice unchanged; from another issuer it is a conflict.
"""

from __future__ import annotations

import hashlib
import zlib
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import String, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from saas import audit
from saas.auth.models import User
from saas.auth.services import active_recipients, unique_username
from saas.companies import Company, membership
from saas.einvoice import EInvoiceError, InvoiceRecord, read_invoices
from saas.extensions import db
from saas.portal.invoice_files import remove_files, store_files
from saas.portal.models import Invoice
from saas.portal.notices import notify
from saas.portal.onboarding import onboard
from saas.portal.visibility import assigned_issuers
from saas.validation import InvalidEmail, email_address

PDF_MAGIC = b"%PDF-"


class PublishError(ValueError):
    """The file cannot be published; the message says why (and names the field), in
    English for machines and logs. `code` and `params` say it for people: the reader's
    code for an unreadable file ("missing_field", ... see EInvoiceError), or one of
    "invalid_email", "not_pdf", "issuer_not_assigned", "wrong_country",
    "national_id_taken"; saas.console.upload_messages words them."""

    def __init__(self, message: str, code: str, format: str | None = None, **params):
        super().__init__(message)
        self.code, self.format, self.params = code, format, params


class IssuerNotAssigned(PublishError):
    """The uploader is limited to other issuer companies than the invoice's."""


class NationalIdTaken(PublishError):
    """Another issuer's invoice already has this national id (CUFE/CUDE, CFDI UUID)."""


# Formats whose national id the authority assigns, unique across every issuer. A
# FatturaPA's id is built by the reader from fields the sender writes, so there an
# invoice is identified by its issuer and that id together.
AUTHORITY_IDS = {"ubl21-co", "cfdi-40"}
# For the English message of an invoice of another country than the tenant's.
COUNTRY_ADJECTIVES = {"CO": "Colombian", "IT": "Italian", "MX": "Mexican"}


def _an(word: str) -> str:
    return f"{'an' if word[:1] in 'AEIOU' else 'a'} {word}".rstrip()


INVALID_ADDRESS = "invalid_address"  # Company.mail_problem


@dataclass
class Published:
    invoices: list[Invoice] = field(default_factory=list)
    created: list[bool] = field(default_factory=list)
    # Addresses named by an XML that mail cannot be sent to: the invoice is published
    # and its customer's row in the console says why nobody was told.
    invalid_addresses: list[str] = field(default_factory=list)

    @property
    def any_created(self) -> bool:
        return any(self.created)


def publish(
    tenant,
    xml: bytes,
    pdf: bytes | None = None,
    email: str | None = None,
    *,
    source: str = "cli",
    user_id: int | None = None,
) -> Published:
    """Add every invoice in `xml` for `tenant`: all of them or, raising, none."""
    uploader = db.session.get(User, user_id) if user_id else None
    issuers = assigned_issuers(uploader)
    records, email = checked_records(tenant, xml, pdf, email, issuers)
    result = Published()
    # A limited uploader vouches only for their own issuers' invoices: a recipient they
    # add sees only those (see visible_invoices).
    limited = issuers is not None
    stored: list[str] = []
    # A FatturaPA file's invoices, all or none; one invoice has _publish_one's savepoint.
    together = db.session.begin_nested() if len(records) > 1 else nullcontext()
    try:
        with together:
            for record in records:
                invoice, created = _publish_one(
                    tenant, record, xml, pdf, email, source, user_id, stored, limited=limited
                )
                result.invoices.append(invoice)
                result.created.append(created)
                if created and email is None and invoice.customer.mail_problem == INVALID_ADDRESS:
                    result.invalid_addresses.append(invoice.customer.mail_problem_detail)
    except Exception:
        remove_files(stored)
        raise
    return result


def checked_records(
    tenant, xml: bytes, pdf: bytes | None, email: str | None, issuers: list[Company] | None
) -> tuple[list[InvoiceRecord], str | None]:
    """The invoices of `xml` and the checked `email`, or PublishError: what a single
    upload and every file of a batch must pass before anything is stored."""
    try:
        records = read_invoices(xml)
    except EInvoiceError as error:
        raise PublishError(str(error), error.code, error.format, **error.params) from None
    if email is not None:
        try:
            email = email_address(email)
        except InvalidEmail as error:
            raise PublishError(str(error), "invalid_email", address=email[:100]) from None
    if pdf is not None and not pdf.startswith(PDF_MAGIC):
        raise PublishError("the PDF file is not a PDF document", "not_pdf")
    allowed = None if issuers is None else {c.tax_id for c in issuers}
    for record in records:
        # The country first: another country's invoice is no issuer's of this tenant.
        if record.country != tenant.country:
            raise PublishError(
                f"{_an(COUNTRY_ADJECTIVES.get(record.country, record.country))} invoice "
                f"cannot be published by {_an(COUNTRY_ADJECTIVES.get(tenant.country, ''))} "
                "portal",
                "wrong_country",
                record.format,
                country=record.country,
                portal_country=tenant.country,
            )
        if allowed is not None and record.issuer_tax_id not in allowed:
            # Said to the uploader (or their key's integration): their own companies,
            # never their address.
            raise IssuerNotAssigned(
                f"the issuer's tax id {record.issuer_tax_id} is not one of the companies "
                "assigned to you",
                "issuer_not_assigned",
                tax_id=record.issuer_tax_id,
                issuer=record.issuer_name[:100],
                companies=", ".join(sorted(c.name for c in issuers or ())),
            )
    return records, email


def _same_invoice(record: InvoiceRecord) -> Invoice | None:
    """The invoice already published as this record: same issuer and national id.

    The same national id from another issuer is never that invoice (nor shown to the
    uploader): for ids the authority assigns it is a conflict.
    """
    found = db.session.scalars(
        select(Invoice).where(Invoice.national_id == record.national_id)
    ).all()
    return same_invoice_among(record, found)


def same_invoice_among(record: InvoiceRecord, found) -> Invoice | None:
    """_same_invoice's rule over invoices already read with the record's national id."""
    for invoice in found:
        if invoice.issuer.tax_id == record.issuer_tax_id:
            return invoice
    if found and record.format in AUTHORITY_IDS:
        raise NationalIdTaken(
            f"the national id {record.national_id} belongs to an invoice of another issuer",
            "national_id_taken",
            record.format,
            national_id=record.national_id,
        )
    return None


def _publish_one(
    tenant, record: InvoiceRecord, xml, pdf, email, source, user_id, stored, *, limited
):
    """Add one invoice (its file keys go to `stored`); a uniqueness race with another
    writer is retried once."""
    for attempt in (1, 2):
        existing = _same_invoice(record)
        if existing is not None:
            return existing, False
        mine: list[str] = []
        try:
            with db.session.begin_nested():
                invoice = _add_invoice(
                    tenant, record, xml, pdf, email, source, user_id, mine, limited=limited
                )
        except IntegrityError:
            # Someone else added this invoice, its company or its recipient just now:
            # start again from what they committed.
            remove_files(mine)
            if attempt == 2:
                raise
            continue
        stored.extend(mine)
        return invoice, True
    raise AssertionError("unreachable")


def _add_invoice(tenant, record, xml, pdf, email, source, user_id, stored, *, limited) -> Invoice:
    both = Company.tax_id.in_((record.issuer_tax_id, record.customer_tax_id))
    known = {c.tax_id: c for c in db.session.scalars(select(Company).where(both))}
    issuer, customer, xml_address = parties(tenant, record, email, limited, known)
    xml_key, pdf_key = store_files(tenant, xml, pdf, stored)
    invoice = invoice_row(tenant, record, issuer, customer, xml, pdf, xml_key, pdf_key)
    db.session.add(invoice)
    recipients = recipients_of(tenant, customer, email or xml_address, issuer, limited)
    db.session.flush()
    audit.record("invoice.published", user_id=user_id, invoice_id=invoice.id, source=source)
    for recipient in recipients:
        if not onboard(tenant, recipient, first_invoice=invoice):
            notify(tenant, recipient, invoice)
    return invoice


def parties(tenant, record, email, limited: bool, known: dict, *, flush: bool = True):
    """The record's issuer and customer companies (found in `known`, or new) and the
    address its XML names: (issuer, customer, address or None). The customer's mail
    problem follows what this upload says."""
    issuer = _company(
        tenant, record.issuer_tax_id, record.issuer_name, "issuer", None, known, flush
    )
    xml_address, problem = _xml_address(record)
    # A limited uploader's address never becomes the company's registered one.
    registered = None if limited else xml_address
    customer = _company(
        tenant, record.customer_tax_id, record.customer_name, "customer", registered, known, flush
    )
    if email or xml_address or problem:
        customer.mail_problem = INVALID_ADDRESS if problem and not email else None
        customer.mail_problem_detail = problem[:300] if problem and not email else None
    return issuer, customer, xml_address


def invoice_row(tenant, record, issuer, customer, xml, pdf, xml_key, pdf_key) -> Invoice:
    """The invoice's row (not added) for a stored XML and PDF."""
    return Invoice(
        tenant_id=tenant.id,
        issuer=issuer,
        customer=customer,
        number=record.number,
        kind=record.kind,
        issue_date=record.issue_date,
        currency=record.currency,
        total=record.total,
        tax_total=record.tax_total,
        amount_decimals=record.amount_decimals,
        national_id=record.national_id,
        format=record.format,
        xml_key=xml_key,
        xml_sha256=hashlib.sha256(xml).hexdigest(),
        xml_size=len(xml),
        xml_crc32=zlib.crc32(xml),
        pdf_key=pdf_key,
        pdf_size=len(pdf) if pdf is not None else None,
        pdf_crc32=zlib.crc32(pdf) if pdf is not None else None,
    )


def _xml_address(record: InvoiceRecord) -> tuple[str | None, str | None]:
    """The customer's address the XML names, checked: (address, None), or (None, what
    it wrote) when mail cannot be sent there. Such an invoice is still published."""
    if record.customer_email is None:
        return None, None
    try:
        return email_address(record.customer_email), None
    except InvalidEmail:
        return None, record.customer_email


def fitting(value: str, column) -> str:
    """`value` cut to the length its String column keeps: PostgreSQL refuses longer."""
    return value[: cast(String, column.type).length]


def _company(tenant, tax_id, name, kind, email, known, flush: bool = True) -> Company:
    """The tenant's company with this tax id (from `known`, looked up together), or new
    (flushed at once unless a batch flushes its new companies together)."""
    company = known.get(tax_id)
    if company is None:
        name = fitting(name, Company.__table__.c.name)  # an XML's name may be any length
        company = Company(tenant_id=tenant.id, tax_id=tax_id, name=name, kind=kind, email=email)
        db.session.add(company)
        if flush:
            db.session.flush()
        known[tax_id] = company
    elif email and not company.email:
        company.email = email
    return company


def recipients_of(tenant, company: Company, email, issuer: Company, limited: bool) -> list[User]:
    """Who is told about a new invoice of `company`.

    With an address: its recipient, created (and later onboarded) on first use and
    linked to the company. Without one (CFDI files never carry it): the company's
    active recipients who were onboarded already. A staff account is never turned
    into a customer's recipient, whatever address an XML names.

    `limited`: the upload came from staff limited to some issuer companies, so the
    address is theirs to choose. Unless it is the company's registered address, the link
    it gets covers only `issuer`'s invoices of the company; an address already limited
    to another issuer is not linked (the invoice is still published).
    """
    if not email:
        return list(
            db.session.scalars(
                active_recipients(company)
                .where(
                    or_(
                        membership.c.issuer_company_id.is_(None),
                        membership.c.issuer_company_id == issuer.id,
                    ),
                    User.welcomed_at.is_not(None),
                )
                .order_by(User.id)
            )
        )
    # The customer's own registered address is linked to the whole company.
    limit = issuer.id if limited and email != company.email else None
    row = db.session.execute(select(User).where(User.email == email)).first()
    if row is None:
        user = User(
            tenant_id=tenant.id,
            email=email,
            username=unique_username(email),
            name=fitting(company.name, User.__table__.c.name),  # 300 characters -> 200
            kind="recipient",
            must_change_password=True,
            locale=tenant.default_locale,
        )
        db.session.add(user)
        db.session.flush()
        _link(user, company, limit)
        return [user]
    user = row[0]
    if user.kind != "recipient":
        audit.record("invoice.recipient_refused", user_id=user.id, reason="staff_address")
        return []
    linked = db.session.execute(
        select(membership.c.issuer_company_id).where(
            membership.c.user_id == user.id, membership.c.company_id == company.id
        )
    ).first()
    if linked is None:
        _link(user, company, limit)
    elif linked[0] is not None and linked[0] != limit:
        if limit is not None:
            audit.record("invoice.recipient_refused", user_id=user.id, reason="other_issuer")
            return []
        # Now vouched for by someone who may publish for every issuer: the whole company.
        db.session.execute(
            update(membership)
            .where(membership.c.user_id == user.id, membership.c.company_id == company.id)
            .values(issuer_company_id=None)
        )
    return [user]


def _link(user: User, company: Company, only_issuer_id: int | None) -> None:
    db.session.execute(
        insert(membership).values(
            user_id=user.id, company_id=company.id, issuer_company_id=only_issuer_id
        )
    )
    db.session.expire(user, ["companies"])

"""Publishing many files at once (the API's `POST invoices/batch`): the same checks as
`publishing.publish()`, file by file, then one savepoint for everything that passed,
with the lookups and inserts done together instead of once per invoice.

Each file gets its own outcome: created, already present (same issuer and national id,
also twice in one batch), or refused with the reason `publish()` would have raised. A
failure that is no file's fault (storage, the database) undoes the whole batch: no
rows, and the files already stored are removed again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from saas import audit
from saas.auth.models import User
from saas.companies import Company
from saas.einvoice import InvoiceRecord
from saas.extensions import db
from saas.portal.invoice_files import remove_files, store_files
from saas.portal.models import Invoice, InvoiceNotice
from saas.portal.notices import notify
from saas.portal.onboarding import onboard
from saas.portal.publishing import (
    INVALID_ADDRESS,
    NationalIdTaken,
    PublishError,
    checked_records,
    invoice_row,
    parties,
    recipients_of,
    same_invoice_among,
)
from saas.portal.visibility import assigned_issuers


@dataclass
class BatchFile:
    """One invoice file of a batch and the PDF paired with it (by file name)."""

    name: str
    xml: bytes | None
    pdf: bytes | None = None
    pdf_name: str | None = None
    # Refused before it was read (too big, not an invoice, a PDF without its XML...).
    problem: PublishError | None = None


@dataclass
class Outcome:
    name: str
    pdf_name: str | None = None
    status: str = "refused"  # created | present | refused
    invoices: list[Invoice] = field(default_factory=list)
    error: PublishError | None = None
    invalid_addresses: list[str] = field(default_factory=list)


def publish_batch(
    tenant, files: list[BatchFile], *, source: str = "api", user_id: int | None = None
) -> list[Outcome]:
    """Publish every file that passes the checks, all in one savepoint; one outcome per
    file, in order. Raises (having undone everything) only for what is no file's fault."""
    uploader = db.session.get(User, user_id) if user_id else None
    issuers = assigned_issuers(uploader)
    outcomes: list[Outcome] = []
    ready: list[tuple[Outcome, BatchFile, list[InvoiceRecord]]] = []
    for item in files:
        outcome = Outcome(item.name, item.pdf_name)
        outcomes.append(outcome)
        if item.problem is not None or item.xml is None:
            outcome.error = item.problem
            continue
        try:
            records, _email = checked_records(tenant, item.xml, item.pdf, None, issuers)
        except PublishError as error:
            outcome.error = error
            continue
        ready.append((outcome, item, records))
    for attempt in (1, 2):
        stored: list[str] = []
        try:
            with db.session.begin_nested():
                _publish_ready(tenant, ready, source, user_id, issuers is not None, stored)
            return outcomes
        except IntegrityError:
            # Another writer added one of these invoices, companies or recipients just
            # now: start again from what they committed.
            remove_files(stored)
            for outcome, _item, _records in ready:
                outcome.status, outcome.invoices, outcome.error = "refused", [], None
                outcome.invalid_addresses = []
            if attempt == 2:
                raise
        except BaseException:
            remove_files(stored)
            raise
    raise AssertionError("unreachable")


def _publish_ready(tenant, ready, source, user_id, limited: bool, stored: list[str]) -> None:
    records = [r for _o, _i, rs in ready for r in rs]
    # One query for every national id of the batch, one for every company it names.
    published: dict[str, list[Invoice]] = {}
    if records:
        for invoice in db.session.scalars(
            select(Invoice)
            .where(Invoice.national_id.in_({r.national_id for r in records}))
            .options(selectinload(Invoice.issuer), selectinload(Invoice.customer))
        ):
            published.setdefault(invoice.national_id, []).append(invoice)
    taxids = {t for r in records for t in (r.issuer_tax_id, r.customer_tax_id)}
    known = {
        c.tax_id: c
        for c in (
            db.session.scalars(select(Company).where(Company.tax_id.in_(taxids))) if taxids else ()
        )
    }
    added: list[tuple[Invoice, Company, Company, str | None]] = []
    for outcome, item, file_records in ready:
        try:
            same = [_same(published, record) for record in file_records]
        except NationalIdTaken as error:
            outcome.error = error
            continue
        new = []
        for record, existing in zip(file_records, same, strict=True):
            if existing is not None:
                outcome.invoices.append(existing)
                continue
            issuer, customer, address = parties(tenant, record, None, limited, known, flush=False)
            xml_key, pdf_key = store_files(tenant, item.xml, item.pdf, stored)
            invoice = invoice_row(
                tenant, record, issuer, customer, item.xml, item.pdf, xml_key, pdf_key
            )
            published.setdefault(record.national_id, []).append(invoice)
            outcome.invoices.append(invoice)
            new.append(invoice)
            added.append((invoice, issuer, customer, address))
            if customer.mail_problem == INVALID_ADDRESS:
                outcome.invalid_addresses.append(customer.mail_problem_detail or "")
        outcome.status = "created" if new else "present"
    db.session.add_all(invoice for invoice, *_ in added)
    db.session.flush()  # the new companies and invoices, each table in one statement
    who: dict[tuple, list[User]] = {}
    digests: dict[int, int] = {}
    for invoice, issuer, customer, address in added:
        audit.record("invoice.published", user_id=user_id, invoice_id=invoice.id, source=source)
        # Several invoices of one customer in a batch: their recipients once.
        people = (customer.id, address, issuer.id)
        if people not in who:
            who[people] = recipients_of(tenant, customer, address, issuer, limited)
        for recipient in who[people]:
            if onboard(tenant, recipient, first_invoice=invoice):
                continue
            if recipient.id in digests:  # the digest opened (or joined) by this batch
                db.session.add(
                    InvoiceNotice(
                        tenant_id=tenant.id, digest_id=digests[recipient.id], invoice_id=invoice.id
                    )
                )
            else:
                digests[recipient.id] = notify(tenant, recipient, invoice).id
    db.session.flush()


def _same(published: dict[str, list[Invoice]], record: InvoiceRecord) -> Invoice | None:
    """publishing's rule, over the batch's one lookup (and its own new rows)."""
    return same_invoice_among(record, published.get(record.national_id, []))

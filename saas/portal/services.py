"""Publishing invoices, onboarding their recipients, and what recipients can see.

`publish()` is the one way an invoice enters the portal (command line, console and
API alike): read the XML, find or create the customer company and its recipient,
store the files under the tenant's keys, add the invoice, commit, and let the outbox
send the mail. The same national id again returns the existing invoice unchanged.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import g
from sqlalchemy import and_, false, insert, literal, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from saas import audit, clock
from saas.auth import tokens
from saas.auth.models import User, membership
from saas.auth.services import end_other_sessions, unique_username
from saas.einvoice import EInvoiceError, InvoiceRecord, read_invoices
from saas.extensions import db
from saas.jobs import enqueue, job, job_row
from saas.mail import absolute_url, send_email
from saas.portal.models import Company, DownloadEvent, ExportJob, Invoice
from saas.portal.zipwriter import StoredZipWriter
from saas.routing import MAX_ID
from saas.security import hash_password
from saas.storage import get_storage, tenant_key
from saas.validation import InvalidEmail, email_address

ACCESS_LINK_TTL = timedelta(days=7)
PDF_MAGIC = b"%PDF-"
FORMAT_COUNTRY = {"ubl21-co": "CO", "fatturapa-12": "IT", "cfdi-40": "MX"}


class PublishError(ValueError):
    """The file cannot be published; the message says why (and names the field)."""


class IssuerNotAssigned(PublishError):
    """The uploader is limited to other issuer companies than the invoice's."""


class NationalIdTaken(PublishError):
    """Another issuer's invoice already has this national id (CUFE/CUDE, CFDI UUID)."""


# Formats whose national id the authority assigns, unique across every issuer. A
# FatturaPA's id is built by the reader from fields the sender writes, so there an
# invoice is identified by its issuer and that id together.
AUTHORITY_IDS = {"ubl21-co", "cfdi-40"}
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
    """Publish every invoice in `xml` for `tenant`, then commit (mail goes after commit)."""
    try:
        records = read_invoices(xml)
    except EInvoiceError as error:
        raise PublishError(str(error)) from None
    if email is not None:
        try:
            email = email_address(email)
        except InvalidEmail as error:
            raise PublishError(str(error)) from None
    if pdf is not None and not pdf.startswith(PDF_MAGIC):
        raise PublishError("the PDF file is not a PDF document")
    uploader = db.session.get(User, user_id) if user_id else None
    issuers = assigned_issuers(uploader)
    allowed = None if issuers is None else {c.tax_id for c in issuers}
    for record in records:
        if allowed is not None and record.issuer_tax_id not in allowed:
            raise IssuerNotAssigned(
                f"the issuer {record.issuer_tax_id} is not one of the companies assigned to "
                f"{uploader.email}"
            )
        if record.country != tenant.country:
            raise PublishError(
                f"{record.format} invoices are not published by a {tenant.country} tenant"
            )
    result = Published()
    # A limited uploader vouches only for their own issuers' invoices: a recipient they
    # add sees only those (see visible_invoices).
    limited = issuers is not None
    for record in records:
        invoice, created = _publish_one(
            tenant, record, xml, pdf, email, source, user_id, limited=limited
        )
        result.invoices.append(invoice)
        result.created.append(created)
        if created and email is None and invoice.customer.mail_problem == INVALID_ADDRESS:
            result.invalid_addresses.append(invoice.customer.mail_problem_detail)
    return result


def _same_invoice(record: InvoiceRecord) -> Invoice | None:
    """The invoice already published as this record: same issuer and national id.

    The same national id from another issuer is never that invoice (nor shown to the
    uploader): for ids the authority assigns it is a conflict.
    """
    found = db.session.scalars(
        select(Invoice).where(Invoice.national_id == record.national_id)
    ).all()
    for invoice in found:
        if invoice.issuer.tax_id == record.issuer_tax_id:
            return invoice
    if found and record.format in AUTHORITY_IDS:
        raise NationalIdTaken(
            f"the national id {record.national_id} belongs to an invoice of another issuer"
        )
    return None


def _publish_one(tenant, record: InvoiceRecord, xml, pdf, email, source, user_id, *, limited):
    """Add one invoice and commit; a uniqueness race with another writer is retried once."""
    for attempt in (1, 2):
        existing = _same_invoice(record)
        if existing is not None:
            return existing, False
        stored: list[str] = []
        try:
            invoice = _add_invoice(
                tenant, record, xml, pdf, email, source, user_id, stored, limited=limited
            )
            _commit_keeping_state()
            return invoice, True
        except IntegrityError:
            # Someone else added this invoice, its company or its recipient just now:
            # start again from what they committed.
            db.session.rollback()
            for key in stored:
                get_storage().delete(key)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _commit_keeping_state() -> None:
    """Commit without expiring what is loaded: the rows just written are what the
    database now holds, so the caller's answer needs no second round of SELECTs."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _add_invoice(tenant, record, xml, pdf, email, source, user_id, stored, *, limited) -> Invoice:
    known = {
        c.tax_id: c
        for c in db.session.scalars(
            select(Company).where(
                Company.tax_id.in_((record.issuer_tax_id, record.customer_tax_id)),
            )
        )
    }
    issuer = _company(tenant, record.issuer_tax_id, record.issuer_name, "issuer", None, known)
    xml_address, problem = _xml_address(record)
    customer = _company(
        tenant,
        record.customer_tax_id,
        record.customer_name,
        "customer",
        # A limited uploader's address never becomes the company's registered one.
        None if limited else xml_address,
        known,
    )
    if email or xml_address or problem:
        customer.mail_problem = INVALID_ADDRESS if problem and not email else None
        customer.mail_problem_detail = problem[:300] if problem and not email else None
    # Files first, under keys we make; a failed commit removes them again.
    folder = uuid.uuid4().hex
    storage = get_storage()
    xml_key = tenant_key(tenant.id, "invoices", folder, "invoice.xml")
    storage.put(xml_key, xml, "application/xml")
    stored.append(xml_key)
    pdf_key = None
    if pdf is not None:
        pdf_key = tenant_key(tenant.id, "invoices", folder, "invoice.pdf")
        storage.put(pdf_key, pdf, "application/pdf")
        stored.append(pdf_key)
    invoice = Invoice(
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
    db.session.add(invoice)
    recipients = _recipients(tenant, customer, email or xml_address, issuer, limited)
    db.session.flush()
    audit.record("invoice.published", user_id=user_id, invoice_id=invoice.id, source=source)
    for recipient in recipients:
        if not onboard(tenant, recipient, first_invoice=invoice):
            notify(tenant, recipient, invoice)
    return invoice


def _xml_address(record: InvoiceRecord) -> tuple[str | None, str | None]:
    """The customer's address the XML names, checked: (address, None), or (None, what
    it wrote) when mail cannot be sent there. Such an invoice is still published."""
    if record.customer_email is None:
        return None, None
    try:
        return email_address(record.customer_email), None
    except InvalidEmail:
        return None, record.customer_email


def _company(tenant, tax_id: str, name: str, kind: str, email: str | None, known) -> Company:
    """The tenant's company with this tax id (from `known`, looked up together), or new."""
    company = known.get(tax_id)
    if company is None:
        company = Company(tenant_id=tenant.id, tax_id=tax_id, name=name, kind=kind, email=email)
        db.session.add(company)
        db.session.flush()
        known[tax_id] = company
    elif email and not company.email:
        company.email = email
    return company


def _recipients(tenant, company: Company, email, issuer: Company, limited: bool) -> list[User]:
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
                select(User)
                .join(membership, membership.c.user_id == User.id)
                .where(
                    membership.c.company_id == company.id,
                    or_(
                        membership.c.issuer_company_id.is_(None),
                        membership.c.issuer_company_id == issuer.id,
                    ),
                    User.kind == "recipient",
                    User.active.is_(True),
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
            name=company.name,
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


def onboard(tenant, user: User, first_invoice: Invoice | None = None) -> bool:
    """Send the onboarding email(s) once per recipient, ever; False if already sent.

    One conditional write claims the right to send, so two invoices published at the
    same moment still send one activation.
    """
    if user.welcomed_at is not None:  # known already: no need to ask the database
        return False
    now = clock.now()
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.welcomed_at.is_(None))
        .values(welcomed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return False
    set_committed_value(user, "welcomed_at", now)  # what the row now says
    send_access(tenant, user, first=True, invoice=first_invoice)
    return True


def send_access(tenant, user: User, *, first: bool = False, invoice=None) -> None:
    """Access email(s) by the tenant's onboarding mode; a new link kills the old one.

    two_emails: an activation email with the username and a one-time access link, and
    a second email with a new generated password. set_password_link: one email whose
    one-time link lets the recipient choose a password.
    """
    context = {"user": user, "invoice": invoice, "first": first}
    if tenant.onboarding == "two_emails":
        raw = tokens.issue("access_link", ACCESS_LINK_TTL, user_id=user.id)
        password = generate_password()
        user.password_hash = hash_password(password)
        user.password_changed_at = clock.now()
        user.must_change_password = True
        if not first:
            # A resend replaces the password: sessions opened with the old one end too.
            end_other_sessions(user)
            audit.record("password.replaced", user_id=user.id, reason="access_resent")
        send_email(
            user.email,
            "access_activation",
            tenant=tenant,
            locale=user.locale,
            link=absolute_url("portal.access", tenant=tenant.slug, token=raw),
            days=7,
            **context,
        )
        send_email(
            user.email,
            "access_password",
            tenant=tenant,
            locale=user.locale,
            password=password,
            login_url=absolute_url("auth.login", tenant=tenant.slug),
            **context,
        )
    else:
        raw = tokens.issue("set_password", ACCESS_LINK_TTL, user_id=user.id)
        send_email(
            user.email,
            "access_set_password",
            tenant=tenant,
            locale=user.locale,
            link=absolute_url("portal.set_password", tenant=tenant.slug, token=raw),
            days=7,
            **context,
        )
    audit.record("access.sent", user_id=user.id, mode=tenant.onboarding)


def notify(tenant, user: User, invoice: Invoice) -> None:
    """The email for every later invoice: number, date, total and a link to it."""
    send_email(
        user.email,
        "invoice_published",
        tenant=tenant,
        locale=user.locale,
        user=user,
        invoice=invoice,
        link=absolute_url("portal.invoice", tenant=tenant.slug, invoice_id=invoice.id),
    )


def generate_password() -> str:
    """A strong password that reads well in an email: four groups of five characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def recipient_companies(user: User) -> list[Company]:
    return sorted(user.companies, key=lambda c: c.name.lower())


def issue_date_range(start: date | None, end: date | None):
    criteria = []
    if start:
        criteria.append(Invoice.issue_date >= start)
    if end:
        criteria.append(Invoice.issue_date <= end)
    return criteria


# --- what a recipient sees and downloads ----------------------------------------------

PAGE_SIZE = 25


def visible_invoices(user: User, company_id: int | None = None):
    """A SELECT of the invoices `user` (a recipient) may see: the one rule, used by the
    list, the invoice page, downloads, the pending zip and its counts.

    All invoices of the user's companies (or of one of them), except where the user was
    linked to a company by a limited uploader: there only that issuer's invoices.
    """
    links = db.session.execute(
        select(membership.c.company_id, membership.c.issuer_company_id).where(
            membership.c.user_id == user.id
        )
    ).all()
    if company_id is not None:
        links = [link for link in links if link.company_id == company_id]
    whole = [link.company_id for link in links if link.issuer_company_id is None]
    criteria = [Invoice.customer_company_id.in_(whole)] if whole else []
    criteria += [
        and_(
            Invoice.customer_company_id == link.company_id,
            Invoice.issuer_company_id == link.issuer_company_id,
        )
        for link in links
        if link.issuer_company_id is not None
    ]
    return select(Invoice).where(or_(*criteria) if criteria else false())


def assigned_issuers(user) -> list[Company] | None:
    """The issuer companies a staff user is limited to; None when they are not limited
    (no company assigned: the owner, as a rule). The one rule of company scoping."""
    if user is None or user.kind != "staff" or not user.companies:
        return None
    return [c for c in user.companies if c.kind == "issuer"]


def staff_invoices(user: User):
    """A SELECT of the invoices a staff user may see: the one scope of staff reads."""
    query = select(Invoice)
    issuers = assigned_issuers(user)
    if issuers is not None:
        query = query.where(Invoice.issuer_company_id.in_([c.id for c in issuers] or [0]))
    return query


def staff_invoice(user: User, invoice_id: int) -> Invoice | None:
    """The invoice if `user` (staff) may see it; None otherwise, whoever's it is."""
    if not 1 <= invoice_id <= MAX_ID:
        return None
    return db.session.scalars(staff_invoices(user).where(Invoice.id == invoice_id)).first()


def invoice_for(user: User, invoice_id) -> Invoice | None:
    """The invoice if it belongs to one of the user's companies; None otherwise."""
    try:
        invoice_id = int(invoice_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalars(visible_invoices(user).where(Invoice.id == invoice_id)).first()


def list_page(user: User, *, company_id=None, start=None, end=None, cursor=None):
    """One page of the user's invoices, newest first; returns (invoices, next_cursor)."""
    query = visible_invoices(user, company_id).where(*issue_date_range(start, end))
    return newest_first(query, cursor, PAGE_SIZE)


def newest_first(query, cursor: tuple[date, int] | None, size: int):
    """One page of an Invoice SELECT by keyset: (issue_date, id) below the cursor.

    The one pagination of invoice lists (portal, console, API). Returns (invoices,
    next_cursor); the cost does not grow with the page's depth.
    """
    if cursor is not None:
        after_date, after_id = cursor
        query = query.where(
            # The plain bound lets the planner start the index range at the cursor.
            Invoice.issue_date <= after_date,
            tuple_(Invoice.issue_date, Invoice.id) < tuple_(literal(after_date), literal(after_id)),
        )
    rows = db.session.scalars(
        query.order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(size + 1)
    ).all()
    if len(rows) > size:
        return rows[:size], encode_cursor(rows[size - 1])
    return rows, None


# A cursor is `<day number>_<id>` of the last row given: two integers, so that any text
# of this shape (the API's OpenAPI document states it) is a valid position.
CURSOR_PATTERN = r"^[1-9][0-9]{0,5}_[0-9]{1,10}$"


def encode_cursor(invoice: Invoice) -> str:
    return f"{invoice.issue_date.toordinal()}_{invoice.id}"


def decode_cursor(text: str | None) -> tuple[date, int] | None:
    """(date, id) from a cursor, or None for a missing or malformed one."""
    if not text or not re.fullmatch(CURSOR_PATTERN, text):
        return None
    day, _, ident = text.partition("_")
    return date.fromordinal(int(day)), int(ident)


def record_download(user: User, invoice: Invoice, what: str) -> None:
    """A download event; the first download by its company ends "pending". Caller commits."""
    db.session.add(
        DownloadEvent(
            tenant_id=invoice.tenant_id, invoice_id=invoice.id, user_id=user.id, what=what
        )
    )
    mark_downloaded([invoice.id])


def mark_downloaded(invoice_ids) -> None:
    if not invoice_ids:
        return
    db.session.execute(
        update(Invoice)
        .where(
            Invoice.id.in_(invoice_ids),
            Invoice.first_downloaded_at.is_(None),
        )
        .values(first_downloaded_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def pending_ids(user: User, company_id=None) -> list[int]:
    query = visible_invoices(user, company_id).where(Invoice.first_downloaded_at.is_(None))
    return list(db.session.scalars(query.with_only_columns(Invoice.id).order_by(Invoice.id)))


def start_export(user: User, company_id=None) -> ExportJob | None:
    """The user's export being built, or a new one of everything pending; None if nothing."""
    active = db.session.scalars(
        select(ExportJob).where(ExportJob.active_for_user == user.id)
    ).first()
    if active is not None and active.created_at > clock.now() - EXPORT_ABANDONED_AFTER:
        return active
    if active is not None:
        # Its job was lost (a worker died, a queue was emptied): let the user start again.
        active.status, active.error = "failed", "abandoned: no progress for too long"
        active.active_for_user, active.finished_at = None, clock.now()
        audit.record("export.abandoned", user_id=user.id, export_id=active.id)
        db.session.flush()
    ids = pending_ids(user, company_id)
    if not ids:
        return None
    export = ExportJob(
        tenant_id=user.tenant_id,
        user_id=user.id,
        company_id=company_id,
        active_for_user=user.id,
        invoice_ids=ids,
        total=len(ids),
    )
    db.session.add(export)
    try:
        db.session.flush()
    except IntegrityError:  # the other click won: show its export
        db.session.rollback()
        return db.session.scalars(
            select(ExportJob).where(ExportJob.active_for_user == user.id)
        ).first()
    audit.record("export.started", user_id=user.id, export_id=export.id, count=len(ids))
    enqueue(build_export, user.tenant_id, export.id)
    db.session.commit()
    return export


PROGRESS_EVERY = 0.5  # seconds between progress commits
# An export still queued or running after this long lost its job; a new one may start.
EXPORT_ABANDONED_AFTER = timedelta(minutes=30)
ZIP_COLUMNS = (
    Invoice.id,
    Invoice.number,
    Invoice.issue_date,
    Invoice.xml_key,
    Invoice.xml_size,
    Invoice.xml_crc32,
    Invoice.pdf_key,
    Invoice.pdf_size,
    Invoice.pdf_crc32,
)


@job(queue="exports")
def build_export(export_id: int) -> None:
    """Zip the export's invoices (PDF and XML) into storage, reporting progress.

    Files are copied in chunks from storage into a zip that streams into storage, so
    memory does not grow with the number or size of the files. The job checks again
    that the user may still see each invoice.
    """
    tenant = g.tenant
    if job_row(ExportJob, export_id, "build_export") is None:
        return
    claimed = db.session.execute(
        update(ExportJob)
        .where(
            ExportJob.id == export_id,
            ExportJob.status == "queued",
        )
        .values(status="running")
    ).rowcount
    db.session.commit()
    if not claimed:
        return
    export = db.session.get(ExportJob, export_id)
    user = db.session.get(User, export.user_id)
    try:
        if user is None or not user.active:
            raise PermissionError("the user can no longer download these invoices")
        key = tenant_key(tenant.id, "exports", f"{export.id}-{uuid.uuid4().hex[:8]}.zip")
        included: list[int] = []

        def entries():
            # Only the columns the zip needs, 500 rows at a time: memory stays flat, and
            # no cursor stays open across the progress commits (SQLite would lock).
            ids = sorted(export.invoice_ids)
            for start in range(0, len(ids), 500):
                rows = db.session.execute(
                    visible_invoices(user)
                    .where(Invoice.id.in_(ids[start : start + 500]))
                    .with_only_columns(*ZIP_COLUMNS)
                    .order_by(Invoice.id)
                ).all()
                for row in rows:
                    included.append(row.id)
                    yield row

        size = write_zip(key, entries(), lambda done: _progress(export_id, done))
        export = db.session.get(ExportJob, export_id)
        export.status, export.zip_key, export.zip_size = "done", key, size
        export.done = export.total = len(included)
        export.invoice_ids = included
    except Exception as error:
        db.session.rollback()
        export = db.session.get(ExportJob, export_id)
        export.status, export.error = "failed", f"{type(error).__name__}: {error}"[:2000]
    export.active_for_user = None
    export.finished_at = clock.now()
    db.session.commit()


def _progress(export_id: int, done: int) -> None:
    # Committed at once, so the progress bar sees it while the zip is being built.
    db.session.execute(update(ExportJob).where(ExportJob.id == export_id).values(done=done))
    db.session.commit()


def _unique_name(name: str, used: set[str]) -> str:
    """`name`, or `stem-2.ext`, `stem-3.ext`... when two invoices share a date and number
    (two issuers may number alike): every file of the zip is kept."""
    stem, dot, ext = name.rpartition(".")
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem}-{n}{dot}{ext}"
    used.add(candidate.lower())
    return candidate


def write_zip(key: str, invoices, on_progress=None) -> int:
    """Stream a zip of the invoices' files into storage at `key`; returns its size.

    `invoices` is any iterable of rows with id, number, issue_date and each file's key,
    size and CRC-32 (recorded at publishing), so the files are only copied, never
    compressed or read twice.
    """
    storage = get_storage()
    last = time.monotonic()
    used: set[str] = set()
    with storage.writer(key, "application/zip") as sink:
        archive = StoredZipWriter(sink)
        for done, invoice in enumerate(invoices, 1):
            files = [("xml", invoice.xml_key, invoice.xml_size, invoice.xml_crc32)]
            if invoice.pdf_key:
                files.append(("pdf", invoice.pdf_key, invoice.pdf_size, invoice.pdf_crc32))
            for ext, source_key, size, crc in files:
                name = _unique_name(Invoice.file_name(invoice, ext), used)
                with storage.open(source_key) as source:
                    archive.add(name, size, crc, invoice.issue_date, source)
            if on_progress and time.monotonic() - last > PROGRESS_EVERY:
                on_progress(done)
                last = time.monotonic()
        return archive.close()

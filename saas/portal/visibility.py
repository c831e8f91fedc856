"""What a recipient and a staff member may see: the one rule behind the portal's list,
detail page, downloads and zip, the console's search and the API."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
)

from saas import clock
from saas.auth.models import User
from saas.companies import Company, membership
from saas.extensions import db
from saas.portal.models import (
    FILE_KINDS,
    PENDING,
    DownloadEvent,
    Invoice,
    PendingTally,
    undownloaded_files,
)
from saas.routing import MAX_ID


class Link(NamedTuple):
    """A recipient's tie to a company: to all its invoices, or to one issuer's only."""

    company_id: int
    issuer_company_id: int | None


def companies_and_links(user: User) -> tuple[list[Company], list[Link]]:
    """The recipient's companies (by name) and links, in one statement: the list page
    needs both."""
    rows = db.session.execute(
        select(Company, membership.c.issuer_company_id)
        .join(membership, membership.c.company_id == Company.id)
        .where(membership.c.user_id == user.id)
    ).all()
    pairs = cast("list[tuple[Company, int | None]]", rows)
    companies = {company.id: company for company, _ in pairs}.values()
    links = [Link(company.id, issuer) for company, issuer in pairs]
    return sorted(companies, key=lambda c: c.name.lower()), links


def issue_date_range(start: date | None, end: date | None):
    criteria = []
    if start:
        criteria.append(Invoice.issue_date >= start)
    if end:
        criteria.append(Invoice.issue_date <= end)
    return criteria


# --- what a recipient sees and downloads ----------------------------------------------

PAGE_SIZE = 25


def company_links(user: User, company_id: int | None = None) -> list[Link]:
    """The user's links, or only those to `company_id`."""
    links = db.session.execute(
        select(membership.c.company_id, membership.c.issuer_company_id).where(
            membership.c.user_id == user.id
        )
    ).all()
    return [
        Link(link.company_id, link.issuer_company_id)
        for link in links
        if company_id in (None, link.company_id)
    ]


def _linked(links, customer, issuer) -> ColumnElement[bool]:
    """The rule of `visible_invoices` over any table with a customer and an issuer."""
    whole = [link.company_id for link in links if link.issuer_company_id is None]
    criteria: list[ColumnElement[bool]] = [customer.in_(whole)] if whole else []
    criteria += [
        and_(customer == link.company_id, issuer == link.issuer_company_id)
        for link in links
        if link.issuer_company_id is not None
    ]
    return or_(*criteria) if criteria else false()


def visible_invoices(user: User, company_id: int | None = None, *, links=None):
    """A SELECT of the invoices `user` (a recipient) may see: the one rule, used by the
    list, the invoice page, downloads, the pending zip and its counts.

    All invoices of the user's companies (or of one of them), except where the user was
    linked to a company by a limited uploader: there only that issuer's invoices.
    `links`: `company_links(user, company_id)` when the caller has read them already.
    """
    if links is None:
        links = company_links(user, company_id)
    rule = _linked(links, Invoice.customer_company_id, Invoice.issuer_company_id)
    return select(Invoice).where(rule)


def assigned_issuers(user) -> list[Company] | None:
    """The issuer companies a staff user is limited to; None when they are not limited
    (no company assigned: the owner, as a rule). The one rule of company scoping."""
    if user is None or user.kind != "staff" or not user.companies:
        return None
    return [c for c in user.companies if c.kind == "issuer"]


def staff_invoices(user: User) -> Select[Invoice]:
    """A SELECT of the invoices a staff user may see: the one scope of staff reads."""
    return select(Invoice).where(staff_issuers_rule(user, Invoice.issuer_company_id))


def staff_issuers_rule(user: User, issuer_column) -> ColumnElement[bool]:
    """`issuer_column` is one of the issuers the staff user may see (any, unless limited)."""
    issuers = assigned_issuers(user)
    if issuers is None:
        return true()
    return issuer_column.in_([c.id for c in issuers] or [0])


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


def list_page(user: User, *, company_id=None, start=None, end=None, cursor=None, scope=None):
    """One page of the user's invoices, newest first; returns (invoices, next_cursor).

    `scope`: `visible_invoices(user, company_id)` if the caller has it already (the list
    page counts the pending ones of the same scope: its links are read once)."""
    if scope is None:
        scope = visible_invoices(user, company_id)
    query = scope.where(*issue_date_range(start, end))
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
    """A download event; the file is no longer pending for its company. Caller commits."""
    db.session.add(
        DownloadEvent(
            tenant_id=invoice.tenant_id, invoice_id=invoice.id, user_id=user.id, what=what
        )
    )
    mark_downloaded([(invoice.id, what)])


def mark_downloaded(files: Iterable[tuple[int, str]]) -> None:
    """Mark each (invoice id, "xml" | "pdf") downloaded, once: the first time stays."""
    by_kind: dict[str, list[int]] = {kind: [] for kind in FILE_KINDS}
    for invoice_id, kind in files:
        by_kind[kind].append(invoice_id)
    now = clock.now()
    for kind, ids in by_kind.items():
        column = Invoice.xml_downloaded_at if kind == "xml" else Invoice.pdf_downloaded_at
        if ids:
            db.session.execute(
                update(Invoice)
                # An invoice without a PDF has only its XML to download.
                .where(Invoice.id.in_(ids), column.is_(None), *_has_file(kind))
                .values({column: now})
                .execution_options(synchronize_session=False)
            )


def _has_file(kind: str) -> list[ColumnElement[bool]]:
    return [Invoice.pdf_key.is_not(None)] if kind == "pdf" else []


def pending(user: User, company_id=None) -> Select:
    """A SELECT of the user's invoices with a file not downloaded yet (the partial index
    ix_invoice_pending holds exactly those)."""
    return visible_invoices(user, company_id).where(PENDING)


def pending_count(user: User, company_id=None, *, links=None) -> int:
    """How many of the user's invoices have a file not downloaded yet, from the tallies
    the database keeps (PendingTally): one row per customer and issuer, whatever the
    number of invoices. `links` as for `visible_invoices`."""
    if links is None:
        links = company_links(user, company_id)
    rule = _linked(links, PendingTally.customer_company_id, PendingTally.issuer_company_id)
    return int(db.session.scalar(select(func.sum(PendingTally.pending)).where(rule)) or 0)


PENDING_COLUMNS = (
    Invoice.id,
    Invoice.pdf_key,
    Invoice.xml_downloaded_at,
    Invoice.pdf_downloaded_at,
)


def pending_files(user: User, company_id=None) -> list[tuple[int, str]]:
    """(invoice id, "xml" | "pdf") of every file of the user's invoices not downloaded
    yet, by invoice: what the pending-downloads zip holds (with a printable copy for an
    invoice that came without a PDF)."""
    rows = db.session.execute(
        pending(user, company_id).with_only_columns(*PENDING_COLUMNS).order_by(Invoice.id)
    ).all()
    files = []
    for row in rows:
        kinds = undownloaded_files(row)
        if row.pdf_key is None and kinds == ["xml"]:
            kinds.append("pdf")  # its printable copy, made by the zip's job
        files += [(row.id, kind) for kind in kinds]
    return files

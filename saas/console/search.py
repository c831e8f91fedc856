"""The console's invoice search: every customer's invoices, newest first by keyset,
found by number, customer name (accents and case aside) or tax id (however written).

Index-driven at a million invoices on PostgreSQL with row-level security (see
saas.textsearch for why comparisons and not LIKE on the invoices): a number is a range
of ix_invoice_number_prefix; customers are found first in their small table, then their
newest invoices one customer at a time from ix_invoice_customer_listing. Reads start
from `portal.visibility.staff_invoices(user)`, the one scope of what staff may see.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from sqlalchemy import func, literal, or_, select, true, tuple_
from sqlalchemy.dialects import postgresql

from saas import textsearch
from saas.auth.models import User
from saas.companies import Company
from saas.einvoice.taxids import InvalidTaxId, normalize_tax_id
from saas.extensions import db
from saas.portal import visibility
from saas.portal.models import Invoice
from saas.tenancy import current_tenant

PAGE_SIZE = 50


def search_invoices(user: User, *, text="", start=None, end=None, cursor=None):
    """A page of the tenant's invoices, newest first by keyset; `text` matches the
    number, the customer's name or its tax id. Returns (invoices, next_cursor)."""
    query = visibility.staff_invoices(user).where(*visibility.issue_date_range(start, end))
    text = (text or "").strip()
    if not text:
        return visibility.newest_first(query, cursor, PAGE_SIZE)
    # Two index-driven reads instead of one OR the planner cannot split: the invoices
    # whose number starts with the text, and those of the matching customers (found
    # first: a small table); each gives at most a page, merged here.
    needle = textsearch.fold(text)
    dialect = db.engine.dialect.name
    by_number = _newest(
        query.where(textsearch.starts_with(Invoice.search_number, needle, dialect)), cursor
    )
    customers = db.session.scalars(_matching_customers(text, needle)).all()
    by_customer = _customers_invoices(query, customers, cursor) if customers else []
    rows = sorted(
        {invoice.id: invoice for invoice in [*by_number, *by_customer]}.values(),
        key=lambda invoice: (invoice.issue_date, invoice.id),
        reverse=True,
    )
    if len(rows) > PAGE_SIZE:
        return rows[:PAGE_SIZE], visibility.encode_cursor(rows[PAGE_SIZE - 1])
    return rows, None


def _matching_customers(text: str, needle: str):
    """The ids of the companies whose name holds `text` (accents and case aside), or
    whose tax id holds it as typed with dots, spaces or a check digit."""
    by_customer = [textsearch.contains(Company.search_name, needle)]
    compact = textsearch.compact_tax_id(text)
    if compact:
        by_customer.append(textsearch.contains(Company.search_tax_id, compact))
    with contextlib.suppress(InvalidTaxId):  # a whole tax id in another spelling
        by_customer.append(Company.tax_id == normalize_tax_id(current_tenant.country, text))
    return select(Company.id).where(or_(*by_customer))


# Up to this many customers, each one's newest invoices are read apart from its index
# (a LATERAL join on PostgreSQL) and merged; more customers than this are a fair share
# of the tenant, and reading the tenant's newest invoices until a page matches is faster.
LATERAL_CUSTOMERS = 200


def _customers_invoices(query, customers: Sequence[int], cursor) -> Sequence[Invoice]:
    """At most a page (plus one) of the invoices of `customers` in `query`, newest first."""
    if db.engine.dialect.name != "postgresql" or len(customers) > LATERAL_CUSTOMERS:
        return _newest(query.where(Invoice.customer_company_id.in_(customers)), cursor)
    each = func.unnest(postgresql.array(customers)).table_valued("id").render_derived("c")
    per_customer = (
        _newest_first(query.where(Invoice.customer_company_id == each.c.id), cursor)
        .with_only_columns(Invoice.id, Invoice.issue_date)
        .lateral("per_customer")
    )
    page = (
        select(per_customer.c.id)
        .select_from(each)
        .join(per_customer, true())
        .order_by(per_customer.c.issue_date.desc(), per_customer.c.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    ids: Sequence[int] = db.session.scalars(page).all()
    return db.session.scalars(query.where(Invoice.id.in_(ids))).all() if ids else []


def _newest(query, cursor) -> Sequence[Invoice]:
    """A page and one more of `query`'s invoices below the cursor: one more, so that the
    merged page knows whether another follows."""
    return db.session.scalars(_newest_first(query, cursor)).all()


def _newest_first(query, cursor):
    """`query` below the keyset cursor, newest first, a page and one: as
    `visibility.newest_first` bounds and orders it."""
    if cursor is not None:
        after_date, after_id = cursor
        query = query.where(
            Invoice.issue_date <= after_date,
            tuple_(Invoice.issue_date, Invoice.id) < tuple_(literal(after_date), literal(after_id)),
        )
    return query.order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(PAGE_SIZE + 1)

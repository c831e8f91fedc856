"""The console's search merges two reads (numbers, customers' invoices) into one page
newest first: the next page starts where the merged one ended, nothing twice or missed,
and another tenant's invoices never come in. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from saas.auth.models import User
from saas.console import search
from saas.extensions import db
from saas.portal import visibility
from saas.portal.models import Invoice
from saas.tenancy import all_tenants
from tests.factories import CompanyFactory, TenantFactory
from tests.portal.test_page_cost import add_invoices, shop  # noqa: F401  shop: a fixture


def every_page(shop, text_: str) -> list[str]:  # noqa: F811
    from flask import g

    from saas.tenancy import load_tenant

    g.tenant = load_tenant(shop["slug"])
    admin = db.session.scalars(select(User).where(User.username == shop["admin"])).one()
    numbers, cursor = [], None
    while True:
        rows, next_cursor = search.search_invoices(admin, text=text_, cursor=cursor)
        numbers += [invoice.number for invoice in rows]
        if next_cursor is None:
            return numbers
        assert len(rows) == search.PAGE_SIZE
        cursor = visibility.decode_cursor(next_cursor)


def newest_first(where) -> list[str]:
    with all_tenants():
        query = select(Invoice.number).where(where)
        return list(
            db.session.scalars(query.order_by(Invoice.issue_date.desc(), Invoice.id.desc()))
        )


def test_pages_of_a_customer_search_follow_each_other(app, shop):  # noqa: F811
    add_invoices(app, shop, 70)  # "Customer S.A.S."
    add_invoices(app, shop, 45, customer=shop["other"])  # "Other Customer S.A.S."
    with app.app_context():
        stranger = TenantFactory()
        CompanyFactory(tenant=stranger, name="Customer S.A.S.")
        db.session.commit()
        found = every_page(shop, "CUSTOMER s.a.s")
        assert found == newest_first(Invoice.tenant_id == shop["tenant"])
        assert len(found) == 115 == len(set(found))
        assert every_page(shop, "other customer") == newest_first(
            Invoice.customer_company_id == shop["other"]
        )


def test_numbers_and_customers_merge_without_duplicates(app, shop):  # noqa: F811
    add_invoices(app, shop, 60)
    with app.app_context():
        # Bulk-inserted rows have their search_number too: the database computes it.
        with all_tenants():
            numbers = list(db.session.scalars(select(Invoice.search_number)))
        assert numbers and all(n.startswith("fe-") for n in numbers)
        prefix = min(numbers, key=len)[:-1]  # "fe-30" of "fe-301": fe-30, fe-300..309
        some = every_page(shop, prefix.upper())
        expected = newest_first(Invoice.tenant_id == shop["tenant"])
        assert some == [n for n in expected if n.lower().startswith(prefix)]
        assert 1 < len(some) < len(expected)
        assert every_page(shop, "no such thing") == []

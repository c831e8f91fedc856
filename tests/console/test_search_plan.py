"""The console's invoice search is index-driven on PostgreSQL (issue 17), with row-level
security applying (the suite's role): a number is a range of ix_invoice_number_prefix,
the matching customers' newest invoices come from ix_invoice_customer_listing one
customer at a time (LATERAL, each stopping at a page), and the page's rows by primary
key. Only the tenant's companies are scanned (a small table: LIKE, not leakproof, can use
no index under row-level security; see saas.textsearch)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select, text

from saas.auth.models import User
from saas.companies import Company
from saas.console import search
from saas.extensions import db
from saas.portal.models import Invoice
from saas.tenancy import all_tenants
from tests.portal.test_page_cost import add_invoices, shop  # noqa: F401  shop: a fixture

pytestmark = pytest.mark.postgres


def more_customers(app, shop, count: int) -> list[int]:  # noqa: F811
    rows = [
        {
            "tenant_id": shop["tenant"],
            "tax_id": f"{700000000 + n}-1",
            "search_tax_id": f"{700000000 + n}1",
            "name": f"Ferretería Núñez {n}",
            "search_name": f"ferreteria nunez {n}",
            "kind": "customer",
        }
        for n in range(count)
    ]
    with app.app_context(), all_tenants():
        ids = db.session.scalars(insert(Company).returning(Company.id), rows).all()
        db.session.commit()
    return list(ids)


def plans_of_search(shop, text_: str):  # noqa: F811
    """What `search_invoices(text_)` finds, and the plan of each statement it sends."""
    from flask import g

    from saas.tenancy import load_tenant

    g.tenant = load_tenant(shop["slug"])
    admin = db.session.scalars(select(User).where(User.username == shop["admin"])).one()
    sent: list[tuple[str, object]] = []

    def listen(conn, cursor, statement, parameters, *args):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        rows, _ = search.search_invoices(admin, text=text_)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    connection = db.session.connection()
    plans = {
        sql: "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}", params))
        for sql, params in sent
        if "FROM invoice" in sql or "FROM company" in sql
    }
    return sorted(invoice.number for invoice in rows), plans


@pytest.fixture
def searchable(app, shop):  # noqa: F811
    """300 more customers, 40 of them with 20 invoices each, and 200 of the shop's."""
    ids = more_customers(app, shop, 300)
    for customer in ids[:40]:
        add_invoices(app, shop, 20, customer=customer)
    add_invoices(app, shop, 200)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
    return ids


def prepare() -> None:
    db.session.execute(text("ANALYZE company"))
    db.session.execute(text("ANALYZE invoice"))
    # Tables this small favour reading them whole: the point is which index can answer.
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    db.session.execute(text("SET LOCAL enable_bitmapscan = off"))


def invoice_scans(plan: str) -> list[str]:
    return [line.strip() for line in plan.splitlines() if " on invoice" in line]


def test_a_number_is_a_range_of_the_prefix_index(app, shop, searchable):  # noqa: F811
    with app.app_context():
        prepare()
        with all_tenants():
            number = db.session.scalars(select(Invoice.number).order_by(Invoice.id.desc())).first()
        found, plans = plans_of_search(shop, number.lower())
        assert found == [number]
        [by_number] = [p for sql, p in plans.items() if "search_number" in sql]
        [scan] = invoice_scans(by_number)
        assert "Index Scan using ix_invoice_number_prefix on invoice" in scan, by_number
        # Both bounds are index conditions, ahead of the row-level security filter.
        [condition] = [line for line in by_number.splitlines() if "Index Cond" in line]
        assert "~>=~" in condition and "~<~" in condition, by_number


def test_a_name_finds_the_customers_then_their_invoices_by_index(app, shop, searchable):  # noqa: F811
    with app.app_context():
        prepare()
        # "núñez 1" matches 111 of the customers (1, 10-19, 100-199), 11 with invoices.
        found, plans = plans_of_search(shop, "NÚÑEZ 1")
        assert len(found) == search.PAGE_SIZE
        assert any("unnest" in sql for sql in plans), list(plans)
        for sql, plan in plans.items():
            assert "Seq Scan on invoice" not in plan, plan
            if "FROM company" in sql and "invoice" not in sql:
                continue  # the tenant's companies, by ix_company_tenant_id
            if "unnest" in sql:  # each customer's newest invoices, a page at most
                assert "Function Scan on unnest" in plan and "Limit" in plan, plan
                scans = invoice_scans(plan)
                assert scans and all("ix_invoice_customer_listing" in s for s in scans), plan
            else:
                scans = invoice_scans(plan)
                assert scans and all(
                    "ix_invoice_number_prefix" in s or "pk_invoice" in s for s in scans
                ), plan


def test_a_tax_id_with_dots_and_check_digit_finds_its_customer(app, shop, searchable):  # noqa: F811
    with app.app_context():
        prepare()
        found, plans = plans_of_search(shop, "700.000.003-1")
        assert len(found) == 20
        with all_tenants():
            numbers = db.session.scalars(
                select(Invoice.number).where(Invoice.customer_company_id == searchable[3])
            ).all()
        assert found == sorted(numbers)
        assert not any("Seq Scan on invoice" in plan for plan in plans.values())

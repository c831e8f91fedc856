"""Constant cost per page (issue 17): the list, the invoice page and the console's pages
send the same few SQL statements whatever the customer's history, and the "Pending
downloads" badge and the dashboard read the tallies the database keeps, never the
invoices."""

from __future__ import annotations

import itertools
import re
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, insert, select, text

from saas.auth.models import User
from saas.companies import Company
from saas.extensions import db
from saas.portal import visibility
from saas.portal.models import Invoice
from saas.tenancy import all_tenants
from tests import html
from tests.auth.conftest import sign_in
from tests.factories import PASSWORD, CompanyFactory, TenantFactory, UserFactory

_numbers = itertools.count(1)


@pytest.fixture
def shop(app):
    """A tenant with an issuer, a customer, its recipient and an Administrator: ids."""
    with app.app_context():
        tenant = TenantFactory(locales=["en"])
        issuer = CompanyFactory(tenant=tenant, kind="issuer", name="Issuer S.A.S.")
        customer = CompanyFactory(tenant=tenant, name="Customer S.A.S.")
        other = CompanyFactory(tenant=tenant, name="Other Customer S.A.S.")
        recipient = UserFactory(tenant=tenant, kind="recipient", role=None, companies=[customer])
        admin = UserFactory(tenant=tenant, role="admin")
        ids = {
            "tenant": tenant.id,
            "slug": tenant.slug,
            "issuer": issuer.id,
            "customer": customer.id,
            "other": other.id,
            "recipient": recipient.username,
            "recipient_id": recipient.id,
            "admin": admin.username,
        }
        db.session.commit()  # after reading the ids: with row-level security, a refresh
        return ids  # outside the tenant would find nothing


def add_invoices(app, shop, count: int, *, customer=None, downloaded=False, pdf=False):
    """`count` invoices of the shop's issuer for its customer (or `customer`), in one
    INSERT; `downloaded` sets their files downloaded."""
    now = datetime(2026, 11, 20)
    when = now if downloaded else None
    rows = []
    for _ in range(count):
        n = next(_numbers)
        rows.append(
            {
                "tenant_id": shop["tenant"],
                "issuer_company_id": shop["issuer"],
                "customer_company_id": customer or shop["customer"],
                "number": f"FE-{n}",
                "kind": "invoice",
                "issue_date": date(2026, 1, 1) + timedelta(days=n % 300),
                "currency": "COP",
                "total": Decimal("1190.50"),
                "tax_total": Decimal("190.50"),
                "amount_decimals": 2,
                "national_id": f"cost-{n}",
                "format": "ubl21-co",
                "xml_key": f"x/{n}.xml",
                "xml_sha256": "0" * 64,
                "xml_size": 1,
                "xml_crc32": 0,
                "pdf_key": f"x/{n}.pdf" if pdf else None,
                "pdf_size": 1 if pdf else None,
                "pdf_crc32": 0 if pdf else None,
                "xml_downloaded_at": when,
                "pdf_downloaded_at": when if pdf else None,
                "created_at": now - timedelta(days=n % 200),
            }
        )
    with app.app_context(), all_tenants():
        db.session.execute(insert(Invoice), rows)
        db.session.commit()


@contextmanager
def statements(app):
    """The SQL statements sent meanwhile (not the test's own SAVEPOINTs)."""
    sent: list[str] = []

    def listen(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def count_statements(app, client, url):
    client.get(url)  # the first request of a session may do one-time work
    with statements(app) as sent:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(sent), response


def signed_in(app, shop, who):
    client = app.test_client()
    response = sign_in(client, shop["slug"], shop[who], PASSWORD)
    assert response.status_code in (302, 303)
    return client


def test_the_list_sends_the_same_few_statements_whatever_the_history(app, shop):
    client = signed_in(app, shop, "recipient")
    url = f"/t/{shop['slug']}/invoices?lang=en"
    add_invoices(app, shop, 3)
    small, page = count_statements(app, client, url)
    assert len(html.invoice_rows(html.doc(page))) == 3
    add_invoices(app, shop, 80)
    add_invoices(app, shop, 40, downloaded=True, pdf=True)
    add_invoices(app, shop, 30, customer=shop["other"])  # not theirs
    large, page = count_statements(app, client, url)
    doc = html.doc(page)
    assert len(html.invoice_rows(doc)) == visibility.PAGE_SIZE
    assert html.text(doc, "//form[@id='pending-form']//span[@class='badge']") == "83"
    # The tenant, the signed-in user, their companies, their links, the page, the badge.
    assert small == large <= 6
    # A deeper page ("Load more") costs the same.
    next_url = doc.xpath("//tr[@id='load-more']//a/@href")[0]
    deep, _ = count_statements(app, client, next_url)
    assert deep == large


def test_rows_link_to_each_invoice_and_its_files(app, shop):
    """The row URLs are built from one prefix: each still leads to its own invoice."""
    add_invoices(app, shop, 2, pdf=True)
    client = signed_in(app, shop, "recipient")
    doc = html.doc(client.get(f"/t/{shop['slug']}/invoices?lang=en"))
    with app.app_context(), all_tenants():
        ids = {i.number: i.id for i in db.session.scalars(select(Invoice))}
    for row in html.invoice_rows(doc):
        number = html.text(row, "td[1]/a")
        links = row.xpath(".//a/@href")
        invoice_url = f"/t/{shop['slug']}/invoices/{ids[number]}"
        assert links == [invoice_url, f"{invoice_url}/pdf", f"{invoice_url}/xml"]
        assert client.get(links[0]).status_code == 200


def test_the_invoice_page_sends_the_same_few_statements(app, shop):
    add_invoices(app, shop, 1)
    client = signed_in(app, shop, "recipient")
    with app.app_context(), all_tenants():
        first = db.session.scalar(select(Invoice.id).order_by(Invoice.id.desc()))
    url = f"/t/{shop['slug']}/invoices/{first}?lang=en"
    small, _ = count_statements(app, client, url)
    add_invoices(app, shop, 100)
    large, page = count_statements(app, client, url)
    assert html.text(html.doc(page), "//h1").endswith(f"FE-{next(_numbers) - 101}")
    assert small == large <= 4


def test_the_console_dashboard_and_list_send_the_same_few_statements(app, shop):
    client = signed_in(app, shop, "admin")
    dashboard, listing = (
        f"/t/{shop['slug']}/console/?lang=en",
        f"/t/{shop['slug']}/console/invoices",
    )
    add_invoices(app, shop, 2)
    small_dashboard, _ = count_statements(app, client, dashboard)
    small_list, _ = count_statements(app, client, listing)
    add_invoices(app, shop, 60)
    add_invoices(app, shop, 40, downloaded=True, pdf=True)
    add_invoices(app, shop, 30, customer=shop["other"])
    large_dashboard, page = count_statements(app, client, dashboard)
    large_list, _ = count_statements(app, client, listing)
    assert small_dashboard == large_dashboard <= 8
    assert small_list == large_list <= 5
    doc = html.doc(page)
    [issuer_row] = [r for r in doc.xpath("//table//tr[td]") if "Issuer S.A.S." in html.text(r)]
    cells = [html.text(td) for td in issuer_row.xpath("td")]
    assert cells[1:3] == ["132", "92"]  # invoices, still pending


def test_the_dashboard_counts_per_month_pending_and_issuer(app, shop):
    from saas import clock
    from saas.console import services

    add_invoices(app, shop, 10)
    add_invoices(app, shop, 5, downloaded=True)
    with app.app_context():
        from flask import g

        from saas.tenancy import load_tenant

        g.tenant = load_tenant(shop["slug"])
        with all_tenants():
            created = list(db.session.scalars(select(Invoice.created_at)))
            pending_truth = sum(1 for i in db.session.scalars(select(Invoice)) if not i.downloaded)
        admin = db.session.scalars(select(User).where(User.username == shop["admin"])).one()
        stats = services.dashboard(admin)
        today = clock.now().date()
        expected = {
            (m.year, m.month): sum(1 for c in created if (c.year, c.month) == (m.year, m.month))
            for m, _ in stats.months
        }
        assert {(m.year, m.month): n for m, n in stats.months} == expected
        assert stats.months[-1][0] == date(today.year, today.month, 1)
        assert (stats.downloaded, stats.pending) == (15 - pending_truth, pending_truth)
        issuer = db.session.get(Company, shop["issuer"])
        assert stats.issuers == [(issuer.name, 15, pending_truth)]


# --- the counts come from the tallies, not from the invoices ------------------------------


def plan(statement) -> str:
    """PostgreSQL's plan of a SELECT (its values written in, as EXPLAIN needs)."""
    sql = statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    return "\n".join(db.session.execute(text(f"EXPLAIN {sql}")).scalars())


@pytest.mark.postgres
def test_the_pending_zip_reads_the_pending_invoices_from_the_partial_index(app, shop):
    """What the zip holds is read from ix_invoice_pending: the pending ones, not the
    customer's whole history."""
    add_invoices(app, shop, 200, downloaded=True, pdf=True)
    add_invoices(app, shop, 7)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        from flask import g

        from saas.tenancy import load_tenant

        g.tenant = load_tenant(shop["slug"])
        user = db.session.get(User, shop["recipient_id"])
        # Each XML, and the printable copy each gets (they came without a PDF).
        assert len(visibility.pending_files(user)) == 14
        db.session.execute(text("ANALYZE invoice"))
        # Tiny tables favour a sequential scan; the point is that the index answers.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        query = visibility.pending(user).with_only_columns(*visibility.PENDING_COLUMNS)
        found = plan(query.where(Invoice.tenant_id == shop["tenant"]))
        assert "ix_invoice_pending" in found, found
        assert "ix_invoice_customer_listing" not in found


def reads_invoices(statement: str) -> bool:
    """The statement names the invoice table (not only a tally)."""
    return re.search(r"\binvoice\b(?!_)", statement) is not None


def test_the_pending_badge_reads_the_tally_not_the_invoices(app, shop):
    """The badge's figure comes from one row per issuer and customer (PendingTally,
    kept by the database): its cost does not grow with the invoices, pending or not."""
    add_invoices(app, shop, 200, downloaded=True, pdf=True)
    add_invoices(app, shop, 7)
    add_invoices(app, shop, 3, customer=shop["other"])
    with app.app_context():
        from flask import g

        from saas.tenancy import load_tenant

        g.tenant = load_tenant(shop["slug"])
        user = db.session.get(User, shop["recipient_id"])
        with statements(app) as sent:
            assert visibility.pending_count(user) == 7
        counting = [s for s in sent if "pending_tally" in s]
        assert len(counting) == 1
        assert not any(reads_invoices(s) for s in sent), sent


def test_the_dashboard_reads_the_tallies_not_the_invoices(app, shop):
    """The dashboard's three statements read the tallies the database keeps (a row per
    issuer and month, per issuer and customer): none reads the invoices."""
    from saas.console import services

    add_invoices(app, shop, 50, downloaded=True, pdf=True)
    add_invoices(app, shop, 5)
    with app.app_context():
        from flask import g

        from saas.tenancy import load_tenant

        g.tenant = load_tenant(shop["slug"])
        admin = db.session.scalars(select(User).where(User.username == shop["admin"])).one()
        with statements(app) as sent:
            stats = services.dashboard(admin)
        assert (stats.total, stats.pending, stats.downloaded) == (55, 5, 50)
        assert stats.issuers == [("Issuer S.A.S.", 55, 5)]
        tallies = [s for s in sent if "monthly_tally" in s or "pending_tally" in s]
        assert len(tallies) == 3
        assert not any(reads_invoices(s) for s in sent), sent

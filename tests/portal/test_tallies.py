"""The tallies the database keeps (migration 0015): after every way of writing invoices
they agree with counting the invoices themselves, on SQLite and on PostgreSQL, also when
two people download the same file at once."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, insert, select, text

from saas.extensions import db
from saas.portal.models import PENDING, Invoice, MonthlyTally, PendingTally
from saas.tenancy import all_tenants
from tests.auth.conftest import sign_in
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import activate, publish_for
from tests.portal.test_file_downloads import EMAIL, ids_by_number, pending_badge, recipient_with

PASSWORD = "el cafe de la sierra nevada"

TRIGGERS = {"invoice_tally_insert", "invoice_tally_update", "invoice_tally_delete"}


def kept(app) -> tuple[dict, dict]:
    """(pending per customer and issuer, invoices per issuer and month) as the tallies
    hold them, leaving out the zeros a tally keeps after its invoices went."""
    with app.app_context(), all_tenants():
        pending = {
            (row.customer_company_id, row.issuer_company_id): row.pending
            for row in db.session.scalars(select(PendingTally))
            if row.pending
        }
        monthly = {
            (row.issuer_company_id, row.month): row.invoices
            for row in db.session.scalars(select(MonthlyTally))
            if row.invoices
        }
    return pending, monthly


def counted(app) -> tuple[dict, dict]:
    """The same figures counted from the invoices."""
    with app.app_context(), all_tenants():
        pairs = (Invoice.customer_company_id, Invoice.issuer_company_id)
        pending = dict(
            ((customer, issuer), n)
            for customer, issuer, n in db.session.execute(
                select(*pairs, func.count()).where(PENDING).group_by(*pairs)
            )
        )
        monthly: dict = {}
        for issuer, created in db.session.execute(
            select(Invoice.issuer_company_id, Invoice.created_at)
        ):
            key = (issuer, created.date().replace(day=1))
            monthly[key] = monthly.get(key, 0) + 1
    return pending, monthly


def test_the_head_schema_has_the_tally_triggers(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            found = db.session.scalars(
                text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'invoice'::regclass")
            ).all()
        else:
            found = db.session.scalars(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).all()
    assert set(found) >= TRIGGERS


def test_publishing_and_downloads_keep_the_tallies(app, tenants):
    client = recipient_with(app, ("FE-1", True), ("FE-2", False), ("FE-3", True))
    assert kept(app) == counted(app)
    assert kept(app)[0] and pending_badge(client) == "3"
    ids = ids_by_number(app)
    client.get(f"/t/intertec/invoices/{ids['FE-1']}/xml")  # its PDF is still pending
    client.get(f"/t/intertec/invoices/{ids['FE-2']}/xml")  # no PDF: done
    assert kept(app) == counted(app)
    assert pending_badge(client) == "2"
    client.get(f"/t/intertec/invoices/{ids['FE-1']}/pdf")
    client.get(f"/t/intertec/invoices/{ids['FE-1']}/pdf")  # again: nothing changes
    assert pending_badge(client) == "1"
    # Another customer's invoice, published later, counts for that customer alone.
    publish_for(
        app,
        "intertec",
        ubl_invoice("FE-9", customer="cafetera", email="pagos@cafetera.example"),
        fake_pdf("FE-9"),
    )
    assert kept(app) == counted(app)
    assert pending_badge(client) == "1"


def test_a_bulk_insert_an_update_and_a_delete_keep_the_tallies(app, tenants):
    """Writes that bypass the app's services (an operator's SQL, a bulk load) too."""
    publish_for(app, "intertec", ubl_invoice("FE-1"), fake_pdf("FE-1"))
    with app.app_context(), all_tenants():
        first = db.session.scalars(select(Invoice)).one()
        columns = {
            c: getattr(first, c)
            for c in (
                "tenant_id", "issuer_company_id", "customer_company_id", "kind", "currency",
                "total", "tax_total", "format", "xml_key", "xml_sha256", "xml_size", "xml_crc32",
            )
        }  # fmt: skip
        rows = [
            {
                **columns,
                "number": f"B-{n}",
                "national_id": f"bulk-{n}",
                "issue_date": date(2026, 2, 1),
                "created_at": first.created_at.replace(year=2025, month=1 + n % 12),
            }
            for n in range(30)
        ]
        db.session.execute(insert(Invoice), rows)
        db.session.commit()
    assert kept(app) == counted(app)
    with app.app_context(), all_tenants():
        db.session.execute(
            text("UPDATE invoice SET xml_downloaded_at = created_at WHERE number LIKE 'B-1%'")
        )
        db.session.execute(text("DELETE FROM invoice WHERE number IN ('B-2', 'B-25', 'FE-1')"))
        db.session.commit()
    assert kept(app) == counted(app)
    assert sum(kept(app)[0].values()) == 30 - 11 - 2  # B-1, B-10..B-19 done; two deleted


@pytest.mark.postgres
@pytest.mark.committed
def test_two_downloads_of_the_same_file_at_once_lower_the_tally_once(app, tenants):
    """Four sessions of one person fetch the same XML at the same moment: the invoice
    stops being pending once, and the tally drops by one, not four."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
    for number in ("FE-1", "FE-2"):
        publish_for(app, "intertec", ubl_invoice(number))
    username = activate(app.test_client(), app, EMAIL, PASSWORD)
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        assert sign_in(client, "intertec", username, PASSWORD).status_code in (302, 303)
    invoice_id = ids_by_number(app)["FE-1"]
    barrier = threading.Barrier(len(clients))
    answers: list[int] = []

    def download(client):
        barrier.wait()
        answers.append(client.get(f"/t/intertec/invoices/{invoice_id}/xml").status_code)

    threads = [threading.Thread(target=download, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * len(clients)
    assert kept(app) == counted(app)
    assert sum(kept(app)[0].values()) == 1

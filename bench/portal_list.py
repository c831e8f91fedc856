"""Portal list speed: keyset pagination against OFFSET, on SQLite and PostgreSQL.

One tenant with ROWS invoices (default 1,000,000) over 20 customers, one of which has
HEAVY (default 50,000). For that customer it times the filtered first page and page
500, through the portal's own `list_page` (keyset) and the same query with OFFSET,
and prints median and p99 in milliseconds.

On PostgreSQL the same data is measured twice in one run: connected as a superuser,
which row-level security skips, and as an ordinary role it applies to (the way the
README runs the app), so the cost of the second wall between tenants is the ratio.

    .venv/bin/python bench/portal_list.py                  # SQLite, in a temp folder
    .venv/bin/python bench/portal_list.py --postgres postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
PAGE = 25
ROLE = "saas_bench"  # neither superuser nor BYPASSRLS: row-level security applies


def build_app(url: str, folder: Path):
    from flask_migrate import upgrade

    from saas import create_app

    app = create_app(
        {
            "DATABASE_URL": url,
            "STORAGE_URL": f"file://{folder}/storage",
            "MAIL_URL": "outbox://",
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(folder / "instance"),
            "REDIS_URL": None,
        }
    )
    from saas.tenancy import all_tenants

    with app.app_context(), all_tenants():
        upgrade()
    return app


def fill(app, rows: int, heavy: int):
    from saas.auth.models import User
    from saas.companies import Company, membership
    from saas.extensions import db
    from saas.tenancy import all_tenants
    from saas.tenancy.models import Tenant

    with app.app_context(), all_tenants():
        tenant = Tenant(
            slug="bench",
            name="Bench",
            country="CO",
            currency="COP",
            timezone="America/Bogota",
            locales=["es"],
            login_methods=["password"],
            password_reset="email",
            onboarding="two_emails",
            plan="basic",
            primary_color="#224488",
            support_phones=[],
        )
        db.session.add(tenant)
        db.session.flush()
        issuer = Company(tenant_id=tenant.id, tax_id="900123456-8", name="Issuer", kind="issuer")
        customers = [
            Company(tenant_id=tenant.id, tax_id=f"8000000{n:02d}-1", name=f"C{n}", kind="customer")
            for n in range(20)
        ]
        db.session.add_all([issuer, *customers])
        db.session.flush()
        user = User(
            tenant_id=tenant.id, email="r@bench.example", username="r", name="R", kind="recipient"
        )
        db.session.add(user)
        db.session.flush()
        db.session.execute(insert(membership).values(user_id=user.id, company_id=customers[0].id))
        db.session.commit()
        rng = random.Random(7)
        start = date(2020, 1, 1)
        batch = []
        t0 = time.perf_counter()
        for n in range(rows):
            customer = customers[0] if n < heavy else customers[1 + n % 19]
            batch.append(
                {
                    "tenant_id": tenant.id,
                    "issuer_company_id": issuer.id,
                    "customer_company_id": customer.id,
                    "number": f"FE-{n}",
                    "kind": "invoice",
                    "issue_date": start + timedelta(days=rng.randrange(6 * 365)),
                    "currency": "COP",
                    "total": Decimal("119000.00"),
                    "tax_total": Decimal("19000.00"),
                    "national_id": uuid.UUID(int=n).hex,
                    "format": "ubl21-co",
                    "xml_key": f"tenants/{tenant.id}/x/{n}.xml",
                    "xml_sha256": "0" * 64,
                    "xml_size": 20_000,
                    "xml_crc32": 0,
                    "pdf_key": None,
                    "created_at": start,
                }
            )
            if len(batch) == 20_000:
                insert_rows(batch)
                batch.clear()
        if batch:
            insert_rows(batch)
        if db.engine.dialect.name == "postgresql":
            # As autovacuum leaves a table that has been in use a while: visibility map
            # set (index-only scans), statistics fresh.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE invoice"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"  inserted {rows:,} invoices in {time.perf_counter() - t0:.1f} s")
        return user.id


def insert_rows(rows: list[dict]) -> None:
    """Invoices in multi-row INSERTs of 2,000 (PostgreSQL's limit is 65,535 parameters),
    committed: the tally triggers then run once per statement, as for the API's batch,
    not once per row as an executemany would make them."""
    from saas.extensions import db
    from saas.portal.models import Invoice

    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Invoice).values(rows[start : start + 2000]))
    db.session.commit()


def samples(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def one_round(app, user_id: int, runs: int) -> dict[str, list[float]]:
    from flask import g

    from saas.auth.models import User
    from saas.extensions import db
    from saas.portal import visibility
    from saas.portal.models import Invoice
    from saas.tenancy.models import Tenant

    with app.app_context():
        g.tenant = db.session.scalars(db.select(Tenant)).one()
        user = db.session.get(User, user_id)
        start, end = date(2021, 1, 1), date(2024, 12, 31)
        # The cursor that page 500 starts after, as the portal would have handed it out.
        query = visibility.visible_invoices(user).where(*visibility.issue_date_range(start, end))
        ordered = query.order_by(Invoice.issue_date.desc(), Invoice.id.desc())
        row = db.session.execute(
            ordered.with_only_columns(Invoice.issue_date, Invoice.id).offset(499 * PAGE).limit(1)
        ).one()
        cursor = (row.issue_date, row.id)

        def keyset(cursor=None):
            visibility.list_page(user, start=start, end=end, cursor=cursor)
            db.session.expunge_all()

        def offset(page):
            db.session.scalars(ordered.offset((page - 1) * PAGE).limit(PAGE + 1)).all()
            db.session.expunge_all()

        cases = {
            "first page, keyset": lambda: keyset(),
            "page 500, keyset": lambda: keyset(cursor),
            "first page, OFFSET": lambda: offset(1),
            "page 500, OFFSET": lambda: offset(500),
        }
        for fn in cases.values():
            samples(fn, 3)  # warm: plans cached, pages in memory
        return {name: samples(fn, runs) for name, fn in cases.items()}


def measure(apps: dict, user_id: int, runs: int, rounds: int = 10) -> dict:
    """Median and p99 per case for each app; the apps take turns, round after round,
    so a slower minute of the machine falls on all of them alike."""
    times = {label: {} for label in apps}
    for _ in range(rounds):
        for label, app in apps.items():
            for name, values in one_round(app, user_id, max(1, runs // rounds)).items():
                times[label].setdefault(name, []).extend(values)
    results = {}
    for label, cases in times.items():
        print(f"  {label}:")
        results[label] = {name: summary(values) for name, values in cases.items()}
        for name, (median, p99) in results[label].items():
            print(f"    {name:<20} median {median:7.2f} ms   p99 {p99:7.2f} ms")
    return results


def postgres_database(server: str) -> tuple[str, str, str]:
    """A new database owned by the bench role: (its name, the role's URL, the server
    user's URL of the same database)."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if (
            conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ROLE}).first()
            is None
        ):
            conn.execute(text(f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER {ROLE}'))
    admin.dispose()
    url = make_url(server).set(database=name)
    as_role = url.set(username=ROLE, password=None).render_as_string(hide_password=False)
    return name, as_role, url.render_as_string(hide_password=False)


def drop_database(server: str, name: str) -> None:
    """Drop a database postgres_database() made, whoever is still connected to it."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--heavy", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument(
        "--postgres", help="a superuser's server URL; a database is made and dropped"
    )
    args = parser.parse_args()
    from saas.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        name = None
        try:
            if args.postgres:
                name, url, superuser_url = postgres_database(args.postgres)
                kind = "PostgreSQL"
            else:
                url, kind = f"sqlite:///{folder / 'bench.db'}", "SQLite"
            print(f"{kind}: {args.rows:,} invoices, {args.heavy:,} for the measured customer")
            app = build_app(url, folder)
            user_id = fill(app, args.rows, args.heavy)
            if not args.postgres:
                measure({"SQLite": app}, user_id, args.runs)
                return
            bypassed = "as a superuser (row-level security skipped)"
            applied = f"as {ROLE}, neither superuser nor BYPASSRLS (row-level security applies)"
            results = measure(
                {bypassed: build_app(superuser_url, folder), applied: app}, user_id, args.runs
            )
            for label in ("first page, keyset", "page 500, keyset"):
                cost = results[applied][label][0] / results[bypassed][label][0] - 1
                print(f"  row-level security on the {label}: {cost:+.1%} (target: at most +10%)")
            with app.app_context():
                db.engine.dispose()
        finally:
            if name:
                drop_database(args.postgres, name)


if __name__ == "__main__":
    main()

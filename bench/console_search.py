"""Console invoice search speed on PostgreSQL: by number, customer name and tax id.

One Colombian tenant with ROWS invoices (default 1,000,000) over CUSTOMERS customers
(default 5,000) with Spanish names (accents, "S.A.S.", "& Cía.") and real NITs, a few
customers much bigger than the rest. It times `console.search.search_invoices` (what
the console's Invoices page runs) for a number, a fragment of a customer's name typed
without accents, a broad fragment, and a tax id with dots and check digit, and prints
median and p99 in milliseconds (target: median under 50 ms). `--before` also times the
search as it was before migration 0014 (folding every row in the query, no index) on
the same data.

The database is made as a superuser, migrated as an ordinary role that owns it (as the
suite and the README run the app: so pg_trgm is created the way production would), and
searched as that role, with row-level security applying.

    .venv/bin/python bench/console_search.py --postgres postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.portal_list import build_app, drop_database, postgres_database, samples, summary

TRADES = (
    "Ferretería", "Distribuidora", "Panadería", "Café", "Droguería", "Construcciones",
    "Inversiones", "Comercializadora", "Tecnología", "Logística", "Alimentos", "Papelería",
    "Óptica", "Cerrajería", "Transportes", "Muebles",
)  # fmt: skip
SURNAMES = (
    "Núñez", "Gómez", "Peña", "Muñoz", "Martínez", "Rodríguez", "López", "Pérez", "Sánchez",
    "Ramírez", "Jiménez", "Álvarez", "Castaño", "Ibáñez", "Quiñones", "Benítez", "Ordóñez",
    "Montaño", "Zúñiga", "Cárdenas",
)  # fmt: skip
PLACES = ("Bogotá", "Medellín", "Cali", "Cúcuta", "Popayán", "Ibagué", "Montería", "Neiva")
FORMS = ("S.A.S.", "Ltda.", "& Cía. S.A.S.", "S.A.", "Hermanos Ltda.")


def customer_names(count: int, rng: random.Random) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        names.add(
            f"{rng.choice(TRADES)} {rng.choice(SURNAMES)} {rng.choice(PLACES)} {rng.choice(FORMS)}"
        )
    return sorted(names)


def fill(app, superuser_url: str, rows: int, customers: int) -> tuple[int, list[tuple]]:
    """The tenant, its issuers, customers and a staff user (through the models, so their
    search columns are written as the app writes them), then the invoices in one SQL
    statement. Returns the staff user's id and (number, name, tax id) examples."""
    from saas.auth.models import User
    from saas.companies import Company
    from saas.einvoice.taxids import nit_check_digit
    from saas.extensions import db
    from saas.tenancy import all_tenants
    from saas.tenancy.models import Tenant

    rng = random.Random(17)
    t0 = time.perf_counter()
    with app.app_context(), all_tenants():
        tenant = Tenant(
            slug="bench", name="Bench", country="CO", currency="COP", timezone="America/Bogota",
            locales=["es"], login_methods=["password"], password_reset="email",
            onboarding="two_emails", plan="basic", primary_color="#224488", support_phones=[],
        )  # fmt: skip
        db.session.add(tenant)
        db.session.flush()
        numbers = rng.sample(range(10_000_000, 99_999_999), customers + 3)
        nits = [f"{n}-{nit_check_digit(str(n))}" for n in numbers]
        for k in range(3):
            db.session.add(
                Company(tenant_id=tenant.id, tax_id=nits[k], name=f"Emisor {k}", kind="issuer")
            )
        for nit, name in zip(nits[3:], customer_names(customers, rng), strict=True):
            db.session.add(Company(tenant_id=tenant.id, tax_id=nit, name=name, kind="customer"))
        staff = User(
            tenant_id=tenant.id, email="s@bench.example", username="s", name="S", kind="staff"
        )
        db.session.add(staff)
        db.session.commit()
        tenant_id, staff_id = tenant.id, staff.id
    # As the superuser (row-level security would want a tenant per statement): the
    # customer of each invoice is skewed, random()^3, so a few customers have tens of
    # thousands of invoices and most a few dozen.
    engine = create_engine(superuser_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                WITH c AS (
                    SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
                    FROM company WHERE tenant_id = :t AND kind = 'customer'
                ), i AS (
                    SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
                    FROM company WHERE tenant_id = :t AND kind = 'issuer'
                ), g AS (
                    SELECT n, floor(power(random(), 3) * :customers)::int AS k
                    FROM generate_series(1, :rows) AS n
                )
                INSERT INTO invoice (
                    tenant_id, issuer_company_id, customer_company_id, number, kind,
                    issue_date, currency, total, tax_total, amount_decimals, national_id,
                    format, xml_key, xml_sha256, xml_size, xml_crc32, created_at)
                SELECT :t, i.id, c.id, 'FE' || (100000 + g.n), 'invoice',
                    date '2021-01-01' + (random() * 2000)::int, 'COP', 119000, 19000, 2,
                    md5(g.n::text), 'ubl21-co', 'tenants/x/' || g.n || '.xml', md5(''),
                    20000, 0, now()
                FROM g JOIN c ON c.k = g.k JOIN i ON i.k = g.n % 3
                """
            ),
            {"t": tenant_id, "rows": rows, "customers": customers},
        )
        conn.execute(text("ANALYZE company"))
        conn.execute(text("ANALYZE invoice"))
        examples = conn.execute(
            text(
                "SELECT i.number, c.name, c.tax_id FROM invoice i JOIN company c"
                " ON c.id = i.customer_company_id WHERE i.tenant_id = :t"
                " ORDER BY i.id LIMIT 1 OFFSET :middle"
            ),
            {"t": tenant_id, "middle": rows // 2},
        ).all()
    engine.dispose()
    print(
        f"  filled {rows:,} invoices, {customers:,} customers in {time.perf_counter() - t0:.0f} s"
    )
    return staff_id, examples


def _old_search(user, text_):
    """The search as it was before migration 0014: folding in the query, every row."""
    from sqlalchemy import func, or_, select

    from saas import textsearch
    from saas.companies import Company
    from saas.console.search import PAGE_SIZE
    from saas.einvoice.taxids import InvalidTaxId, normalize_tax_id
    from saas.portal import visibility
    from saas.portal.models import Invoice

    needle = textsearch.fold(text_)
    by_customer = [textsearch.contains(textsearch.folded(Company.name), needle)]
    compact = textsearch.compact_tax_id(text_)
    by_customer.append(
        textsearch.contains(func.lower(func.replace(Company.tax_id, "-", "")), compact)
    )
    with contextlib.suppress(InvalidTaxId):
        by_customer.append(Company.tax_id == normalize_tax_id("CO", text_))
    matches = or_(
        textsearch.contains(textsearch.folded(Invoice.number), needle),
        Invoice.customer_company_id.in_(select(Company.id).where(or_(*by_customer))),
    )
    return visibility.newest_first(visibility.staff_invoices(user).where(matches), None, PAGE_SIZE)


def searches(number: str, name: str, tax_id: str) -> dict[str, str]:
    from saas.textsearch import fold

    digits, check = tax_id.split("-")
    dotted = f"{int(digits):,}".replace(",", ".") + f"-{check}"
    words = fold(name).split()
    return {
        f"number {number}": number,
        f"name, no accents {words[0]} {words[1]!r}": f"{words[0]} {words[1]}",
        f"broad fragment {words[1]!r}": words[1],
        f"tax id {dotted}": dotted,
    }


def measure(app, staff_id: int, cases: dict[str, str], runs: int, before: bool) -> None:
    from flask import g

    from saas.auth.models import User
    from saas.console.search import search_invoices
    from saas.extensions import db
    from saas.tenancy.models import Tenant

    with app.app_context():
        g.tenant = db.session.scalars(db.select(Tenant)).one()
        user = db.session.get(User, staff_id)
        ways = {"now": lambda q: search_invoices(user, text=q)}
        if before:
            ways["before 0014"] = lambda q: _old_search(user, q)
        for way, search in ways.items():
            print(f"  {way}:")
            for label, query in cases.items():
                found, _ = search(query)
                count = len(found)
                db.session.expunge_all()
                n = runs if way == "now" else max(3, runs // 50)
                times = samples(lambda q=query, s=search: (s(q), db.session.expunge_all()), n)
                median, p99 = summary(times)
                print(
                    f"    {label:<46} median {median:7.2f} ms   p99 {p99:7.2f} ms"
                    f"   ({count} rows, {n} runs)"
                )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--before", action="store_true", help="also time the old search")
    parser.add_argument("--postgres", required=True, help="a superuser's server URL")
    args = parser.parse_args()
    from saas.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        name = None
        try:
            name, url, superuser_url = postgres_database(args.postgres)
            print(f"PostgreSQL: {args.rows:,} invoices, {args.customers:,} customers")
            app = build_app(url, Path(tmp))
            staff_id, [(number, customer, tax_id)] = fill(
                app, superuser_url, args.rows, args.customers
            )
            measure(app, staff_id, searches(number, customer, tax_id), args.runs, args.before)
            with app.app_context():
                db.engine.dispose()
        finally:
            if name:
                drop_database(args.postgres, name)


if __name__ == "__main__":
    main()

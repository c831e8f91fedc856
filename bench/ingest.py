"""Ingest speed: invoices per second through the machine API against a plain loop.

Makes N (default 1,000) DIAN UBL 2.1 invoices for 50 customers, then:

1. the floor: a plain loop that parses each file with the portal's reader and inserts
   its row (companies cached), one commit per invoice, in this process;
2. the publishing service (`publish()`) in a loop, in this process: what an upload does
   without HTTP and the API key (companies, recipient and mail, files, audit);
3. the API: the same files posted to `POST /t/bench/api/v1/invoices` over HTTP to
   gunicorn serving the app (PostgreSQL, local storage, outbox mail, in-process jobs),
   first by one client, then by several at once;
4. the batch API: the same files posted to `POST /t/bench/api/v1/invoices/batch`, in
   requests of `--batch-size` files, each published in one transaction, by one client.

Each run gets a fresh PostgreSQL database, created and dropped by the script.

    .venv/bin/python bench/ingest.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/ingest.py --count 1000 --clients 4 --workers 2 --threads 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password that is long enough"
ADMIN = ("--name", "Admin", "--role", "admin", "--password", PASSWORD)
BILLER = ("--name", "Biller", "--role", "biller", "--password", PASSWORD)


def invoices(count: int) -> list[bytes]:
    from saas.demo_invoices import ubl_invoice
    from saas.einvoice.taxids import nit_check_digit

    files = []
    for n in range(count):
        customer = n % 50
        nit = f"8{customer:08d}"
        files.append(
            ubl_invoice(
                f"BE-{n:06d}",
                customer=(nit, str(nit_check_digit(nit)), f"Cliente {customer} S.A.S."),
                email=f"compras{customer}@cliente.example",
                issue_date=date(2026, 1, 1) + timedelta(days=n % 300),
            )
        )
    return files


class Database:
    """A throwaway PostgreSQL database next to the given server's."""

    def __init__(self, server_url: str):
        self.server = make_url(server_url)
        self.name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self):
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        engine.dispose()
        return self

    def __exit__(self, *exc):
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        engine.dispose()


def environment(database_url: str, folder: Path) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "STORAGE_URL": f"file://{folder}/storage",
        "MAIL_URL": "outbox://",
        "SECRET_KEY": "bench",
        "TENANTS_DIR": str(folder / "tenants"),
        "BASE_URL": "http://127.0.0.1",
    }


def prepare(database_url: str, folder: Path) -> None:
    """Schema, one Colombian tenant and a Biller, through the CLI as an operator would."""
    tenant = folder / "tenants" / "bench"
    tenant.mkdir(parents=True)
    shutil.copy(ROOT / "tenants" / "intertec" / "logo.svg", tenant / "logo.svg")
    (tenant / "tenant.toml").write_text(
        'name = "Bench"\ncountry = "CO"\nlocales = ["es"]\nplan = "empresa"\n'
        '[branding]\nprimary_color = "#0b5394"\nlogo = "logo.svg"\n'
    )
    env = environment(database_url, folder)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for args in (
        ["db", "upgrade"],
        ["tenants", "sync"],
        ["users", "create", "--tenant", "bench", "--email", "admin@bench.test", *ADMIN],
        ["users", "create", "--tenant", "bench", "--email", "biller@bench.test", *BILLER],
    ):
        subprocess.run(flask + args, cwd=ROOT, env=env, check=True, capture_output=True)


def bench_app(database_url: str, folder: Path):
    """The app in this process, on the bench's database and storage."""
    from saas import create_app

    return create_app(
        {
            "DATABASE_URL": database_url,
            "STORAGE_URL": f"file://{folder}/storage",
            "MAIL_URL": "outbox://",
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(folder / "instance"),
        }
    )


def floor(database_url: str, folder: Path, files: list[bytes]) -> float:
    """Parse and insert, nothing else: the rate the API is measured against."""
    from saas.companies import Company
    from saas.einvoice import read_invoices
    from saas.extensions import db
    from saas.portal.models import Invoice
    from saas.tenancy.models import Tenant

    app = bench_app(database_url, folder)
    with app.app_context():
        tenant = db.session.scalars(db.select(Tenant)).one()
        companies: dict[str, int] = {}

        def company(tax_id, name, kind):
            if tax_id not in companies:
                row = Company(tenant_id=tenant.id, tax_id=tax_id, name=name, kind=kind)
                db.session.add(row)
                db.session.flush()
                companies[tax_id] = row.id
            return companies[tax_id]

        start = time.perf_counter()
        for n, xml in enumerate(files):
            [record] = read_invoices(xml)
            db.session.add(
                Invoice(
                    tenant_id=tenant.id,
                    issuer_company_id=company(record.issuer_tax_id, record.issuer_name, "issuer"),
                    customer_company_id=company(
                        record.customer_tax_id, record.customer_name, "customer"
                    ),
                    number=record.number,
                    kind=record.kind,
                    issue_date=record.issue_date,
                    currency=record.currency,
                    total=record.total,
                    tax_total=record.tax_total,
                    amount_decimals=record.amount_decimals,
                    national_id=f"floor-{n}-{record.national_id}"[:128],
                    format=record.format,
                    xml_key="-",
                    xml_sha256="-",
                    xml_size=len(xml),
                    xml_crc32=0,
                )
            )
            db.session.commit()
        elapsed = time.perf_counter() - start
        db.session.execute(text("DELETE FROM invoice"))
        db.session.execute(text("DELETE FROM company"))
        db.session.commit()
    return len(files) / elapsed


def publishing_loop(database_url: str, folder: Path, files: list[bytes]) -> float:
    """The publishing service itself in a loop, in this process: everything an upload
    does (companies, recipient and its mail, files, audit) except HTTP and the key."""
    from saas.extensions import db
    from saas.portal.publishing import publish
    from saas.tenancy.models import Tenant

    app = bench_app(database_url, folder)
    with app.test_request_context("/"):
        from flask import g

        g.tenant = tenant = db.session.scalars(db.select(Tenant)).one()
        start = time.perf_counter()
        for xml in files:
            publish(tenant, xml, source="bench")
        return len(files) / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def through_api(database_url, folder, files, clients, workers, threads, batch=0) -> float:
    """Invoices per second through gunicorn: one file per request, or `batch` per request."""
    port = free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads)]
    server = subprocess.Popen(
        [*gunicorn, "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT,
        env=environment(database_url, folder),
    )
    base = f"http://127.0.0.1:{port}/t/bench/api/v1"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/openapi.json", timeout=5)
                break
            except requests.RequestException:  # not up yet, or its first answer is slow
                time.sleep(0.1)
        created = requests.post(
            f"{base}/api-keys", auth=("biller@bench.test", PASSWORD), timeout=10
        )
        created.raise_for_status()
        headers = {"Authorization": f"Bearer {created.json()['key']}"}
        local = __import__("threading").local()

        def upload(xml: bytes) -> int:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            response = local.session.post(
                f"{base}/invoices",
                headers=headers,
                files={"xml": ("invoice.xml", xml, "application/xml")},
                timeout=60,
            )
            return response.status_code

        def upload_batch(chunk: list[bytes]) -> int:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            response = local.session.post(
                f"{base}/invoices/batch",
                headers=headers,
                files=[("files", (f"{n}.xml", xml, "application/xml")) for n, xml in chunk],
                timeout=600,
            )
            if response.status_code != 200 or response.json()["created"] != len(chunk):
                return response.status_code or 599
            return 201

        jobs, send = files, upload
        if batch:
            numbered = list(enumerate(files))
            jobs = [numbered[n : n + batch] for n in range(0, len(files), batch)]
            send = upload_batch
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            statuses = list(pool.map(send, jobs))
        elapsed = time.perf_counter() - start
        wrong = [s for s in statuses if s != 201]
        if wrong:
            raise SystemExit(f"{len(wrong)} uploads did not answer 201: {sorted(set(wrong))}")
    finally:
        server.terminate()
        server.wait(10)
    return len(files) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server URL (a database beside it is created and dropped)",
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent uploaders")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per process")
    parser.add_argument("--batch-size", type=int, default=100, help="files per batch request")
    parser.add_argument(
        "--only", choices=("single", "batch"), help="leave out the batch or the single runs"
    )
    args = parser.parse_args()

    files = invoices(args.count)
    size = sum(map(len, files)) / len(files)
    print(f"{args.count} UBL invoices, {size / 1024:.1f} KiB each on average, 50 customers")
    results = {}
    floor_label, service_label = "floor: parse + insert loop", "publish() loop, no HTTP"
    runs = [
        (floor_label, lambda db, f: floor(db, f, files)),
        (service_label, lambda db, f: publishing_loop(db, f, files)),
    ]
    if args.only != "batch":
        runs += [
            ("API, 1 client, 1 worker", lambda db, f: through_api(db, f, files, 1, 1, 1)),
            (
                f"API, {args.clients} clients, {args.workers}x{args.threads} workers",
                lambda db, f: through_api(db, f, files, args.clients, args.workers, args.threads),
            ),
        ]
    batch_label = f"batch API, {args.batch_size} per request, 1 client"
    if args.only != "single":
        runs.append(
            (
                batch_label,
                lambda db, f: through_api(db, f, files, 1, 1, 1, batch=args.batch_size),
            )
        )
    for label, run in runs:
        with Database(args.postgres) as database, tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            prepare(database.url, folder)
            results[label] = run(database.url, folder)
        print(f"{label:<40} {results[label]:8.1f} invoices/s")
    floor_rate, service_rate = results[floor_label], results[service_label]
    for label, rate in list(results.items())[1:]:
        target = "80%" if label == batch_label else "50%"
        print(f"{label:<40} {rate / floor_rate:8.0%} of the floor (target: at least {target})")
    for label, rate in list(results.items())[2:]:
        print(f"{label:<40} {rate / service_rate:8.0%} of the publish() loop")


if __name__ == "__main__":
    main()

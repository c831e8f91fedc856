"""Load: USERS (default 200) simulated people at once for SECONDS (default 60) against
gunicorn on PostgreSQL, with a real rq worker on Redis, each with its own session.

Three in four are recipients (invoice list, a filtered list, an invoice's page, its XML
download), one in four staff (console search, dashboard, an invoice upload through the
API). Each person waits between requests: --think "2,8" (seconds, uniform) reads a
page before the next click; "0.2,1" is a person clicking as fast as pages come. It
prints requests/s, p50/p95/p99 per kind and the count of 5xx answers (issue 18: none,
and the list page's p95 under 500 ms with 4 workers).

    .venv/bin/python bench/load.py --postgres postgresql+psycopg://postgres@127.0.0.1/test

Needs PostgreSQL and Redis (`--redis`, default database 6, which the run empties before
and after). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from http_list import PASSWORD, add_people, free_port  # noqa: E402
from portal_list import build_app, drop_database, fill, postgres_database  # noqa: E402

from saas.demo_invoices import ubl_invoice  # noqa: E402

WITH_FILES = 300  # the measured customer's invoices whose XML is in storage


def write_files(app, folder: Path, heavy: int) -> list[int]:
    """XML files for the first invoices of the measured customer (the bench's rows name
    keys without files); returns their ids."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.portal.models import Invoice
    from saas.tenancy import all_tenants

    with app.app_context(), all_tenants():
        rows = db.session.execute(
            # The first `heavy` rows are the measured customer's (portal_list.fill).
            select(Invoice.id, Invoice.xml_key).order_by(Invoice.id).limit(min(WITH_FILES, heavy))
        ).all()
    for _, key in rows:
        path = folder / "storage" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        # A real invoice: its page reads the XML (lines, taxes) as a person's would.
        path.write_bytes(
            ubl_invoice(
                "BENCH-1",
                issuer=("900123456", "8", "Issuer"),
                customer=("800765432", "3", "Distribuidora Andina S.A.S."),
                email=None,
                issue_date=date(2026, 1, 1),
            )
        )
    return [row.id for row in rows]


def api_key(app) -> str:
    from flask import g
    from sqlalchemy import select

    from saas.auth.apikeys import create_api_key
    from saas.auth.models import User
    from saas.extensions import db
    from saas.tenancy.models import Tenant

    with app.app_context():
        g.tenant = db.session.scalars(select(Tenant)).one()
        admin = db.session.scalars(select(User).where(User.username == "admin")).one()
        _, raw = create_api_key(admin)
        db.session.commit()
        return raw


def signed_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    # As a browser does: a GET sent on a kept-alive connection the server had just closed
    # (gunicorn closes idle ones after 2 s) is sent once more on a new connection. Only
    # for GETs and only before any answer: an answer, a 5xx included, is what counts.
    retry = Retry(total=1, connect=1, read=1, status=0, allowed_methods={"GET"})
    session.mount("http://", HTTPAdapter(max_retries=retry))
    page = session.get(f"{base}/t/bench/login", timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text
    )
    answer = session.post(
        f"{base}/t/bench/login",
        data={"csrf_token": token.group(1), "login": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code not in (302, 303):
        raise SystemExit(f"sign-in as {email} answered {answer.status_code}")
    return session


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.other: dict[str, int] = defaultdict(int)
        self.statuses: dict[int, int] = defaultdict(int)  # 5xx by code (599: no answer)
        self.failures: dict[str, int] = defaultdict(int)  # why there was no answer

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if status >= 500:
                self.errors[kind] += 1
                self.statuses[status] += 1
            elif status >= 400:
                self.other[kind] += 1


def person(base, session, staff, ids, key, stop, tally, rng, numbers, think):
    def call(kind, method, path, **kwargs):
        started = time.perf_counter()
        try:
            answer = session.request(method, f"{base}{path}", timeout=60, **kwargs)
            status = answer.status_code
        except requests.RequestException as error:
            status = 599  # no answer at all: counted with the 5xx
            tally.failures[type(error).__name__] += 1
        tally.add(kind, time.perf_counter() - started, status)

    # People arrive over the first think time, not all in the same millisecond.
    stop.wait(rng.uniform(0, think[1]))
    while not stop.is_set():
        pick = rng.random()
        if not staff:
            if pick < 0.4:
                call("list", "GET", "/t/bench/invoices")
            elif pick < 0.6:
                call("list, filtered", "GET", "/t/bench/invoices?from=2021-01-01&to=2022-12-31")
            elif pick < 0.8:
                call("invoice page", "GET", f"/t/bench/invoices/{rng.choice(ids)}")
            else:
                call("XML download", "GET", f"/t/bench/invoices/{rng.choice(ids)}/xml")
        elif pick < 0.45:
            call("console search", "GET", f"/t/bench/console/invoices?q=FE-{rng.randrange(999)}")
        elif pick < 0.8:
            call("dashboard", "GET", "/t/bench/console/")
        else:
            number = f"LOAD-{next(numbers)}"
            xml = ubl_invoice(
                number,
                issuer=("900123456", "8", "Issuer"),
                customer=("800765432", "3", "Distribuidora Andina S.A.S."),
                email=None,
                issue_date=date(2026, 1, 1),
            )
            call(
                "API upload",
                "POST",
                "/t/bench/api/v1/invoices",
                headers={"Authorization": f"Bearer {key}"},
                files={"xml": ("invoice.xml", xml)},
            )
        stop.wait(rng.uniform(*think))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="a superuser's server URL")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--think", default="2,8", help="seconds between clicks: min,max")
    args = parser.parse_args()
    think = tuple(float(x) for x in args.think.split(","))
    from redis import Redis

    Redis.from_url(args.redis).flushdb()
    processes, name = [], None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            name, url, _ = postgres_database(args.postgres)
            app = build_app(url, folder)
            recipient_id = fill(app, args.rows, args.rows // 20)
            add_people(app, recipient_id)
            ids = write_files(app, folder, args.rows // 20)
            key = api_key(app)
            with app.app_context():
                from saas.extensions import db

                db.engine.dispose()
            env = dict(
                os.environ,
                DATABASE_URL=url,
                REDIS_URL=args.redis,
                SECRET_KEY="bench-secret",
                STORAGE_URL=f"file://{folder}/storage",
                MAIL_URL="outbox://",
                BASE_URL="http://127.0.0.1",
            )
            port = free_port()
            quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            gunicorn = str(Path(sys.executable).parent / "gunicorn")
            web = [gunicorn, "--workers", str(args.workers), "--threads", "2"]
            web += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
            processes.append(subprocess.Popen(web, cwd=ROOT, env=env))
            flask = str(Path(sys.executable).parent / "flask")
            worker = [flask, "--app", "wsgi", "worker"]
            processes.append(subprocess.Popen(worker, cwd=ROOT, env=env, **quiet))
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    requests.get(f"{base}/healthz", timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
            staff_count = args.users // 4
            sessions = [
                (signed_in(base, "admin@bench.example" if n < staff_count else "r@bench.example"),
                 n < staff_count)
                for n in range(args.users)
            ]  # fmt: skip
            print(
                f"  {args.users} people signed in ({staff_count} staff), {args.seconds} s, "
                f"{think[0]:g} to {think[1]:g} s between clicks"
            )
            tally, stop = Tally(), threading.Event()
            numbers = iter(range(10**9))
            threads = [
                threading.Thread(
                    target=person,
                    args=(base, s, staff, ids, key, stop, tally, random.Random(n), numbers, think),
                    daemon=True,
                )
                for n, (s, staff) in enumerate(sessions)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            time.sleep(args.seconds)
            stop.set()
            for thread in threads:
                thread.join(60)
            elapsed = time.perf_counter() - started
            total = sum(len(t) for t in tally.times.values())
            errors = sum(tally.errors.values())
            print(
                f"  {total / elapsed:.0f} requests/s, {errors} answers 5xx {dict(tally.statuses)}"
            )
            for kind, times in sorted(tally.times.items()):
                q = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
                print(
                    f"  {kind:<15} {len(times):6} requests  p50 {q[49] * 1000:7.1f} ms  "
                    f"p95 {q[94] * 1000:7.1f} ms  p99 {q[98] * 1000:7.1f} ms  "
                    f"5xx {tally.errors[kind]}  4xx {tally.other[kind]}"
                )
        finally:
            for process in processes:
                process.terminate()
                process.wait(15)
            if name:
                drop_database(args.postgres, name)
            Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()

"""Pages as a user meets them: requests/s over HTTP against the same server's floor.

In one run, on PostgreSQL (as an ordinary role: row-level security applies, as the
README runs the app): ROWS invoices (default 1,000,000) of which HEAVY (default 50,000)
for one customer; gunicorn serving the app and gunicorn serving a one-line Flask view
with the same workers; wrk against each page with a signed-in session. It prints
requests/s, p50 and p99 per page and each page's share of the hello-world floor:

- the recipient's invoice list, page 1 and page 500 (by the cursor a user reaches
  after 499 "Load more");
- the console's invoice search (a customer's name, accents and case ignored) and the
  dashboard, as an Administrator.

    .venv/bin/python bench/http_list.py --postgres postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/http_list.py --postgres ... --rows 100000 --heavy 5000

Needs wrk (Debian package `wrk`). Not part of the test suite: it takes minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from portal_list import (  # noqa: E402
    PAGE,
    build_app,
    drop_database,
    fill,
    postgres_database,
)

PASSWORD = "bench-password-Ñandú-42"
HELLO = "hello_app:app"


def add_people(app, recipient_id: int) -> None:
    """A password for the measured recipient and an Administrator for the console."""
    from saas.auth.models import User
    from saas.extensions import db
    from saas.security import hash_password
    from saas.tenancy import all_tenants

    with app.app_context(), all_tenants():
        recipient = db.session.get(User, recipient_id)
        recipient.password_hash = hash_password(PASSWORD)
        recipient.must_change_password = False
        admin = User(
            tenant_id=recipient.tenant_id,
            email="admin@bench.example",
            username="admin",
            name="Admin",
            kind="staff",
            role="admin",
            password_hash=hash_password(PASSWORD),
        )
        db.session.add(admin)
        db.session.commit()


def deep_cursor(app, recipient_id: int, page: int) -> str:
    """The cursor "Load more" hands out after page - 1 pages."""
    from flask import g

    from saas.auth.models import User
    from saas.extensions import db
    from saas.portal import visibility
    from saas.portal.models import Invoice
    from saas.tenancy.models import Tenant

    with app.app_context():
        g.tenant = db.session.scalars(db.select(Tenant)).one()
        user = db.session.get(User, recipient_id)
        ordered = visibility.visible_invoices(user).order_by(
            Invoice.issue_date.desc(), Invoice.id.desc()
        )
        last = db.session.scalars(ordered.offset((page - 1) * PAGE - 1).limit(1)).one()
        return visibility.encode_cursor(last)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn(target: str, env: dict, workers: int, chdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(chdir),
            "--log-level",
            "warning",
            target,
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{url}/", timeout=1)
            return process, url
        except requests.RequestException:  # not listening yet, or still booting
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn {target} did not start")


def sign_in(base: str, email: str) -> str:
    """A signed-in session's Cookie header, through the sign-in form like a person."""
    session = requests.Session()
    page = session.get(f"{base}/t/bench/login", timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    if token is None:
        token = re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page.text)
    answer = session.post(
        f"{base}/t/bench/login",
        data={"csrf_token": token.group(1), "login": email, "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code not in (302, 303):
        raise SystemExit(f"sign-in as {email} answered {answer.status_code}")
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def wrk(url: str, cookie: str | None, seconds: int, connections: int) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s"]
    command += ["--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Socket errors: (.*)", out)
    if errors:
        print(f"    ({url}: socket errors {errors.group(1)})")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} answers were not 2xx/3xx\n{out}")

    def latency(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
    }


def check_page(url: str, cookie: str) -> None:
    """The page answers 200 to this session (wrk counts any status as a request)."""
    answer = requests.get(url, headers={"Cookie": cookie}, allow_redirects=False, timeout=30)
    if answer.status_code != 200:
        raise SystemExit(f"{url} answered {answer.status_code}, not 200")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="a superuser's server URL")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--heavy", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    processes = []
    name = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            name, url, _superuser_url = postgres_database(args.postgres)
            print(f"PostgreSQL: {args.rows:,} invoices, {args.heavy:,} for the measured customer")
            app = build_app(url, folder)
            recipient_id = fill(app, args.rows, args.heavy)
            add_people(app, recipient_id)
            deep = min(500, args.heavy // PAGE)  # page 500, or the last one of a smaller run
            cursor = deep_cursor(app, recipient_id, deep)
            with app.app_context():
                from saas.extensions import db

                db.engine.dispose()
            env = dict(
                os.environ,
                DATABASE_URL=url,
                SECRET_KEY="bench-secret",
                STORAGE_URL=f"file://{folder}/storage",
                MAIL_URL="outbox://",
                BASE_URL="http://127.0.0.1",
            )
            env.pop("REDIS_URL", None)
            hello, hello_url = gunicorn(HELLO, env, args.workers, BENCH)
            processes.append(hello)
            server, base = gunicorn("wsgi:app", env, args.workers, ROOT)
            processes.append(server)
            recipient = sign_in(base, "r@bench.example")
            admin = sign_in(base, "admin@bench.example")
            start, end = date(2021, 1, 1).isoformat(), date(2024, 12, 31).isoformat()
            pages = {
                "list, page 1": (f"{base}/t/bench/invoices", recipient),
                f"list, page {deep}": (f"{base}/t/bench/invoices?cursor={cursor}", recipient),
                "list, filtered": (
                    f"{base}/t/bench/invoices?from={start}&to={end}",
                    recipient,
                ),
                "console search": (f"{base}/t/bench/console/invoices?q=c1", admin),
                "console dashboard": (f"{base}/t/bench/console/", admin),
            }
            for page_url, cookie in pages.values():
                check_page(page_url, cookie)
            floor = wrk(f"{hello_url}/", None, args.seconds, args.connections)
            print(
                f"  {'hello world':<18} {floor['rps']:8.0f} req/s   "
                f"p50 {floor['p50']:7.2f} ms   p99 {floor['p99']:7.2f} ms"
            )
            for label, (page_url, cookie) in pages.items():
                wrk(page_url, cookie, 2, args.connections)  # warm the workers
                found = wrk(page_url, cookie, args.seconds, args.connections)
                print(
                    f"  {label:<18} {found['rps']:8.0f} req/s   p50 {found['p50']:7.2f} ms   "
                    f"p99 {found['p99']:7.2f} ms   {found['rps'] / floor['rps']:6.1%} of hello"
                )
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
            if name:
                drop_database(args.postgres, name)


if __name__ == "__main__":
    main()

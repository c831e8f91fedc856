"""Mail fan-out: outbox messages per second through real rq workers, against the floor.

In one run, to one local SMTP server (aiosmtpd's Sink, its own process):

1. the floor: a plain `smtplib` loop sending COUNT (default 10,000) messages over one
   connection, in this process;
2. the app: the same COUNT messages written to the outbox (PostgreSQL) and queued as the
   app queues a transaction's mail (`deliver` jobs of MAIL_BATCH_SIZE ids), delivered
   by WORKERS (default 2) `flask worker` processes on Redis; timed from the queueing to
   the last message `sent`.

It prints messages/s of both and their ratio (issue 18's target: at least 50%).

    .venv/bin/python bench/mail_fanout.py --postgres postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/mail_fanout.py --postgres ... --count 2000 --workers 2

Needs PostgreSQL and Redis (`--redis`, default database 5, which the run empties before
and after). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from email.utils import make_msgid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from portal_list import build_app, drop_database, fill, postgres_database  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_sink(port: int) -> subprocess.Popen:
    """aiosmtpd's Sink (accepts and drops every message) in its own process, so that
    neither side of a measurement shares an interpreter with the server."""
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
    process = subprocess.Popen([*command, "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the SMTP sink did not start")


def template_message(app):
    """One outbox row as `send_email` writes it (the tenant's test email), to copy."""
    from flask import g

    from saas.extensions import db
    from saas.mail import send_email
    from saas.tenancy.models import Tenant

    with app.app_context():
        g.tenant = db.session.scalars(db.select(Tenant)).one()
        app.config["MAIL"] = {"backend": "outbox"}  # written, not sent: a model to copy
        row = send_email("model@bench.example", "test", tenant=g.tenant)
        fields = {
            c: getattr(row, c)
            for c in ("tenant_id", "template", "from_addr", "subject", "text_body", "html_body")
        }
        fields["locale"] = row.locale
        db.session.rollback()
        return fields


def floor(port: int, fields: dict, count: int) -> float:
    """Messages/s of a plain smtplib loop over one connection."""
    from email.message import EmailMessage

    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for n in range(count):
            message = EmailMessage()
            message["Subject"] = fields["subject"]
            message["From"] = fields["from_addr"]
            message["To"] = f"r{n}@bench.example"
            message["Message-ID"] = make_msgid(domain="bench.example")
            message["Content-Language"] = fields["locale"]
            message.set_content(fields["text_body"])
            message.add_alternative(fields["html_body"], subtype="html")
            smtp.send_message(message)
    return count / (time.perf_counter() - started)


def queue_messages(app, fields: dict, count: int) -> list[int]:
    """COUNT pending outbox rows, written in bulk, then queued as send_email queues a
    transaction's mail; returns their ids. The queueing happens at the commit."""
    from sqlalchemy import insert, select

    from saas.extensions import db
    from saas.jobs import enqueue
    from saas.mail import PENDING, OutboxMessage, deliver
    from saas.tenancy import all_tenants

    with app.app_context(), all_tenants():
        rows = [
            {
                **fields,
                "to_addr": f"r{n}@bench.example",
                "message_id": make_msgid(domain="bench.example"),
                "status": PENDING,
                "attempts": 0,
            }
            for n in range(count)
        ]
        for start in range(0, count, 2000):
            db.session.execute(insert(OutboxMessage).values(rows[start : start + 2000]))
        db.session.commit()
        ids = list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
        size = app.config["MAIL_BATCH_SIZE"]
        for message_id in ids:
            enqueue(deliver, fields["tenant_id"], message_id, batch=size)
        db.session.commit()  # the jobs go to Redis here
        return ids


def sent(app) -> int:
    from sqlalchemy import func, select

    from saas.extensions import db
    from saas.mail import SENT, OutboxMessage
    from saas.tenancy import all_tenants

    with app.app_context(), all_tenants():
        return db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == SENT)
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="a superuser's server URL")
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/5", help="a Redis database it may empty"
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from redis import Redis

    from saas.config import mail_settings

    Redis.from_url(args.redis).flushdb()
    port = free_port()
    processes = [smtp_sink(port)]
    name = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            name, url, _ = postgres_database(args.postgres)
            app = build_app(url, folder)
            fill(app, 0, 0)  # the tenant, its companies and a recipient
            fields = template_message(app)
            raw = floor(port, fields, args.count)
            print(f"  smtplib loop, one connection   {raw:8.0f} messages/s")
            env = dict(
                os.environ,
                FLASK_APP="wsgi",
                DATABASE_URL=url,
                REDIS_URL=args.redis,
                SECRET_KEY="bench",
                STORAGE_URL=f"file://{folder}/storage",
                MAIL_URL=f"smtp://127.0.0.1:{port}?timeout=30",
                BASE_URL="http://127.0.0.1",
            )
            flask = str(Path(sys.executable).parent / "flask")
            for _ in range(args.workers):
                worker = [flask, "--app", "wsgi", "worker"]
                quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
                processes.append(subprocess.Popen(worker, cwd=ROOT, env=env, **quiet))
            app.config.update(REDIS_URL=args.redis, MAIL=mail_settings(env["MAIL_URL"]))
            app.extensions.pop("saas.redis", None)
            time.sleep(3)  # the workers start and wait on their queues
            started = time.perf_counter()
            queue_messages(app, fields, args.count)
            while (done := sent(app)) < args.count:
                if time.perf_counter() - started > 600:
                    raise SystemExit(f"only {done} of {args.count} sent after 600 s")
                time.sleep(0.2)
            app_rate = args.count / (time.perf_counter() - started)
            print(
                f"  outbox -> {args.workers} rq workers -> SMTP {app_rate:8.0f} messages/s"
                f"   {app_rate / raw:6.1%} of the loop"
            )
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
            if name:
                drop_database(args.postgres, name)
            Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()

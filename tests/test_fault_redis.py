"""Redis goes away: pages and uploads keep working, publishing commits, /readyz names the
queue, and the mail of what was published while it was away is sent once it is back
(the outbox, not the queue, is the truth: the sweep queues it again)."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.mail import SENT, OutboxMessage
from saas.tenancy import all_tenants
from tests.api.test_api import key_for, staff, upload
from tests.conftest import flask_env, flask_process, free_port, wait_until
from tests.console.test_console import staff_client
from tests.invoices import ubl_invoice


class RedisServer:
    """A redis-server of the test's own, on a fixed port, to stop and start."""

    def __init__(self, tmp_path):
        self.port, self.dir, self.process = free_port(), tmp_path, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
        )
        from redis import Redis

        wait_until(lambda: _answers(Redis.from_url(self.url)), timeout=10, message="redis up")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def _answers(conn) -> bool:
    try:
        return conn.ping()
    except Exception:
        return False


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(make_app, redis_server, smtp):
    return make_app(REDIS_URL=redis_server.url, MAIL_URL=smtp.url)


def outbox(app):
    with app.app_context(), all_tenants():
        return db.session.scalars(select(OutboxMessage)).all()


@pytest.mark.committed  # the worker is another process
def test_redis_down_publishing_commits_and_its_mail_goes_when_it_is_back(
    app, tenants, redis_server, smtp, database_url, tmp_path
):
    key = key_for(app, staff(app, tenants)[0])
    console = staff_client(app, tenants, "biller")
    redis_server.stop()
    published = upload(app.test_client(), key, ubl_invoice("FE-1"))
    assert published.status_code == 201  # committed, although its jobs could not be queued
    assert console.get("/t/intertec/console/invoices").status_code == 200
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["failing"] == ["queue"]
    waiting = outbox(app)
    assert waiting and {m.status for m in waiting} == {"pending"}
    redis_server.start()  # back, empty: what was queued before is gone too
    env = flask_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url,
        STORAGE_URL=f"file://{tmp_path / 'storage'}",  # the app's own (base_config)
        MAIL_URL=smtp.url,
        MAIL_FROM="no-reply@portal.test",
        BASE_URL="http://portal.test",
        SECRET_KEY="test-secret-key",
    )
    with flask_process("worker", env, tmp_path / "worker.log"):
        time.sleep(1)
        flushed = app.test_cli_runner().invoke(args=["outbox", "flush"])  # as the sweep does
        assert f"{len(waiting)} message(s) queued." in flushed.stdout
        wait_until(lambda: {m.status for m in outbox(app)} == {SENT}, timeout=30)
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(m.message_id for m in waiting)

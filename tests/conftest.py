"""Shared fixtures: real PostgreSQL/SQLite, real SMTP, real S3, real Redis + rq worker.

Services come from the environment (DATABASE_URL, REDIS_URL) or are started here
(aiosmtpd, moto's S3 server). Under CI=true a missing service fails the run; on a
developer machine it skips the tests that need it.

A test that uses the database runs in one transaction rolled back at its end (see
OuterTransaction), unless it is marked `committed` because other connections must see
its rows (a worker process, threads, a live server, another engine): then its rows are
committed and every table is emptied after it. Tests under e2e/ and those using the
fixtures in COMMITTED_FIXTURES are marked so automatically; `--all-committed` runs
every test that way.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import current_app, g, has_app_context
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from saas import clock, create_app
from saas.extensions import db
from saas.tenancy import all_tenants

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"
TEST_REDIS_DB = 13  # the suite owns this Redis database and empties it


def require(what: str, why: str):
    """Fail under CI, skip elsewhere: CI must never pass by skipping real parts."""
    if CI:
        pytest.fail(f"{what} is required when CI=true: {why}", pytrace=False)
    pytest.skip(f"{what} not available: {why}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=15.0, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


# --- databases ---------------------------------------------------------------


def postgres_server_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else None


# The suite's app role: neither superuser nor BYPASSRLS, so row-level security applies
# to every PostgreSQL test. It owns its databases (and so the tables), as the README's
# production setup allows: FORCE ROW LEVEL SECURITY holds owners to the rule too.
APP_ROLE = "saas_app"


def ensure_app_role(conn) -> None:
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE})
    if exists.first() is None:
        try:
            conn.execute(
                text(
                    f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                )
            )
        except Exception:  # another run created it meanwhile
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}):
                return
            raise


def create_postgres_database(server_url: str) -> str:
    """A new, empty database on the DATABASE_URL server, owned by the app role; returns
    the URL that connects to it as that role."""
    name = f"saas_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(_psycopg(server_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            ensure_app_role(conn)
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}'))
    except Exception as error:
        require("PostgreSQL", f"cannot create a database at {server_url}: {error}")
    finally:
        engine.dispose()
    parts = urlsplit(_psycopg(server_url))
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{APP_ROLE}@{host}", path=f"/{name}"))


def drop_postgres_database(server_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    engine = create_engine(_psycopg(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _psycopg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def fresh_database_url(tmp_path: Path) -> tuple[str, callable]:
    """An empty database of the suite's kind, and a function that removes it."""
    server = postgres_server_url()
    if server:
        url = create_postgres_database(server)
        return url, lambda: drop_postgres_database(server, url)
    return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.db'}", lambda: None


def upgrade_database(url: str, tmp_path: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config(tmp_path, DATABASE_URL=url))
    with app.app_context(), all_tenants():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """One migrated database for the session; each test empties it afterwards."""
    if CI and not postgres_server_url():
        pytest.fail("DATABASE_URL must point at PostgreSQL when CI=true", pytrace=False)
    tmp = tmp_path_factory.mktemp("db")
    url, drop = fresh_database_url(tmp)
    upgrade_database(url, tmp)
    yield url
    drop()


def base_config(tmp_path: Path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
        "STORAGE_URL": f"file://{tmp_path / 'storage'}",
        "MAIL_URL": "outbox://",
        "MAIL_FROM": "no-reply@portal.test",
        "BASE_URL": "http://portal.test",
        "REDIS_URL": None,
        "TENANTS_DIR": str(ROOT / "tenants"),
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MAIL_RETRY_DELAYS": (0.2, 0.2),
        "MAIL_RETRY_MAX_DELAY": 0.5,
    }
    config.update(overrides)
    return config


def empty_all_tables() -> None:
    with all_tenants():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def make_app(database_url, tmp_path, request):
    """Build apps on the session's database.

    A test runs inside one transaction that is rolled back at its end (OuterTransaction),
    unless it is marked `committed`: its rows must then reach other connections (a worker
    process, threads, a live server, another engine), so they are really committed, and
    every table is emptied after the test.
    """
    committed = request.node.get_closest_marker("committed") is not None
    apps, outer = [], None

    def make(**overrides):
        nonlocal outer
        app = create_app(base_config(tmp_path, DATABASE_URL=database_url, **overrides))
        _test_blocks_own_their_transaction(app)
        if not committed:
            if outer is None:
                with app.app_context():
                    outer = OuterTransaction(db.engine)
            app.extensions[OUTER] = outer  # every app of the test shares it
        apps.append(app)
        return app

    yield make
    clock.reset()
    problems = outer.end() if outer is not None else []
    try:
        if committed or problems:
            for app in apps[:1] or [make()]:
                with app.app_context(), all_tenants():
                    db.session.rollback()
                    empty_all_tables()
    finally:
        for app in apps:
            with app.app_context(), all_tenants():
                db.engine.dispose()
    if problems:
        pytest.fail("; ".join(problems) + ": mark the test `committed`", pytrace=False)


# --- one transaction per test ---------------------------------------------------------

OUTER = "tests.outer_transaction"  # app.extensions key: the test's OuterTransaction

# Fixtures whose tests need committed rows: their rows are read by another process, by
# the server's threads or by a browser through them.
COMMITTED_FIXTURES = {"live_server", "page", "browser", "rq_worker"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "committed: the test's rows must be committed for other connections to see them "
        "(a worker process, threads, a live server, another engine); the tables are "
        "emptied after it instead of its transaction being rolled back",
    )


def pytest_addoption(parser):
    parser.addoption(
        "--all-committed",
        action="store_true",
        help="run every test as if marked `committed` (tables emptied after each test)",
    )


def pytest_collection_modifyitems(config, items):
    everywhere = config.getoption("--all-committed")
    for item in items:
        if everywhere or "e2e" in item.path.parts or COMMITTED_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.committed)


class OuterTransaction:
    """One connection and one transaction for a whole test, rolled back at its end.

    Every session of the test's apps joins it with a SAVEPOINT (SQLAlchemy's "Joining a
    Session into an External Transaction"): an owner's commit (a request's, a job's, a
    test block's) releases its savepoint, a rollback returns to it, and what was
    released is seen by every later session of the test, as committed rows would be.
    Nothing is ever committed, so nothing needs emptying after the test.
    """

    def __init__(self, engine):
        self.thread = threading.get_ident()
        self.strays: list[str] = []
        self.ended = False  # then sessions use the engine again (and other threads, never)
        self.connection = engine.connect()
        self.transaction = self.connection.begin()
        if engine.dialect.name == "sqlite":
            # pysqlite opens a transaction only at the first write; opened here, it is a
            # real one, and every savepoint nests in it (cf. saas.transactions).
            self._driver_sql("BEGIN")
        # Still there at the end only if the transaction is (nothing committed it).
        self._driver_sql(f"SAVEPOINT {self.SENTINEL}")

    SENTINEL = "tests_outer_transaction"

    def _driver_sql(self, statement: str) -> None:
        cursor = self.connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()

    def joined_by_this_thread(self) -> None:
        if threading.get_ident() != self.thread:
            where = threading.current_thread().name
            self.strays.append(where)
            raise RuntimeError(
                f"the database was used from thread {where!r}, but the test's one "
                "connection is its own thread's: mark the test `committed`"
            )

    def end(self) -> list[str]:
        """Roll back; what went wrong (then the tables need emptying after all)."""
        problems = []
        if self.strays:
            problems.append(f"threads {sorted(set(self.strays))} used the test's database")
        if not self._still_open():
            problems.append("the test's outer transaction ended before the test did")
        try:
            self.transaction.rollback()
        finally:
            self.connection.close()
            self.ended = True
        return problems

    def _still_open(self) -> bool:
        if not self.transaction.is_active:
            return False
        try:
            self._driver_sql(f"ROLLBACK TO SAVEPOINT {self.SENTINEL}")
        except Exception:  # no such savepoint: the transaction it was in has ended
            return False
        return True


def _sessions_join_the_tests_transaction() -> None:
    """Make db.session's sessions join the current app's OuterTransaction, if it has one.

    Flask-SQLAlchemy's Session picks the app's engine in get_bind(), whatever its `bind`:
    this subclass answers with the test's connection instead.
    """
    factory = db.session.session_factory
    flask_session = factory.class_

    if getattr(flask_session, "joins_the_tests_transaction", False):
        return  # installed already

    class JoinsTheTestsTransaction(flask_session):
        joins_the_tests_transaction = True

        def __init__(self, db, **kwargs):
            outer = current_app.extensions.get(OUTER) if has_app_context() else None
            if outer is not None:
                outer.joined_by_this_thread()
                if not outer.ended:
                    kwargs.update(bind=outer.connection, join_transaction_mode="create_savepoint")
            super().__init__(db, **kwargs)

        def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
            if bind is None and isinstance(self.bind, Connection):
                return self.bind
            return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)

    factory.class_ = JoinsTheTestsTransaction


_sessions_join_the_tests_transaction()


def _test_blocks_own_their_transaction(app) -> None:
    """A test's own `with app.app_context():` block is a unit of work, as a CLI command
    is: what it wrote is committed when it ends without an error. Requests and jobs are
    left to their own owner (saas.transactions): nothing is committed for them here."""

    @app.teardown_request
    def _served_a_request(exc):
        g.test_served_request = True

    @app.teardown_appcontext  # runs before Flask-SQLAlchemy's, which closes the session
    def _commit_the_block(exc):
        session = db.session()
        served = g.get("test_served_request") or g.get("saas.job_owner")
        if exc is None and session.is_active and not served:
            session.expire_on_commit = False  # rows the block returns stay readable
            session.commit()


@pytest.fixture
def frozen_clock():
    """Time stands still unless the test moves it, so waits come out to the second."""
    clock.freeze()
    yield clock
    clock.reset()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tenants(app):
    """The shipped demo tenants, synced from tenants/, as {slug: TenantRef(id, slug)}.

    Plain values, not ORM rows: a test that also uses the test client must not keep an
    app context pushed, or every request would share its `g` (tenant, locale).
    """
    from saas.tenancy.models import Tenant
    from saas.tenancy.services import sync_tenants

    with app.app_context():
        sync_tenants()
        db.session.commit()  # the test owns its transaction
        return {t.slug: TenantRef(t.id, t.slug) for t in db.session.scalars(db.select(Tenant))}


@dataclass(frozen=True)
class TenantRef:
    id: int
    slug: str

    def load(self):
        """The tenant's row, made the current tenant of this app context (as a request
        to its pages or a job of its would): what follows reads and writes its rows."""
        from saas.tenancy import load_tenant

        g.tenant = load_tenant(self.slug)
        return g.tenant


@dataclass(frozen=True)
class UserRef:
    id: int
    username: str  # signs in with tests.factories.PASSWORD
    email: str


@dataclass(frozen=True)
class OtherTenant(TenantRef):
    """A second tenant, for isolation tests: its Administrator, and a customer company
    with one recipient (a portal user). Plain values, as `tenants` gives."""

    admin: UserRef
    company_id: int
    recipient: UserRef


@pytest.fixture
def other_tenant(app) -> OtherTenant:
    """A tenant besides the ones a test works in, made by the factories."""
    from tests.factories import CompanyFactory, TenantFactory, UserFactory

    def ref(user):
        return UserRef(user.id, user.username, user.email)

    with app.app_context():  # the block commits at its end
        tenant = TenantFactory(name="Otra Empresa S.A.S.")
        admin = UserFactory(tenant=tenant, role="admin")
        company = CompanyFactory(tenant=tenant, name="Cliente de la Otra S.A.S.")
        recipient = UserFactory(tenant=tenant, kind="recipient", role=None, companies=[company])
        return OtherTenant(
            tenant.id,
            tenant.slug,
            admin=ref(admin),
            company_id=company.id,
            recipient=ref(recipient),
        )


# --- SMTP ----------------------------------------------------------------------


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives.

    `refuse` (address -> reply) answers RCPT TO with that reply, e.g. "550 5.1.1 no such
    user" or "451 4.2.0 try later"; `sessions` holds the client port of each message's
    connection, so a test sees how many connections a batch used."""

    def __init__(self):
        self.port = free_port()
        self.messages: list = []
        self.sessions: list[int] = []
        self.refuse: dict[str, str] = {}
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address in sink.refuse:
                    return sink.refuse[address]
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes, policy

                sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                sink.sessions.append(session.peer[1])
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=3"


@pytest.fixture
def smtp():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


# --- S3 ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on loopback: a real HTTP S3 endpoint for the minio client."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        require("moto[server]", str(error))
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_url(s3_endpoint):
    bucket = f"invoices-{uuid.uuid4().hex[:8]}"
    return f"s3://testkey:testsecret@{s3_endpoint}/{bucket}?secure=false&region=us-east-1"


# --- Redis and the rq worker ---------------------------------------------------


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        require("Redis", "REDIS_URL is not set")
    from redis import Redis

    parts = urlsplit(url)
    url = urlunsplit(parts._replace(path=f"/{TEST_REDIS_DB}"))
    try:
        Redis.from_url(url, socket_timeout=3).ping()
    except Exception as error:
        require("Redis", f"{url}: {error}")
    return url


@pytest.fixture
def clean_redis(redis_url):
    from redis import Redis

    conn = Redis.from_url(redis_url)
    conn.flushdb()
    yield redis_url
    conn.flushdb()


def flask_env(**env) -> dict:
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    full.update(FLASK_APP="wsgi", PYTHONUNBUFFERED="1")
    full.update({k: str(v) for k, v in env.items() if v is not None})
    return full


def flask_command(*args) -> list[str]:
    return [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args]


@contextmanager
def flask_process(command: str, env: dict, log_path: Path):
    """`flask <command>` as its own OS process; its log is printed when it ends."""
    log = open(log_path, "w+")  # noqa: SIM115
    process = subprocess.Popen(
        flask_command(command), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.seek(0)
        print(f"--- {command} log ---\n" + log.read()[-4000:])
        log.close()


@pytest.fixture
def worker_env(clean_redis, database_url, tmp_path, smtp) -> dict:
    """The environment of worker and scheduler processes: the test's database,
    storage and SMTP sink."""
    return flask_env(
        DATABASE_URL=database_url,
        REDIS_URL=clean_redis,
        STORAGE_URL=f"file://{tmp_path / 'storage'}",
        MAIL_URL=smtp.url,
        MAIL_FROM="no-reply@portal.test",
        BASE_URL="http://portal.test",
        SECRET_KEY="test-secret-key",
        MAIL_RETRY_DELAYS="1,1",
        MAIL_RETRY_MAX_DELAY="2",
    )


@pytest.fixture
def rq_worker(worker_env, tmp_path):
    """A real `flask worker` process."""
    with flask_process("worker", worker_env, tmp_path / "worker.log") as process:
        yield process


@pytest.fixture
def rq_scheduler(worker_env, tmp_path):
    """A real `flask scheduler` process (it queues the sweep every minute, the first
    time at once)."""
    with flask_process("scheduler", worker_env, tmp_path / "scheduler.log") as process:
        yield process


# --- browser -------------------------------------------------------------------


class LiveServer:
    """The app served by a real WSGI server in a thread, on a free loopback port."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        require("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    yield page
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(autouse=True)
def _no_leftover_instance(tmp_path):
    yield
    shutil.rmtree(tmp_path / "instance", ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_delayed_jobs_after_the_test():
    # A digest or a mail retry timed minutes ahead (jobs in process, no Redis) would
    # otherwise run later, against another test's data.
    yield
    from saas.jobs import cancel_delayed

    cancel_delayed()

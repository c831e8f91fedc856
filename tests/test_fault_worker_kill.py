"""A real rq worker killed with SIGKILL in the middle of a bulk upload: the file it was
publishing leaves nothing (its transaction dies with it), the upload stays `running`
only until its lease runs out, then the sweep fails it, removes the files it had
staged, and the page says so; a new worker takes the next upload as usual."""

from __future__ import annotations

import io
import os
import signal
import subprocess
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.datastructures import FileStorage

from saas import clock
from saas.auth.models import User
from saas.console.models import UploadBatch
from saas.console.uploads import start_upload
from saas.extensions import db
from saas.maintenance import INTERRUPTED, WORK_LEASE, watch_work
from saas.portal.models import Invoice
from saas.storage import get_storage
from tests import html
from tests.auth.conftest import sign_in
from tests.conftest import ROOT, flask_command, wait_until
from tests.factories import PASSWORD, make_user
from tests.invoices import ubl_invoice


def start_worker(env: dict, log) -> subprocess.Popen:
    # Its own session: the rq worker forks a work horse per job (and a scheduler), and
    # SIGKILL to the whole group leaves none of them to tidy up, as a crash would.
    return subprocess.Popen(
        flask_command("worker"),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def upload(tenant, biller, *numbers: str) -> int:
    files = [FileStorage(io.BytesIO(ubl_invoice(n)), f"{n}.xml") for n in numbers]
    batch_id = start_upload(biller, files).id
    db.session.commit()  # the job is queued at the commit
    return batch_id


def status_of(batch_id: int) -> str:
    db.session.expire_all()
    return db.session.get_one(UploadBatch, batch_id).status


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.committed  # the worker is another process
def test_a_killed_worker_leaves_its_upload_failed_and_nothing_half_done(
    make_app, database_url, clean_redis, worker_env, tenants, tmp_path
):
    if not database_url.startswith("postgresql"):
        pytest.skip("the lock that holds the job in place is PostgreSQL's")
    app = make_app(REDIS_URL=clean_redis)
    # A second connection, as the server's superuser, holds the invoice table so the
    # job stops at its first insert: the kill lands mid-job, at a known point.
    owner = make_url(database_url).set(username="postgres", password=None)
    locker = create_engine(owner.render_as_string(hide_password=False)).connect()
    log = open(tmp_path / "worker.log", "w+")  # noqa: SIM115
    worker = None
    try:
        with app.test_request_context("/"):
            g.tenant = tenant = tenants["intertec"].load()
            biller = make_user(tenant, role="biller", username="bill", email="bill@i.co")
            biller_id = biller.id
            locker.execute(text("LOCK TABLE invoice IN SHARE MODE"))
            batch_id = upload(tenant, biller, "FE-1", "FE-2")
            staged = [item["key"] for item in db.session.get_one(UploadBatch, batch_id).files]
            assert staged and all(get_storage().exists(key) for key in staged)
            worker = start_worker(worker_env, log)

            def waiting_on_the_lock():
                # Statistics are read once per transaction, and the locker's stays open.
                locker.execute(text("SELECT pg_stat_clear_snapshot()"))
                return locker.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO invoice %'"
                    )
                ).scalar()

            wait_until(waiting_on_the_lock, timeout=60, message="the job at its first insert")
            assert status_of(batch_id) == "running"
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
            locker.rollback()  # the lock goes; the dead job's transaction went with it

            # Nothing of the file it was publishing, and the upload still says running
            # (nobody is left to say otherwise) until its lease runs out.
            assert db.session.scalar(select(func.count(Invoice.id))) == 0
            assert status_of(batch_id) == "running"
            assert watch_work() == (0, 0)
            clock.travel(WORK_LEASE + timedelta(seconds=1))
            try:
                assert watch_work() == (0, 1)
                db.session.commit()
            finally:
                clock.reset()
            batch = db.session.get_one(UploadBatch, batch_id)
            assert (batch.status, batch.error, batch.active) == ("failed", INTERRUPTED, False)
            assert not any(get_storage().exists(key) for key in staged)

        # The page the biller watches stops polling and says what happened.
        client = app.test_client()
        assert sign_in(client, "intertec", "bill", PASSWORD).status_code == 302
        page = html.doc(client.get(f"/t/intertec/console/uploads/{batch_id}?lang=en"))
        progress = page.xpath("//section[@id='upload-progress']")[0]
        assert progress.get("hx-get") is None
        assert html.alerts(page) == [
            "The upload stopped because of an unexpected error. Files already published "
            "stay published; upload the rest again."
        ]

        # A worker started again takes the next upload to the end.
        worker = start_worker(worker_env, log)
        with app.test_request_context("/"):
            g.tenant = tenant = tenants["intertec"].load()
            batch_id = upload(tenant, db.session.get_one(User, biller_id), "FE-1")
            wait_until(lambda: status_of(batch_id) == "done", timeout=60, message="new worker")
            assert db.session.scalar(select(func.count(Invoice.id))) == 1
    finally:
        locker.close()
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(10)
        log.seek(0)
        print("--- worker log ---\n" + log.read()[-4000:])
        log.close()

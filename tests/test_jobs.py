"""Jobs: in process without Redis, through Redis and a real `flask worker` with it."""

import pytest
from flask import g

from saas import jobs
from saas.extensions import db
from saas.mail import SENT, OutboxMessage, send_email
from tests.conftest import wait_until


def row(message_id) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def status_of(message_id):
    return row(message_id).status


def test_only_tasks_can_be_enqueued(ctx):
    with pytest.raises(TypeError):
        jobs.enqueue(print, None)
    with pytest.raises(ValueError):
        jobs.job(queue="nowhere")


@pytest.mark.redis
def test_one_transactions_emails_are_one_job_of_at_most_the_batch_size(
    make_app, clean_redis, tenants
):
    """Mail of one transaction goes in jobs of MAIL_BATCH_SIZE ids; what a rolled-back
    savepoint queued is dropped, the rest kept."""
    app = make_app(REDIS_URL=clean_redis)
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        app.config["MAIL"] = {"backend": "smtp", "host": "127.0.0.1", "port": 1}
        app.config["MAIL_BATCH_SIZE"] = 3
        kept = [send_email(f"a{n}@example.com", "test", tenant=g.tenant).id for n in range(4)]
        savepoint = db.session.begin_nested()
        send_email("dropped@example.com", "test", tenant=g.tenant)
        savepoint.rollback()
        kept.append(send_email("after@example.com", "test", tenant=g.tenant).id)
        db.session.commit()
        queued = [job.args[2:] for job in jobs.rq_queue(app, "mail").get_jobs()]
        assert queued == [tuple(kept[:3]), tuple(kept[3:])]


@pytest.mark.redis
def test_rq_queues_are_named_and_used(make_app, clean_redis, tenants):
    app = make_app(REDIS_URL=clean_redis)
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        app.config["MAIL"] = {"backend": "smtp", "host": "127.0.0.1", "port": 1}
        message = send_email("ana@example.com", "test", tenant=g.tenant)
        db.session.commit()
        queue = jobs.rq_queue(app, "mail")
        assert queue.name == "mail"
        [job] = queue.get_jobs()
        assert job.func_name == "saas.jobs.run_task"
        assert job.args == ("saas.mail:deliver", g.tenant.id, message.id)


@pytest.mark.redis
def test_real_worker_delivers_mail_and_retries_through_an_outage(
    make_app, clean_redis, rq_worker, smtp, tenants
):
    app = make_app(REDIS_URL=clean_redis, MAIL_URL=smtp.url)
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        first = send_email("ana@example.com", "test", tenant=g.tenant)
        db.session.commit()
        wait_until(lambda: status_of(first.id) == SENT, timeout=30, message="worker delivery")
        assert smtp.messages[0]["To"] == "ana@example.com"

        smtp.stop()
        second = send_email("bea@example.com", "test", tenant=g.tenant, locale="it")
        db.session.commit()
        wait_until(
            lambda: row(second.id).status == "pending" and row(second.id).attempts >= 1,
            timeout=30,
            message="a failed first attempt",
        )
        smtp.start()
        wait_until(lambda: status_of(second.id) == SENT, timeout=30, message="retry by the worker")
        assert [m["To"] for m in smtp.messages] == ["ana@example.com", "bea@example.com"]
        assert rq_worker.poll() is None  # the worker is still running


@pytest.mark.redis
def test_real_worker_runs_the_default_and_exports_queues(
    make_app, clean_redis, rq_worker, smtp, tenants
):
    """A bulk upload (queue `default`) then a pending-downloads zip (queue `exports`),
    each done by the worker process, not by the web process."""
    import io
    import zipfile

    from werkzeug.datastructures import FileStorage

    from saas.console.models import UploadBatch
    from saas.console.uploads import start_upload
    from saas.portal.exports import start_export
    from saas.portal.models import ExportJob
    from saas.storage import get_storage
    from tests.factories import make_user
    from tests.invoices import ubl_invoice

    app = make_app(REDIS_URL=clean_redis, MAIL_URL=smtp.url)
    with app.test_request_context("/"):
        g.tenant = tenant = tenants["intertec"].load()
        biller = make_user(tenant, role="biller", username="bill", email="bill@i.co")
        files = [FileStorage(io.BytesIO(ubl_invoice(f"FE-{n}")), f"fe-{n}.xml") for n in (1, 2)]
        batch_id = start_upload(biller, files).id
        db.session.commit()  # the test owns the transaction: the job is queued at commit
        assert db.session.get(UploadBatch, batch_id).status == "queued"  # not run here

        def upload_done():
            db.session.expire_all()
            return db.session.get(UploadBatch, batch_id).status == "done"

        wait_until(upload_done, timeout=60, message="the upload job on the default queue")

        from saas.auth.models import User

        recipient = db.session.scalars(
            db.select(User).where(User.email == "compras@andina.example")
        ).one()
        export_id = start_export(recipient).id
        db.session.commit()

        def export_done():
            db.session.expire_all()
            return db.session.get(ExportJob, export_id).status == "done"

        wait_until(export_done, timeout=60, message="the zip job on the exports queue")
        export = db.session.get(ExportJob, export_id)
        archive = zipfile.ZipFile(io.BytesIO(get_storage().read(export.zip_key)))
        # The invoices came without PDFs: the worker drew their printable copies too.
        assert sorted(archive.namelist()) == [
            "2026-01-15_FE-1.pdf",
            "2026-01-15_FE-1.xml",
            "2026-01-15_FE-2.pdf",
            "2026-01-15_FE-2.xml",
        ]
        assert archive.read("2026-01-15_FE-1.pdf").startswith(b"%PDF")
    assert rq_worker.poll() is None


@pytest.mark.redis
@pytest.mark.committed  # the worker and the scheduler are other processes
def test_mail_whose_job_redis_lost_is_sent_by_the_sweep(
    make_app, clean_redis, rq_worker, rq_scheduler, smtp, tenants
):
    """A message is pending with no job anywhere (Redis lost its queues, restarted
    without its data): the scheduler's sweep queues it again from the outbox, and the
    worker sends it, with no cron and no operator."""
    app = make_app(MAIL_URL="outbox://")  # written, and no job queued for it
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        lost = send_email("lost@example.com", "test", tenant=g.tenant)
        db.session.flush()
        lost.status = "pending"
        db.session.commit()
        wait_until(lambda: status_of(lost.id) == SENT, timeout=40, message="the sweep's retry")
        assert [m["To"] for m in smtp.messages] == ["lost@example.com"]

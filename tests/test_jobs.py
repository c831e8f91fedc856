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

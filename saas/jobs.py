"""Background jobs: rq on Redis when REDIS_URL is set, otherwise run in this process.

Tasks are plain functions marked with `@job(queue=...)`. They receive the tenant id
and other ids, never ORM objects, and run with `current_tenant` set again from that id,
so they re-check the tenant when they run. `enqueue()` inside a transaction waits for
the commit (a rolled-back change starts no job, and the job sees the committed rows).
"""

from __future__ import annotations

import importlib
import logging
import threading
from datetime import timedelta
from typing import TypeVar

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from saas import transactions
from saas.extensions import db

log = logging.getLogger(__name__)
QUEUES = ("default", "mail", "exports")
_PENDING = "saas.pending_jobs"
_MARKS = "saas.pending_jobs_at_savepoints"
_Row = TypeVar("_Row")


def job(queue: str = "default"):
    """Mark a function as a task for `queue`."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(fn):
        fn.queue = queue
        fn.task_path = f"{fn.__module__}:{fn.__qualname__}"
        return fn

    return decorate


def job_row(model: type[_Row], ident: int, task: str) -> _Row | None:
    """The row a job's id names, if it is the job's tenant's; else None, logged.

    Reads are scoped to the job's tenant, so a row of another tenant (a misrouted or
    forged job) looks the same as a deleted one: either way the job does nothing.
    """
    row = db.session.get(model, ident)
    if row is None:
        tenant = g.get("tenant")
        log.warning(
            "job %s did nothing: %s %s is not tenant %s's (or no longer exists)",
            task,
            model.__name__,
            ident,
            tenant.id if tenant is not None else "(platform)",
        )
    return row


def enqueue(
    task, tenant_id: int | None, *ids, delay: float | None = None, batch: int | None = None
) -> None:
    """Run `task(*ids)` for `tenant_id` as a job, after the current transaction commits.

    `batch`: the task takes many ids; this call joins the transaction's previous call of
    the same task and tenant while that has fewer than `batch` ids (one job sends a
    transaction's emails over one connection), never one queued before the innermost
    savepoint, whose rollback must drop only its own calls."""
    if not hasattr(task, "task_path"):
        raise TypeError(f"{task!r} is not a @job task")
    call = (task.task_path, task.queue, tenant_id, ids, delay)
    session = db.session()
    if not session.in_transaction():
        _dispatch(_the_app(), call)
        return
    pending = session.info.setdefault(_PENDING, [])
    floor = max(session.info.get(_MARKS, {}).values(), default=0)
    if batch and delay is None and len(pending) > floor:
        path, queue, last_tenant, last_ids, last_delay = pending[-1]
        same = (path, queue, last_tenant, last_delay) == (
            task.task_path,
            task.queue,
            tenant_id,
            None,
        )
        if same and len(last_ids) + len(ids) <= batch:
            pending[-1] = (path, queue, tenant_id, last_ids + ids, None)
            return
    pending.append(call)


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    if session.in_nested_transaction():
        return  # a savepoint was released, not the transaction committed: wait for it
    calls = session.info.pop(_PENDING, None)
    session.info.pop(_MARKS, None)
    if calls:
        app = _the_app()
        for call in calls:
            _dispatch_committed(app, call)


def _dispatch_committed(app: Flask, call) -> None:
    """Queue a job of a transaction that has committed. Redis being away must not turn
    a committed request into an error: what the job would do is in the database (a
    pending email, an open digest, a queued export or upload), and the scheduler's
    sweep (or `flask outbox flush`) queues it again from there."""
    from redis.exceptions import RedisError

    try:
        _dispatch(app, call)
    except RedisError as error:
        log.warning("job %s not queued (%s): the sweep queues it again", call[0], error)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session, transaction):
    if transaction.nested:  # what was queued before it survives its rollback
        marks = session.info.setdefault(_MARKS, {})
        marks[id(transaction)] = len(session.info.get(_PENDING, ()))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    if session.in_nested_transaction():  # a savepoint: drop only what it queued
        mark = session.info.get(_MARKS, {}).pop(id(session.get_nested_transaction()), None)
        if mark is not None and _PENDING in session.info:
            del session.info[_PENDING][mark:]
        return
    session.info.pop(_PENDING, None)
    session.info.pop(_MARKS, None)


def _the_app() -> Flask:
    """The app behind the current_app proxy (a timer thread outlives the proxy's context)."""
    # Flask types current_app as Flask, not as the werkzeug LocalProxy it is.
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _dispatch(app: Flask, call) -> None:
    path, queue, tenant_id, ids, delay = call
    queue_obj = rq_queue(app, queue)
    if queue_obj is not None:
        if delay:
            queue_obj.enqueue_in(timedelta(seconds=delay), run_task, path, tenant_id, *ids)
        else:
            queue_obj.enqueue(run_task, path, tenant_id, *ids)
    elif delay:
        timer = threading.Timer(delay, _run_delayed, (app, path, tenant_id, ids))
        timer.daemon = True
        _delayed.add(timer)
        timer.start()
    else:
        _run_in_process(app, path, tenant_id, ids)


# Delayed in-process jobs not yet run: a test cancels them when it ends, so that a
# digest or a retry timed for minutes later never runs inside another test.
_delayed: set[threading.Timer] = set()


def _run_delayed(app: Flask, path, tenant_id, ids) -> None:
    _delayed.discard(threading.current_thread())
    _run_in_process(app, path, tenant_id, ids)


def cancel_delayed() -> int:
    """Cancel every delayed in-process job not yet started; how many there were."""
    timers = list(_delayed)
    for timer in timers:
        timer.cancel()
        _delayed.discard(timer)
    return len(timers)


def _run_in_process(app: Flask, path, tenant_id, ids) -> None:
    # A worker would log a failed job and go on; so does the in-process runner.
    try:
        with app.app_context():
            run_task(path, tenant_id, *ids)
    except Exception:
        log.exception("job %s failed", path)


def run_task(path: str, tenant_id: int | None, *ids):
    """Entry point of every job: load the task, set the tenant, run it in a fresh context."""
    module, _, name = path.partition(":")
    task = getattr(importlib.import_module(module), name)
    if has_app_context():
        app = _the_app()
    else:
        from saas import create_app

        app = create_app()
    with app.app_context():
        from saas.tenancy.models import Tenant

        if tenant_id is not None:
            tenant = db.session.get(Tenant, tenant_id)
            if tenant is None:
                log.warning("job %s skipped: tenant %s no longer exists", path, tenant_id)
                return None
            g.tenant = tenant
        return transactions.run_as_job(task, *ids)


def redis_connection(app: Flask):
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    conn = app.extensions.get("saas.redis")
    if conn is None:
        from redis import Redis

        conn = app.extensions["saas.redis"] = Redis.from_url(url, socket_timeout=5)
    return conn


def rq_queue(app: Flask, name: str):
    conn = redis_connection(app)
    if conn is None:
        return None
    from rq import Queue

    return Queue(app.config["QUEUE_PREFIX"] + name, connection=conn)


def ping(app: Flask) -> None:
    """Raise when the queue backend does not answer (in-process always answers)."""
    conn = redis_connection(app)
    if conn is not None:
        conn.ping()


def run_worker(app: Flask, burst: bool = False) -> None:
    """A real rq worker on every queue, with the scheduler for delayed retries."""
    from rq import Worker

    conn = redis_connection(app)
    if conn is None:
        raise RuntimeError("REDIS_URL is not set: jobs run in the web process, no worker needed")
    # Forked job processes must not share the parent's database connections.
    db.engine.dispose()
    queues = [rq_queue(app, name) for name in QUEUES]
    Worker(queues, connection=conn).work(burst=burst, with_scheduler=True)


def run_scheduler(app: Flask) -> None:
    """rq's cron scheduler, its own process: queues `maintenance.sweep` every minute, so
    that due retries and lost jobs are picked up with no cron on the machine."""
    from rq.cron import CronScheduler

    from saas.maintenance import SWEEP_SECONDS, sweep

    conn = redis_connection(app)
    if conn is None:
        raise RuntimeError("REDIS_URL is not set: run `flask outbox flush` from cron instead")
    scheduler = CronScheduler(connection=conn)
    scheduler.register(
        run_task,
        queue_name=app.config["QUEUE_PREFIX"] + sweep.queue,
        args=(sweep.task_path, None),
        interval=SWEEP_SECONDS,
    )
    scheduler.start()


def init_app(app: Flask) -> None:
    app.extensions.pop("saas.redis", None)

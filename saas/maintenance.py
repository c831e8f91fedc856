"""What the scheduler runs every minute (`flask scheduler`, with REDIS_URL): the database
is the truth and the queue only a copy of what is due, so a lost job (Redis restarted
without its data, or away when a transaction committed; a worker killed mid-job) is
queued again, or reported, from the rows themselves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select

from saas import clock, mail
from saas.console.models import UploadBatch
from saas.console.uploads import process_upload
from saas.extensions import db
from saas.jobs import enqueue, job
from saas.portal import notices
from saas.portal.exports import build_export
from saas.portal.invoice_files import remove_files
from saas.portal.models import ExportJob
from saas.tenancy import all_tenants

SWEEP_SECONDS = 60
# A queued export or upload whose job has not started after this was lost with Redis.
QUEUED_GRACE = timedelta(minutes=1)
# A running one with no heartbeat for this long lost its worker (progress is saved
# every few seconds, and no single file takes minutes).
WORK_LEASE = timedelta(minutes=5)
INTERRUPTED = "interrupted: its worker stopped (killed or restarted) before it finished"


@job(queue="default")
def sweep() -> None:
    """Queue the emails due (a retry's time came, or a dead worker's lease ran out), the
    digests of new invoices whose job was lost, and the exports and uploads still
    queued; fail those whose worker died. `flask outbox flush` does the same by hand."""
    mail.flush()
    notices.flush()
    watch_work()


@all_tenants()  # over every tenant's exports and uploads
def watch_work() -> tuple[int, int]:
    """(queued again, failed) exports and uploads. A lost job is queued again (its
    claim lets only one run); an interrupted one is failed, never left in progress: the
    page says so and the user may start again (files already published stay)."""
    now = clock.now()
    queued = failed = 0
    work: tuple[tuple[Any, Any], ...] = ((ExportJob, build_export), (UploadBatch, process_upload))
    for model, task in work:  # the two share these columns (Any: no common base class)
        waiting = select(model).where(
            model.status == "queued", model.created_at < now - QUEUED_GRACE
        )
        row: Any
        for row in db.session.scalars(waiting):
            enqueue(task, row.tenant_id, row.id)
            queued += 1
        stale = select(model).where(
            model.status == "running",
            or_(model.heartbeat_at.is_(None), model.heartbeat_at < now - WORK_LEASE),
        )
        for row in db.session.scalars(stale):
            row.status, row.error, row.finished_at = "failed", INTERRUPTED, now
            if model is ExportJob:
                row.active_for_user = None  # the user may ask for a new zip
            else:  # the files it staged for its job: its `finally` never ran
                remove_files([item["key"] for item in row.files])
            failed += 1
    return queued, failed

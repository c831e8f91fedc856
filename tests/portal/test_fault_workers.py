"""A worker killed mid-job (SIGKILL) leaves its export or upload `running`, and Redis
lost or never got a job: the sweep fails the first once its lease has run out (the page
says so, and the user may start again) and queues the second again; nothing stays "in
progress" forever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from saas import clock
from saas.auth.models import User
from saas.console.models import UploadBatch
from saas.extensions import db
from saas.maintenance import WORK_LEASE, watch_work
from saas.portal.models import ExportJob
from saas.tenancy import all_tenants
from tests import html
from tests.portal.test_portal import EMAIL, recipient  # noqa: F401 - a fixture


def add_export(app, *, status, heartbeat=None, age=timedelta(0)) -> int:
    with app.app_context(), all_tenants():
        user = db.session.scalars(select(User).where(User.email == EMAIL)).one()
        export = ExportJob(
            tenant_id=user.tenant_id,
            user_id=user.id,
            status=status,
            active_for_user=user.id,
            invoice_ids=[],
            files=[],
            total=3,
            created_at=clock.now() - age,
            heartbeat_at=heartbeat,
        )
        db.session.add(export)
        db.session.commit()
        return export.id


def sweep(app) -> tuple[int, int]:
    with app.app_context():
        found = watch_work()
        db.session.commit()
        return found


def test_an_export_whose_worker_died_is_failed_after_its_lease(portal_app, recipient):  # noqa: F811
    beat = clock.now() - timedelta(minutes=1)
    export_id = add_export(portal_app, status="running", heartbeat=beat)
    assert sweep(portal_app) == (0, 0)  # within its lease: still its worker's
    clock.travel(WORK_LEASE)
    try:
        assert sweep(portal_app) == (0, 1)
    finally:
        clock.reset()
    page = html.doc(recipient.get(f"/t/intertec/exports/{export_id}?lang=en"))
    failed = "We could not prepare your zip. Please try again; if it fails again, call us."
    assert html.alerts(page)[-1] == failed  # after the activation's own flash
    with portal_app.app_context(), all_tenants():
        export = db.session.get(ExportJob, export_id)
        assert export.active_for_user is None and export.error.startswith("interrupted")


def test_an_export_whose_job_was_never_queued_is_queued_and_built(portal_app, recipient):  # noqa: F811
    export_id = add_export(portal_app, status="queued", age=timedelta(minutes=2))
    assert sweep(portal_app) == (1, 0)  # in-process jobs: built at the commit
    with portal_app.app_context(), all_tenants():
        assert db.session.get(ExportJob, export_id).status == "done"
    assert sweep(portal_app) == (0, 0)


def test_an_upload_whose_worker_died_is_failed_and_says_so(portal_app, recipient):  # noqa: F811
    with portal_app.app_context(), all_tenants():
        user = db.session.scalars(select(User).where(User.email == EMAIL)).one()
        batch = UploadBatch(
            tenant_id=user.tenant_id,
            user_id=user.id,
            status="running",
            files=[],
            heartbeat_at=clock.now() - WORK_LEASE - timedelta(seconds=1),
        )
        db.session.add(batch)
        db.session.commit()
        batch_id = batch.id
    assert sweep(portal_app) == (0, 1)
    with portal_app.app_context(), all_tenants():
        batch = db.session.get(UploadBatch, batch_id)
        assert batch.status == "failed" and not batch.active

"""Daily housekeeping, started once a day by `flask daily` (cron or a systemd timer).

Each task runs as a job per tenant, with `current_tenant` set, and is safe to run
more than once a day: what it sends it claims first with a conditional write.
"""

from __future__ import annotations

from sqlalchemy import select

from saas.extensions import db
from saas.jobs import enqueue


def daily_tasks() -> list:
    from saas.auth.password_age import remind_expiring_passwords
    from saas.seats.purchases import expire_seat_purchases

    return [remind_expiring_passwords, expire_seat_purchases]


def run_daily() -> int:
    """Queue every daily task for every active tenant; returns how many jobs were queued.

    A suspended tenant is left out: its reminders would link to pages that answer 403,
    and its seats expire on the first run after an operator reactivates it.
    """
    from saas.tenancy.models import Tenant

    tenant_ids = db.session.scalars(
        select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.id)
    ).all()
    queued = 0
    for tenant_id in tenant_ids:
        for task in daily_tasks():
            enqueue(task, tenant_id)
            queued += 1
    return queued

"""What the scheduler runs every minute (`flask scheduler`, with REDIS_URL): the database
is the truth and the queue only a copy of what is due, so a lost job (Redis restarted
without its data, a worker killed mid-job) is queued again from the rows themselves."""

from __future__ import annotations

from saas import mail
from saas.jobs import job
from saas.portal import notices

SWEEP_SECONDS = 60


@job(queue="default")
def sweep() -> None:
    """Queue the emails due (a retry's time came, or a dead worker's lease ran out) and
    the digests of new invoices whose job was lost; `flask outbox flush` does the same
    by hand."""
    mail.flush()
    notices.flush()

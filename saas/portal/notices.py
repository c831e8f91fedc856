"""Notices of new invoices: one email per burst, not one per invoice.

A recipient who already has access hears of a new invoice in a digest. Publishing adds
the invoice to the recipient's open `NoticeDigest`, in its own transaction, or opens one
due when the tenant's window ends (`notify_window_minutes`; 0 = at once) and queues the
`send_digest` job for then. That job claims the digest with one conditional UPDATE and
writes one email, listing every invoice of the digest, to the outbox in the same
transaction. A new recipient's first invoice comes with the onboarding emails instead
(saas.portal.onboarding), so no digest repeats it.

Nothing is lost: an invoice and its notice are committed together, and a digest whose job
was lost (Redis emptied, a web process restarted before its timer) is queued again by
`flask outbox flush` (cron) once due, or by the next invoice that finds it. Nothing is
told twice: of all the jobs that may run for a digest, the one whose claim changes the
row sends it.
"""

from __future__ import annotations

from datetime import timedelta

from flask import g
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas import audit, clock
from saas.auth.models import User
from saas.extensions import db
from saas.jobs import enqueue, job, job_row
from saas.mail import absolute_url, email_user
from saas.portal.models import Invoice, InvoiceNotice, NoticeDigest
from saas.portal.visibility import visible_invoices
from saas.tenancy.scoping import all_tenants
from saas.transactions import claim

# An email lists this many invoices at most; the rest are one link away, in the portal.
MAX_LISTED = 50


def notify(tenant, user: User, invoice: Invoice) -> NoticeDigest:
    """Tell `user` of `invoice` in their next digest (joined, or opened now)."""
    digest = _open_digest(tenant, user)
    db.session.add(InvoiceNotice(tenant_id=tenant.id, digest_id=digest.id, invoice_id=invoice.id))
    return digest


def _open_digest(tenant, user: User) -> NoticeDigest:
    for attempt in (1, 2):
        # FOR UPDATE (PostgreSQL): a job claiming this digest now either waits for our
        # commit and then lists our invoice too, or has claimed it and we wait for its
        # commit, after which the row no longer matches and we open a new digest.
        # (SQLite runs one writer at a time: the same outcome.)
        digest = db.session.scalars(
            select(NoticeDigest).where(NoticeDigest.open_for_user == user.id).with_for_update()
        ).first()
        if digest is not None:
            if digest.due_at <= clock.now():
                # Due already: its job may be lost or late. Another try is harmless, the
                # claim lets one of them send it.
                enqueue(send_digest, tenant.id, digest.id)
            return digest
        window = timedelta(minutes=tenant.notify_window_minutes)
        digest = NoticeDigest(
            tenant_id=tenant.id,
            user_id=user.id,
            open_for_user=user.id,
            due_at=clock.now() + window,
        )
        try:
            with db.session.begin_nested():
                db.session.add(digest)
        except IntegrityError:  # another publisher opened one just now: join theirs
            if attempt == 2:
                raise
            continue
        enqueue(send_digest, tenant.id, digest.id, delay=window.total_seconds() or None)
        return digest
    raise AssertionError("unreachable")


@job(queue="mail")
def send_digest(digest_id: int) -> int:
    """Send one digest when due, once; returns how many invoices its email lists."""
    digest = job_row(NoticeDigest, digest_id, "send_digest")
    if digest is None or digest.open_for_user is None:
        return 0  # sent already (another job, or `outbox flush`)
    now = clock.now()
    if digest.due_at > now:
        # Early: this worker's clock is behind the publisher's. Come back when due.
        enqueue(
            send_digest, digest.tenant_id, digest_id, delay=(digest.due_at - now).total_seconds()
        )
        return 0
    # Claimed together with the outbox row below: both commit, or neither does.
    if not claim(
        NoticeDigest,
        NoticeDigest.id == digest_id,
        NoticeDigest.open_for_user.is_not(None),
        open_for_user=None,
        sent_at=now,
    ):
        return 0
    user = db.session.get(User, digest.user_id)
    if user is None or not user.active:  # nobody to tell any more: claimed, not retried
        audit.record("notice.dropped", digest=digest_id, reason="recipient_inactive")
        return 0
    told = select(InvoiceNotice.invoice_id).where(InvoiceNotice.digest_id == digest_id)
    # Only what the recipient may still see, oldest first as they were published.
    invoices = db.session.scalars(
        visible_invoices(user)
        .where(Invoice.id.in_(told))
        .order_by(Invoice.issue_date, Invoice.number, Invoice.id)
    ).all()
    if not invoices:
        audit.record("notice.dropped", user_id=user.id, digest=digest_id, reason="not_visible")
        return 0
    tenant = g.tenant
    message = email_user(
        user,
        "invoices_published",
        tenant=tenant,
        invoices=invoices[:MAX_LISTED],
        count=len(invoices),
        more=max(0, len(invoices) - MAX_LISTED),
        list_link=absolute_url("portal.invoices", tenant=tenant.slug),
    )
    digest.outbox_message_id = message.id
    return len(invoices)


@all_tenants()  # an operator's command over every tenant's digests (`outbox flush`)
def flush() -> int:
    """Queue the digests that are due and still open: their job was lost or is late."""
    due = db.session.execute(
        select(NoticeDigest.id, NoticeDigest.tenant_id).where(
            NoticeDigest.open_for_user.is_not(None), NoticeDigest.due_at <= clock.now()
        )
    ).all()
    for digest_id, tenant_id in due:
        enqueue(send_digest, tenant_id, digest_id)
    return len(due)

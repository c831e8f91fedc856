"""Email: every message goes through the outbox table first.

`send_email()` renders a message (HTML + text, in the recipient's language and the
tenant's branding) and adds it to the outbox in the caller's transaction; once that
commits, a `mail` job delivers it, with the other messages of the same transaction
over one SMTP connection (MAIL_BATCH_SIZE per job). A temporary failure (4xx,
connection refused, timeout) is tried again: MAIL_RETRY_DELAYS as the first waits, then
doubling up to MAIL_RETRY_MAX_DELAY, with jitter, until MAIL_GIVE_UP_AFTER has passed
since the message was written; then it is `failed`, audited, and the tenant's
Administrators are told once per incident. A refusal for good (5xx for the address or
the content) or a message that cannot be built ends `failed` at once, never `sending`;
a refused address is shown on its customer's row in the console. The outbox, not the
queue, is the truth: `sweep` (every minute from the scheduler, or `flask outbox flush`)
queues what is due, also after Redis lost its queues.
With MAIL_URL=outbox:// messages are only kept (status `kept`) and shown at /dev/outbox.
"""

from __future__ import annotations

import logging
import random
import smtplib
from datetime import datetime, timedelta
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import urlsplit

from flask import Flask, current_app, g, render_template
from flask_babel import force_locale
from sqlalchemy import String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from saas import audit, clock
from saas.audit import AuditEvent
from saas.auth.models import User
from saas.companies import Company, membership
from saas.extensions import Model, db
from saas.jobs import enqueue, job, job_row
from saas.mail_backends import Connection, PermanentFailure, mail_backend
from saas.tenancy.models import TenantOptional
from saas.tenancy.scoping import all_tenants
from saas.transactions import checkpoint, claim_many
from saas.validation import one_line

log = logging.getLogger(__name__)

KEPT, PENDING, SENDING, SENT, FAILED = "kept", "pending", "sending", "sent", "failed"
SENDING_LEASE = timedelta(minutes=10)


class OutboxMessage(TenantOptional, Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    to_addr: Mapped[str] = mapped_column(String(254))
    from_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    sent_at: Mapped[datetime | None]
    # When an operator queued it again (`flask outbox retry`): its give-up window
    # starts there instead of at created_at.
    retried_at: Mapped[datetime | None]


def absolute_url(endpoint: str, **values) -> str:
    """A link for an email: built from BASE_URL, never from a request's Host header."""
    app = current_app
    base = urlsplit(app.config["BASE_URL"])
    tenant = g.get("tenant")
    needs_tenant = app.url_map.is_endpoint_expecting(endpoint, "tenant")
    if "tenant" not in values and tenant is not None and needs_tenant:
        values["tenant"] = tenant.slug
    adapter = app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def send_email(to: str, template: str, *, tenant, locale: str | None = None, **context):
    """Render `emails/<template>.*` and queue it; delivered after the caller commits."""
    locale = locale or (tenant.default_locale if tenant else "en")
    context.update(tenant=tenant, to=to)
    with force_locale(locale):
        subject = render_template(f"emails/{template}.subject.txt", **context).strip()
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", **context)
    sender = current_app.config["MAIL_FROM"]
    message = OutboxMessage(
        tenant_id=tenant.id if tenant else None,
        template=template,
        to_addr=to,
        # one_line: a name stored before names were checked must not break the header.
        from_addr=formataddr((one_line(tenant.name), sender)) if tenant else sender,
        subject=" ".join(subject.split()),
        text_body=text,
        html_body=html,
        message_id=make_msgid(domain=sender.rpartition("@")[2] or "localhost"),
        locale=locale,
        status=KEPT if mail_backend().keeps_only else PENDING,
    )
    db.session.add(message)
    db.session.flush()
    if message.status == PENDING:
        enqueue(deliver, message.tenant_id, message.id, batch=current_app.config["MAIL_BATCH_SIZE"])
    return message


def person_locale(user, tenant, page_locale: str | None = None) -> str:
    """The one rule for the language of an email to a person: their account's language
    (the header's language picker sets it), else the language of the page that caused
    the email, else the tenant's default; always one of the tenant's languages."""
    for locale in (user.locale, page_locale):
        if locale and locale in tenant.locales:
            return locale
    return tenant.default_locale


def email_user(user, template: str, *, tenant, page_locale: str | None = None, **context):
    """`send_email` to a person, in their language (person_locale), with `user` in the
    template's context."""
    return send_email(
        user.email,
        template,
        tenant=tenant,
        locale=person_locale(user, tenant, page_locale),
        user=user,
        **context,
    )


def build_message(row: OutboxMessage) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = row.from_addr
    msg["To"] = row.to_addr
    msg["Message-ID"] = row.message_id
    msg["Content-Language"] = row.locale
    msg.set_content(row.text_body)
    msg.add_alternative(row.html_body, subtype="html")
    return msg


@job(queue="mail")
def deliver(*message_ids: int) -> None:
    """Send these outbox messages over one connection; each one that fails gets its
    retry, or ends failed."""
    mine = [i for i in message_ids if job_row(OutboxMessage, i, "mail.deliver") is not None]
    # Claim the rows with one conditional write, so two workers never send one twice;
    # the lease in next_attempt_at lets `sweep()` recover them if this worker dies.
    claimed = claim_many(
        OutboxMessage,
        OutboxMessage.id.in_(mine),
        OutboxMessage.status == PENDING,
        status=SENDING,
        attempts=OutboxMessage.attempts + 1,
        next_attempt_at=clock.now() + SENDING_LEASE,
    )
    checkpoint()  # the lease is taken before the slow part, in sight of other workers
    if not claimed:
        return
    retries: dict[int, list[int]] = {}
    with mail_backend().open() as connection:
        for message_id in sorted(claimed):
            row = db.session.get_one(OutboxMessage, message_id)  # claimed: it exists
            if _attempt(row, connection):
                retries.setdefault(row.attempts, []).append(row.id)
            checkpoint()  # sent is sent: a crash later in the batch never sends it again
    # The messages that failed together are tried again together, one job per step.
    tenant_id = g.tenant.id if g.get("tenant") is not None else None
    for ids in retries.values():
        rows = [db.session.get_one(OutboxMessage, i) for i in ids]
        enqueue(deliver, tenant_id, *ids, delay=min(_wait(r) for r in rows))
    checkpoint()


def _attempt(row: OutboxMessage, connection: Connection) -> bool:
    """Send `row` once and set what follows: sent, a retry (true), or failed. Whatever
    goes wrong, the row leaves `sending`: a message no code path can finish is `failed`,
    with the reason, for an operator to see, never a lease that expires forever."""
    try:
        message = build_message(row)
    except (ValueError, TypeError, MessageError) as error:
        # A header the standard library refuses (a line break in a name or address):
        # retrying cannot help.
        row.status, row.last_error = FAILED, f"cannot be built: {error}"[:2000]
        log.error("mail %s cannot be built: %s", row.id, error)
        return False
    try:
        connection.send(message)
    except PermanentFailure as error:
        row.status, row.last_error = FAILED, str(error)[:2000]
        log.warning("mail %s refused for good: %s", row.id, error)
        _refused(row, str(error))
    except (smtplib.SMTPException, OSError) as error:
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        return _retry_or_give_up(row)
    except Exception as error:  # anything else: end it, visibly
        log.exception("mail %s could not be sent", row.id)
        row.status, row.last_error = FAILED, f"{type(error).__name__}: {error}"[:2000]
    else:
        row.status, row.sent_at, row.last_error = SENT, clock.now(), None
    return False


def retry_delay(attempts: int) -> float:
    """Seconds to wait after `attempts` failed attempts: MAIL_RETRY_DELAYS as the first
    steps, then doubling, capped at MAIL_RETRY_MAX_DELAY, each within 10 % either way so
    that a burst that failed together spreads out when the server is back."""
    config = current_app.config
    steps = config["MAIL_RETRY_DELAYS"]
    if attempts <= len(steps):
        wait = steps[attempts - 1]
    else:
        wait = steps[-1] * 2 ** min(attempts - len(steps), 32)
    return min(wait, config["MAIL_RETRY_MAX_DELAY"]) * random.uniform(0.9, 1.1)


def _retry_or_give_up(row: OutboxMessage) -> bool:
    """Pending again at its next step, or, past MAIL_GIVE_UP_AFTER, failed for good.
    The last attempt is at the give-up time itself, not a step before it."""
    now = clock.now()
    started = row.retried_at or row.created_at
    give_up = started + timedelta(seconds=current_app.config["MAIL_GIVE_UP_AFTER"])
    if now >= give_up:
        row.status = FAILED
        row.last_error = f"gave up after {row.attempts} attempts: {row.last_error}"[:2000]
        log.error("mail %s failed for good after %s attempts", row.id, row.attempts)
        _given_up(row)
        return False
    row.status = PENDING
    row.next_attempt_at = min(now + timedelta(seconds=retry_delay(row.attempts)), give_up)
    log.warning("mail %s attempt %s failed, retry at %s", row.id, row.attempts, row.next_attempt_at)
    return True


# --- what an operator and the tenant see of mail that did not go ------------------------

MAIL_REFUSED = "refused"  # Company.mail_problem: the server refused the address for good
INCIDENT = "mail_incident"  # the email telling Administrators that mail is not going out


def _refused(row: OutboxMessage, reason: str) -> None:
    """The customers whose people use this address show on their row why they were not
    told, until the next invoice to them (publishing sets the problem anew)."""
    audit.record(
        "mail.refused", subject=f"email:{row.to_addr}", message=row.id, reason=reason[:300]
    )
    if row.tenant_id is None:
        return
    companies = db.session.scalars(
        select(Company)
        .join(membership, membership.c.company_id == Company.id)
        .join(User, User.id == membership.c.user_id)
        .where(User.email == row.to_addr, Company.kind == "customer")
    ).unique()
    for company in companies:
        company.mail_problem = MAIL_REFUSED
        company.mail_problem_detail = f"{row.to_addr}: {reason}"[:300]


def _given_up(row: OutboxMessage) -> None:
    """Audited, and the tenant's Administrators are emailed once per incident: not again
    while an earlier notice is less than MAIL_GIVE_UP_AFTER old (an outage that made
    thousands of messages give up is one email, not thousands)."""
    audit.record(
        "mail.given_up", subject=f"email:{row.to_addr}", message=row.id, attempts=row.attempts
    )
    tenant = g.get("tenant")
    if tenant is None or row.template == INCIDENT:  # never an incident about the notice
        return
    since = clock.now() - timedelta(seconds=current_app.config["MAIL_GIVE_UP_AFTER"])
    told = db.session.scalar(
        select(AuditEvent.id)
        .where(AuditEvent.event == "mail.incident", AuditEvent.created_at >= since)
        .limit(1)
    )
    if told is not None:
        return
    audit.record("mail.incident", message=row.id)
    link = absolute_url("console.customers", tenant=tenant.slug)
    for admin in db.session.scalars(
        select(User).where(User.role == "admin", User.active.is_(True), User.deleted_at.is_(None))
    ):
        email_user(admin, INCIDENT, tenant=tenant, message=row, link=link)


def _wait(row: OutboxMessage) -> float:
    return max((row.next_attempt_at - clock.now()).total_seconds(), 0) if row.next_attempt_at else 0


@all_tenants()  # an operator's command over every tenant's outbox
def retry(message_ids=None) -> int:
    """Queue failed (or the given failed) messages again with fresh attempts."""
    query = select(OutboxMessage.id).where(OutboxMessage.status == FAILED)
    if message_ids:
        query = query.where(OutboxMessage.id.in_(message_ids))
    return _requeue(db.session.scalars(query).all(), reset_attempts=True)


@all_tenants()  # an operator's command over every tenant's outbox
def flush() -> int:
    """Queue what is due: pending past its retry time, or stuck `sending` past its
    lease (a worker that died). The scheduler runs it every minute (`sweep`); an operator
    may run it (`flask outbox flush`) after Redis lost its queues, or without Redis."""
    due = or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= clock.now())
    ids = db.session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.status.in_((PENDING, SENDING)), due)
    ).all()
    return _requeue(ids, reset_attempts=False)


def _requeue(ids, reset_attempts: bool) -> int:
    """Pending again and queued, a tenant's messages in jobs of MAIL_BATCH_SIZE."""
    rows = [db.session.get_one(OutboxMessage, message_id) for message_id in ids]
    for row in sorted(rows, key=lambda r: (r.tenant_id or 0, r.id)):
        row.status, row.next_attempt_at = PENDING, None
        if reset_attempts:  # an operator's retry: a new give-up window from now
            row.attempts, row.retried_at = 0, clock.now()
        enqueue(deliver, row.tenant_id, row.id, batch=current_app.config["MAIL_BATCH_SIZE"])
    return len(rows)


def init_app(app: Flask) -> None:
    from saas.branding import text_on

    app.jinja_env.globals.update(absolute_url=absolute_url, brand_text_on=text_on)

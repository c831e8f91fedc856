"""Email: every message goes through the outbox table first.

`send_email()` renders a message (HTML + text, in the recipient's language and the
tenant's branding) and adds it to the outbox in the caller's transaction; once that
commits, a `mail` job delivers it. A failed delivery is retried with backoff and,
after MAIL_MAX_ATTEMPTS, marked `failed` for an operator (`flask outbox retry`); a
message that cannot be built, or any other error, ends `failed` at once, never `sending`.
With MAIL_URL=outbox:// messages are only kept (status `kept`) and shown at /dev/outbox.
"""

from __future__ import annotations

import logging
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

from saas import clock
from saas.extensions import Model, db
from saas.jobs import enqueue, job, job_row
from saas.tenancy.models import TenantOptional
from saas.tenancy.scoping import all_tenants
from saas.transactions import checkpoint, claim
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
        enqueue(deliver, message.tenant_id, message.id)
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


class PermanentFailure(Exception):
    """The server refused the message for good (e.g. the recipient does not exist)."""


class MailBackend:
    """Where a message goes when its delivery job runs: one interface, chosen by
    MAIL_URL, as storage is by STORAGE_URL."""

    keeps_only = False  # True: messages stay in the outbox (`kept`), no job sends them

    def send(self, message: EmailMessage) -> None:
        """Hand `message` over; PermanentFailure if refused for good, OSError or
        smtplib.SMTPException if worth trying again."""
        raise NotImplementedError


class OutboxOnly(MailBackend):
    """MAIL_URL=outbox://: kept and shown at /dev/outbox, for development."""

    keeps_only = True

    def send(self, message: EmailMessage) -> None:
        raise RuntimeError("the outbox backend keeps messages; it sends none")


class Smtp(MailBackend):
    def __init__(self, settings: dict):
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        smtp_send(self.settings, message)


def mail_backend() -> MailBackend:
    """The backend of the current app's MAIL settings (read each time: tests change them)."""
    settings = current_app.config["MAIL"]
    return OutboxOnly() if settings["backend"] == "outbox" else Smtp(settings)


def smtp_send(settings: dict, message: EmailMessage) -> None:
    cls = smtplib.SMTP_SSL if settings["ssl"] else smtplib.SMTP
    with cls(settings["host"], settings["port"], timeout=settings["timeout"]) as smtp:
        if settings["starttls"]:
            smtp.starttls()
        if settings["username"]:
            smtp.login(settings["username"], settings["password"] or "")
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure(str(error)) from error


@job(queue="mail")
def deliver(message_id: int) -> str | None:
    """Send one outbox message; on failure schedule a retry or mark it failed."""
    # The job runs as the message's tenant (none for the platform's own mail).
    if job_row(OutboxMessage, message_id, "mail.deliver") is None:
        return None
    # Claim the row with one conditional write, so two workers never send it twice;
    # the lease in next_attempt_at lets `flush()` recover it if this worker dies.
    claimed = claim(
        OutboxMessage,
        OutboxMessage.id == message_id,
        OutboxMessage.status == PENDING,
        status=SENDING,
        attempts=OutboxMessage.attempts + 1,
        next_attempt_at=clock.now() + SENDING_LEASE,
    )
    checkpoint()  # the lease is taken before the slow part, in sight of other workers
    if not claimed:
        return None
    row = db.session.get_one(OutboxMessage, message_id)  # claimed above: it exists
    _attempt(row)
    return row.status


def _attempt(row: OutboxMessage) -> None:
    """Send `row` once and set what follows: sent, a retry, or failed. Whatever goes
    wrong, the row leaves `sending`: a message no code path can finish is `failed`,
    with the reason, for an operator to see, never a lease that expires forever."""
    try:
        message = build_message(row)
    except (ValueError, TypeError, MessageError) as error:
        # A header the standard library refuses (a line break in a name or address):
        # retrying cannot help.
        row.status, row.last_error = FAILED, f"cannot be built: {error}"[:2000]
        log.error("mail %s cannot be built: %s", row.id, error)
        return
    try:
        mail_backend().send(message)
    except PermanentFailure as error:
        row.status, row.last_error = FAILED, str(error)[:2000]
    except (smtplib.SMTPException, OSError) as error:
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        delays = current_app.config["MAIL_RETRY_DELAYS"]
        if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            row.status = FAILED
            log.error("mail %s failed for good after %s attempts", row.id, row.attempts)
        else:
            delay = delays[min(row.attempts - 1, len(delays) - 1)]
            row.status = PENDING
            row.next_attempt_at = clock.now() + timedelta(seconds=delay)
            enqueue(deliver, row.tenant_id, row.id, delay=delay)
            log.warning("mail %s attempt %s failed, retry in %ss", row.id, row.attempts, delay)
    except Exception as error:  # anything else: end it, visibly
        log.exception("mail %s could not be sent", row.id)
        row.status, row.last_error = FAILED, f"{type(error).__name__}: {error}"[:2000]
    else:
        row.status, row.sent_at, row.last_error = SENT, clock.now(), None


@all_tenants()  # an operator's command over every tenant's outbox
def retry(message_ids=None) -> int:
    """Queue failed (or the given failed) messages again with fresh attempts."""
    query = select(OutboxMessage.id).where(OutboxMessage.status == FAILED)
    if message_ids:
        query = query.where(OutboxMessage.id.in_(message_ids))
    return _requeue(db.session.scalars(query).all(), reset_attempts=True)


@all_tenants()  # an operator's command over every tenant's outbox
def flush() -> int:
    """Queue what is due: pending past its retry time, or stuck `sending` (a dead worker).

    Run it from cron or after a Redis restart: the outbox, not the queue, is the truth.
    """
    due = or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= clock.now())
    ids = db.session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.status.in_((PENDING, SENDING)), due)
    ).all()
    return _requeue(ids, reset_attempts=False)


def _requeue(ids, reset_attempts: bool) -> int:
    for message_id in ids:
        row = db.session.get_one(OutboxMessage, message_id)
        row.status, row.next_attempt_at = PENDING, None
        if reset_attempts:
            row.attempts = 0
        enqueue(deliver, row.tenant_id, row.id)
    return len(ids)


def init_app(app: Flask) -> None:
    from saas.branding import text_on

    app.jinja_env.globals.update(absolute_url=absolute_url, brand_text_on=text_on)

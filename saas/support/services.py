"""Support requests: who may see which, opening, answering, replying, closing. Services
add and flush; the request's transaction commits."""

from __future__ import annotations

import uuid

from flask import current_app
from flask_babel import format_decimal
from sqlalchemy import ColumnElement, Select, select

from saas import audit, clock
from saas.auth.models import User
from saas.console.upload_files import file_name
from saas.extensions import db
from saas.mail import absolute_url, email_user
from saas.portal import visibility
from saas.portal.models import Invoice
from saas.portal.publishing import PDF_MAGIC
from saas.storage import get_storage, tenant_key
from saas.support.models import STATUSES, SupportMessage, SupportRequest

SUBJECT_MAX = 200
BODY_MAX = 5000
# What an attachment may be, known by its first bytes (never by the name it came with).
ATTACHMENT_TYPES = {
    PDF_MAGIC: ("application/pdf", "pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}


class SupportProblem(ValueError):
    """A field the form shows an error under: (field, code)."""

    def __init__(self, field: str, code: str):
        super().__init__(code)
        self.field, self.code = field, code


# --- who sees what --------------------------------------------------------------------


def own_requests(user: User) -> Select:
    """A recipient's own requests, newest activity first."""
    return (
        select(SupportRequest)
        .where(SupportRequest.requester_id == user.id)
        .order_by(SupportRequest.updated_at.desc(), SupportRequest.id.desc())
    )


def _staff_scope(user: User) -> ColumnElement[bool]:
    """The requests a staff user may see: those about invoices of the issuers they may
    see (all, unless limited; a request about no invoice is for unlimited staff only,
    as `in_([...])` never holds for NULL)."""
    return visibility.staff_issuers_rule(user, SupportRequest.issuer_company_id)


def queue(user: User, status: str | None) -> Select:
    """The staff queue, oldest first; `status` one of STATUSES or None for all."""
    query = select(SupportRequest).where(_staff_scope(user)).order_by(SupportRequest.id)
    if status in STATUSES:
        query = query.where(SupportRequest.status == status)
    return query


def request_for_requester(user: User, request_id: int) -> SupportRequest | None:
    return db.session.scalars(own_requests(user).where(SupportRequest.id == request_id)).first()


def request_for_staff(user: User, request_id: int) -> SupportRequest | None:
    return db.session.scalars(
        select(SupportRequest).where(SupportRequest.id == request_id, _staff_scope(user))
    ).first()


# --- what people do -------------------------------------------------------------------


def invoice_for_requester(user: User, invoice_id) -> Invoice | None:
    """The invoice a request may be about: one the user may see (a recipient's own, or
    one of the issuers a staff user may see)."""
    if user.kind != "staff":
        return visibility.invoice_for(user, invoice_id)
    return visibility.staff_invoice(user, int(invoice_id))


def staff_invoice_numbered(user: User, number: str) -> int | None:
    """The id of the one invoice with this number among those a staff user may see; None
    when there is none, or several (issuers number on their own: ask for the one meant)."""
    found = db.session.scalars(
        visibility.staff_invoices(user)
        .with_only_columns(Invoice.id)
        .where(Invoice.search_number == number.strip().lower())
        .limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def _companies_of(user: User, invoice: Invoice | None) -> tuple[int | None, int | None]:
    """(issuer, customer) a request is filed under, which decides who in Support sees it:
    the invoice's; else a recipient's company, or the one issuer a limited staff user
    works for (so that issuer's Support sees it; unlimited Support always does)."""
    if invoice is not None:
        return invoice.issuer_company_id, invoice.customer_company_id
    if user.kind == "staff":
        issuers = visibility.assigned_issuers(user) or []
        return (issuers[0].id if len(issuers) == 1 else None), None
    companies = list(user.companies)
    return None, companies[0].id if companies else None


def open_request(user: User, subject: str, body: str, invoice_id, upload) -> SupportRequest:
    """A new request of a recipient or a staff user, about an invoice they may see if
    `invoice_id` is given."""
    subject, body = _checked(subject, "subject", SUBJECT_MAX), _checked(body, "body", BODY_MAX)
    invoice = None
    if invoice_id:
        invoice = invoice_for_requester(user, invoice_id)
        if invoice is None:  # not theirs, or gone: as if it did not exist
            raise SupportProblem("invoice", "invoice")
    issuer_id, customer_id = _companies_of(user, invoice)
    request = SupportRequest(
        tenant_id=user.tenant_id,
        requester_id=user.id,
        invoice_id=invoice.id if invoice else None,
        issuer_company_id=issuer_id,
        customer_company_id=customer_id,
        subject=subject,
    )
    with db.session.begin_nested():  # a refused attachment leaves no request behind
        db.session.add(request)
        db.session.flush()
        _add_message(request, user, body, upload, from_staff=False)
    audit.record("support.opened", user_id=user.id, request=request.id, subject=subject)
    return request


def reply(user: User, request: SupportRequest, body: str, upload) -> None:
    """The requester writes again: the request is open again for Support."""
    if request.status == "closed":
        raise SupportProblem("body", "closed")
    _add_message(request, user, _checked(body, "body", BODY_MAX), upload, from_staff=False)
    request.status = "open"
    audit.record("support.replied", user_id=user.id, request=request.id)


def answer(staff: User, request: SupportRequest, body: str, upload, tenant) -> None:
    """Support answers: the requester is emailed, in their language, with a link back."""
    if request.status == "closed":
        raise SupportProblem("body", "closed")
    _add_message(request, staff, _checked(body, "body", BODY_MAX), upload, from_staff=True)
    request.status = "answered"
    audit.record("support.answered", user_id=staff.id, request=request.id)
    requester = request.requester
    if requester is not None and requester.active and requester.email:
        # A staff requester reads the thread in the console, a recipient in the portal.
        if requester.kind == "staff":
            link = absolute_url("support.mine", tenant=tenant.slug, own_request_id=request.id)
        else:
            link = absolute_url("support.thread", tenant=tenant.slug, request_id=request.id)
        email_user(requester, "support_answered", tenant=tenant, request=request, link=link)


def close(staff: User, request: SupportRequest) -> None:
    if request.status != "closed":
        request.status, request.updated_at = "closed", clock.now()
        audit.record("support.closed", user_id=staff.id, request=request.id)


def _checked(text: str | None, field: str, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise SupportProblem(field, "required")
    if len(value) > limit:
        raise SupportProblem(field, "too_long")
    return value if field == "body" else " ".join(value.split())


def _add_message(request: SupportRequest, author: User, body: str, upload, *, from_staff: bool):
    message = SupportMessage(
        tenant_id=request.tenant_id,
        request_id=request.id,
        author_id=author.id,
        from_staff=from_staff,
        body=body,
    )
    if upload is not None and upload.filename:
        limit = current_app.config["SUPPORT_ATTACHMENT_MAX_BYTES"]
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise SupportProblem("attachment", "too_big")
        kind = next((t for magic, t in ATTACHMENT_TYPES.items() if data.startswith(magic)), None)
        if kind is None:
            raise SupportProblem("attachment", "type")
        key = tenant_key(request.tenant_id, "support", str(request.id), uuid.uuid4().hex)
        get_storage().put(key, data, kind[0])
        name = "".join(c for c in file_name(upload.filename) if c.isprintable())
        message.attachment_key, message.attachment_type = key, kind[0]
        message.attachment_name = name or f"attachment.{kind[1]}"
        message.attachment_size = len(data)
    request.updated_at = clock.now()
    db.session.add(message)
    db.session.flush()
    return message


def attachment_limit_mb() -> str:
    """SUPPORT_ATTACHMENT_MAX_BYTES as the pages and messages state it."""
    return format_decimal(round(current_app.config["SUPPORT_ATTACHMENT_MAX_BYTES"] / 2**20, 1))


def attachment_of(request: SupportRequest, message_id: int) -> SupportMessage | None:
    return next((m for m in request.messages if m.id == message_id and m.attachment_key), None)

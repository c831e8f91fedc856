"""Account recovery, by the company's tax id or by email, chosen per tenant.

By tax id (tenant setting `password_reset = "tax_id"`), for a customer's recipients: a
person types their company's tax id; a link goes to the company's registered address, and
its page lets them choose which of the company's active *recipients* to reset. A company
without a registered address gets no shared link: each recipient gets one of their own.
Staff never appear there (an issuer's tax id is printed on every invoice, so anyone could
ask): they recover by email, as everyone may. By email: the link goes to the user's own
address and resets that user only. So a link only ever reaches the person it resets, or
the company's registered address for its recipients; the owner and Administrators can
be reset only through their own mailbox. Either link is valid 24 hours and once, a newer
one kills the older ones, and a reset has every effect of a password change.

Requests are throttled per tax id or address (5 an hour) and per IP (20 an hour),
counted from the audit trail like the sign-in limits. Known and unknown tax ids and
addresses get the same status, page and work (the lookup happens in the job), and the
page names no address. Every request, email and reset is audited with the requesting IP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import g
from sqlalchemy import select

from saas import audit
from saas.auth import tokens
from saas.auth.models import User
from saas.auth.services import (
    active_recipients,
    change_password,
    find_user_by_email,
    normalize_email,
)
from saas.companies import Company
from saas.einvoice.taxids import normalize_tax_id
from saas.extensions import db
from saas.jobs import enqueue, job
from saas.mail import absolute_url, email_user, send_email
from saas.throttle import Limit, one_at_a_time, retry_after

RESET_TTL = timedelta(hours=24)
RESET_PURPOSES = ("reset_tax_id", "reset_email")
SUBJECT_LIMIT = Limit(("password_reset.requested",), 5, timedelta(hours=1))
IP_LIMIT = Limit(("password_reset.requested",), 20, timedelta(hours=1))


def clean_tax_id(tenant, raw: str) -> str:
    """The tenant country's normalised spelling of `raw`; InvalidTaxId when malformed."""
    return normalize_tax_id(tenant.country, raw)


def request_wait(tenant, subject: str, ip: str | None) -> int:
    """Seconds before another reset request for `subject` (or from `ip`) is accepted."""
    return max(
        retry_after(SUBJECT_LIMIT, tenant_id=tenant.id, subject=subject),
        retry_after(IP_LIMIT, ip=ip) if ip else 0,
    )


def _throttled(tenant, subject: str, ip: str | None) -> int:
    wait = request_wait(tenant, subject, ip)
    if wait:
        audit.record("password_reset.throttled", subject=subject)
    return wait


def resettable_recipients(company: Company) -> list[User]:
    """Who a tax-id link may reset: the company's active recipients, never staff."""
    return list(
        db.session.scalars(
            active_recipients(company)
            .where(User.deleted_at.is_(None))
            .order_by(User.name, User.username)
        )
    )


def request_reset_by_tax_id(tenant, tax_id: str, ip: str | None, locale: str) -> int:
    """Ask for a reset link for the company with this (normalised) tax id.

    Returns seconds to wait when throttled, else 0. The same work happens for every tax
    id (an audit row and a queued job); the job looks the company up, so neither the page
    nor its timing tells whether the company exists.
    """
    return _request(tenant, f"tax_id:{tax_id}", "tax_id", ip, send_tax_id_reset, tax_id, locale)


def _request(tenant, subject: str, flow: str, ip: str | None, task, *args) -> int:
    """Record the request and queue `task(*args, ip)`, unless throttled (then the wait)."""
    with one_at_a_time(f"reset:{tenant.id}:{subject}"):
        wait = _throttled(tenant, subject, ip)
        if wait:
            return wait
        audit.record("password_reset.requested", subject=subject, flow=flow)
        enqueue(task, tenant.id, *args, ip)
    return 0


@job(queue="mail")
def send_tax_id_reset(tax_id: str, locale: str, ip: str | None = None) -> None:
    tenant = g.tenant
    company = db.session.scalars(
        select(Company).where(Company.tax_id == tax_id, Company.kind == "customer")
    ).first()
    recipients = resettable_recipients(company) if company is not None else []
    if company is None or not recipients:
        return
    hours = int(RESET_TTL.total_seconds() // 3600)
    if company.email:
        raw = tokens.issue("reset_tax_id", RESET_TTL, company_id=company.id)
        send_email(
            company.email,
            "password_reset_tax_id",
            tenant=tenant,
            locale=locale,
            company=company,
            link=absolute_url("auth.reset_password", token=raw),
            hours=hours,
        )
        audit.record(
            "password_reset.sent", flow="tax_id", company_id=company.id, to=company.email, ip=ip
        )
    else:
        # No shared mailbox: each recipient gets a link that resets only themselves.
        for user in recipients:
            _send_own_link(tenant, user, locale, flow="tax_id", ip=ip)


def _send_own_link(tenant, user: User, locale: str, *, flow: str, ip: str | None) -> None:
    raw = tokens.issue("reset_email", RESET_TTL, user_id=user.id)
    email_user(
        user,
        "password_reset_email",
        tenant=tenant,
        page_locale=locale,
        link=absolute_url("auth.reset_password", token=raw),
        hours=int(RESET_TTL.total_seconds() // 3600),
    )
    audit.record("password_reset.sent", flow=flow, user_id=user.id, to=user.email, ip=ip)


def request_reset_by_email(tenant, email: str, ip: str | None, locale: str) -> int:
    """Ask for a reset link by email; returns seconds to wait when throttled, else 0.

    The same work happens for every address (an audit row and a queued job); the job
    looks the account up, so neither the page nor its timing tells who has one.
    """
    email = normalize_email(email)
    return _request(tenant, f"email:{email}", "email", ip, send_email_reset, email, locale)


@job(queue="mail")
def send_email_reset(email: str, locale: str, ip: str | None = None) -> None:
    tenant = g.tenant
    user = find_user_by_email(email)
    if user is None or not user.active:
        return
    _send_own_link(tenant, user, locale, flow="email", ip=ip)


@dataclass
class ResetLink:
    """A reset link that still works, and the users it may reset."""

    token: tokens.OneTimeToken
    users: list[User]
    company: Company | None = None

    @property
    def flow(self) -> str:
        return "tax_id" if self.token.purpose == "reset_tax_id" else "email"


def open_reset_link(raw: str) -> ResetLink | None:
    """The link's token and users if it can still be used; reading never consumes it."""
    for purpose in RESET_PURPOSES:
        token = tokens.peek(purpose, raw)
        if token is not None:
            break
    else:
        return None
    if token.company_id is not None:
        company = db.session.get(Company, token.company_id)
        users = resettable_recipients(company) if company else []
        link = ResetLink(token=token, users=users, company=company)
    else:
        user = db.session.get(User, token.user_id)
        alive = user is not None and user.active and user.deleted_at is None
        link = ResetLink(token=token, users=[user] if user is not None and alive else [])
    return link if link.users else None


def reset_password(raw: str, user_id: int, new_password: str) -> User | None:
    """Use the link to set `user_id`'s password; None when the link no longer works.

    The token is consumed by one conditional write, so of many concurrent posts of the
    same link exactly one resets. The caller has checked the password's quality.
    """
    link = open_reset_link(raw)
    user = next((u for u in link.users if u.id == user_id), None) if link else None
    if link is None or user is None or tokens.consume(link.token.purpose, raw) is None:
        return None
    change_password(user, new_password, reason=f"reset_{link.flow}")
    audit.record(
        "password.reset",
        user_id=user.id,
        flow=link.flow,
        company_id=link.company.id if link.company else None,
    )
    return user

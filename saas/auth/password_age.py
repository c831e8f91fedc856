"""The password age policy: `password_max_age_days` in the tenant file (0 = off).

From 14 days before a password expires, pages show a banner suggesting a change; at 7
days the daily job emails a reminder, once per password; after expiry the next
sign-in leads to "Change your password".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import g
from sqlalchemy import select

from saas import audit, clock
from saas.auth.models import User
from saas.extensions import db
from saas.jobs import job
from saas.mail import absolute_url, email_user
from saas.transactions import claim

BANNER_FROM = timedelta(days=14)
REMIND_AT = timedelta(days=7)


def password_expires_at(user: User, tenant) -> datetime | None:
    """When the user's password expires under the tenant's policy; None if it never does."""
    days = tenant.password_max_age_days or 0
    if days <= 0 or user.password_hash is None or user.password_changed_at is None:
        return None
    return user.password_changed_at + timedelta(days=days)


def password_expired(user: User, tenant) -> bool:
    expires = password_expires_at(user, tenant)
    return expires is not None and expires <= clock.now()


def days_left(user: User, tenant) -> int | None:
    """Whole days until expiry while the banner is due (14 days to 0), else None."""
    expires = password_expires_at(user, tenant)
    if expires is None:
        return None
    left = expires - clock.now()
    if left > BANNER_FROM or left <= timedelta(0):
        return None
    return left.days


def expire_at_sign_in(user: User, tenant) -> None:
    """An expired password must be changed before anything else (the forced-change page)."""
    if password_expired(user, tenant) and not user.must_change_password:
        user.must_change_password = True
        audit.record("password.expired", user_id=user.id)


@job(queue="mail")
def remind_expiring_passwords() -> int:
    """Email every user of the tenant whose password expires within 7 days, once per password.

    Each reminder is claimed by one conditional write, so running the job twice (two
    cron hosts, a retry) never sends a reminder twice.
    """
    tenant = g.tenant
    days = tenant.password_max_age_days or 0
    if days <= 0:
        return 0
    now = clock.now()
    max_age = timedelta(days=days)
    due = db.session.scalars(
        select(User).where(
            User.active.is_(True),
            User.password_hash.is_not(None),
            User.password_changed_at <= now - max_age + REMIND_AT,
            User.password_changed_at > now - max_age,
            User.password_reminded_at.is_(None),
        )
    ).all()
    sent = 0
    for user in due:
        if not claim(
            User, User.id == user.id, User.password_reminded_at.is_(None), password_reminded_at=now
        ):
            continue
        expires = password_expires_at(user, tenant)
        email_user(
            user,
            "password_expiry_reminder",
            tenant=tenant,
            expires_at=expires,
            days=max(0, (expires - now).days),
            max_age_days=days,
            link=absolute_url("auth.change_password"),
        )
        audit.record("password.reminder_sent", user_id=user.id)
        sent += 1
    return sent

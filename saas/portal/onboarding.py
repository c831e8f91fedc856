"""Onboarding recipients: the access link or credentials a new recipient gets by
email, with their first invoice. Later invoices are told in digests (saas.portal.notices)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from saas import audit, clock
from saas.auth import tokens
from saas.auth.models import User
from saas.auth.services import end_other_sessions
from saas.mail import absolute_url, email_user
from saas.portal.models import Invoice
from saas.security import hash_password
from saas.transactions import claim


def access_link_days() -> int:
    """How many days an access or set-password link works: ACCESS_LINK_DAYS (saas.config)."""
    return current_app.config["ACCESS_LINK_DAYS"]


def onboard(tenant, user: User, first_invoice: Invoice | None = None) -> bool:
    """Send the onboarding email(s) once per recipient, ever; False if already sent.

    One conditional write claims the right to send, so two invoices published at the
    same moment still send one activation.
    """
    if user.welcomed_at is not None:  # known already: no need to ask the database
        return False
    now = clock.now()
    if not claim(User, User.id == user.id, User.welcomed_at.is_(None), welcomed_at=now):
        return False
    set_committed_value(user, "welcomed_at", now)  # what the row now says
    send_access(tenant, user, first=True, invoice=first_invoice)
    return True


def send_access(tenant, user: User, *, first: bool = False, invoice=None) -> None:
    """Access email(s) by the tenant's onboarding mode; a new link kills the old one.

    two_emails: an activation email with the username and a one-time access link, and
    a second email with a new generated password. set_password_link: one email whose
    one-time link lets the recipient choose a password.
    """
    context = {"invoice": invoice, "first": first}
    days = access_link_days()
    if tenant.onboarding == "two_emails":
        raw = tokens.issue("access_link", timedelta(days=days), user_id=user.id)
        password = generate_password()
        user.password_hash = hash_password(password)
        user.password_changed_at = clock.now()
        user.must_change_password = True
        if not first:
            # A resend replaces the password: sessions opened with the old one end too.
            end_other_sessions(user)
            audit.record("password.replaced", user_id=user.id, reason="access_resent")
        email_user(
            user,
            "access_activation",
            tenant=tenant,
            link=absolute_url("portal.access", tenant=tenant.slug, token=raw),
            days=days,
            **context,
        )
        email_user(
            user,
            "access_password",
            tenant=tenant,
            password=password,
            login_url=absolute_url("auth.login", tenant=tenant.slug),
            **context,
        )
    else:
        raw = tokens.issue("set_password", timedelta(days=days), user_id=user.id)
        email_user(
            user,
            "access_set_password",
            tenant=tenant,
            link=absolute_url("portal.set_password", tenant=tenant.slug, token=raw),
            days=days,
            **context,
        )
    audit.record("access.sent", user_id=user.id, mode=tenant.onboarding)


def generate_password() -> str:
    """A strong password that reads well in an email: four groups of five characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))

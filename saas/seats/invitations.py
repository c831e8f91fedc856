"""Staff invitations: a new staff user chooses their own password from a one-time link.

Nobody else ever knows the password: the Administrator who creates the user only gives
the name, the address and the profile, and the person gets an email whose link works
once, for ACCESS_LINK_DAYS days, on this tenant only (a token is tenant-scoped, so
another tenant's page never finds it). Opening the link shows a page and spends nothing
(mail scanners open links); choosing the password spends it with one conditional write,
so a forwarded or copied link is useless once used. Until then the user has no password
at all, which is how the Users page knows the invitation is pending.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from saas import audit
from saas.auth import tokens
from saas.auth.models import User
from saas.auth.services import change_password
from saas.extensions import db
from saas.mail import absolute_url, email_user
from saas.seats.ledger import SeatError

PURPOSE = "staff_invite"


def link_days() -> int:
    """How many days an invitation works: ACCESS_LINK_DAYS (saas.config), like every
    link that lets a person choose their first password."""
    return current_app.config["ACCESS_LINK_DAYS"]


def is_pending(user: User) -> bool:
    """Invited and not yet in: the person has not chosen a password."""
    return user.kind == "staff" and user.password_hash is None and user.deleted_at is None


def invite(tenant, by: User | None, user: User) -> None:
    """Email `user` a new one-time link to choose a password; an older link stops working."""
    days = link_days()
    raw = tokens.issue(PURPOSE, timedelta(days=days), user_id=user.id)
    email_user(
        user,
        "staff_invitation",
        tenant=tenant,
        inviter=by,
        days=days,
        link=absolute_url("seats.invitation", tenant=tenant.slug, token=raw),
    )
    audit.record("user.invited", user_id=by.id if by else None, target=user.id)


def resend(tenant, by: User, user: User) -> None:
    """A new invitation for a user who has not chosen a password yet (the old link dies)."""
    if not is_pending(user):
        raise SeatError("not_invited")
    if not user.active:
        raise SeatError("inactive")
    invite(tenant, by, user)


def _usable(user: User | None) -> bool:
    return user is not None and user.active and is_pending(user)


def invited_user(raw: str) -> User | None:
    """The person a still-valid link invites; reading never spends it (GET, HEAD)."""
    found = tokens.peek(PURPOSE, raw)
    user = db.session.get(User, found.user_id) if found else None
    return user if _usable(user) else None


def accept(raw: str, password: str) -> User | None:
    """Spend the link and set the password the person chose; None when the link no longer
    works (used, replaced, expired, or the user was deactivated since).

    The caller has checked the password's strength: spending the link comes last, in the
    request's transaction, so a weak password leaves the link usable.
    """
    used = tokens.consume(PURPOSE, raw)
    user = db.session.get(User, used.user_id) if used else None
    if not _usable(user):
        return None
    assert user is not None  # for mypy: _usable said so
    change_password(user, password, reason="invitation")
    audit.record("user.invitation_accepted", user_id=user.id)
    return user

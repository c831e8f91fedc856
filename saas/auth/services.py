"""Creating users. Sign-in flows build on these."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select

from saas import audit, clock
from saas.auth.models import ROLES, User
from saas.extensions import db
from saas.security import hash_password

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str, *, email: str = "", username: str = "") -> str | None:
    """Why a password is refused, or None (length and identity; no composition rules)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.strip().lower()
    if lowered in {email.lower(), username.lower(), email.lower().partition("@")[0]}:
        return "must not be your email or username"
    return None


def unique_username(tenant_id: int, email: str) -> str:
    """A username from the email's local part, made unique in the tenant."""
    local = unicodedata.normalize("NFKD", email.partition("@")[0])
    base = re.sub(r"[^a-z0-9._-]", "", local.encode("ascii", "ignore").decode().lower())[:40]
    base = base or "user"
    taken = set(
        db.session.scalars(
            select(User.username).where(User.tenant_id == tenant_id, User.username.like(f"{base}%"))
        )
    )
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}{n}"
    return candidate


def find_user_by_email(tenant_id: int, email: str) -> User | None:
    return db.session.scalars(
        select(User).where(User.tenant_id == tenant_id, User.email == normalize_email(email))
    ).first()


def create_staff_user(
    tenant, *, email: str, name: str, role: str, password: str, companies=()
) -> User:
    """A staff user of `tenant` with one of the four roles; the caller commits."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email):
        raise UserError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise UserError("a name is required")
    if find_user_by_email(tenant.id, email) is not None:
        raise UserError(f"{email} already has an account in {tenant.slug}")
    username = unique_username(tenant.id, email)
    problem = password_problem(password, email=email, username=username)
    if problem:
        raise UserError(f"password: {problem}")
    user = User(
        tenant_id=tenant.id,
        email=email,
        username=username,
        name=name.strip(),
        password_hash=hash_password(password),
        password_changed_at=clock.now(),
        kind="staff",
        role=role,
        companies=list(companies),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", tenant_id=tenant.id, user_id=user.id, role=role)
    return user


def count_users(tenant_id: int) -> int:
    return db.session.scalar(select(func.count(User.id)).where(User.tenant_id == tenant_id))

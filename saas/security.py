"""Passwords, response headers and the signed-in user's loader."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, g
from sqlalchemy import select

from saas.extensions import db, login_manager

# argon2id with the OWASP baseline: 19 MiB, 2 passes, 1 lane.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = hasher.hash("a password nobody has, for timing")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


def hash_password(password: str) -> str:
    return hasher.hash(password)


def needs_rehash(password_hash: str) -> bool:
    return hasher.check_needs_rehash(password_hash)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, spend the same time on a dummy one."""
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def set_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


@login_manager.user_loader
def load_user(session_token: str):
    """The user of a session, only on their own tenant's pages."""
    from saas.auth.models import User

    tenant = g.get("tenant")
    if tenant is None:
        return None
    return db.session.scalars(
        select(User).where(User.session_token == session_token, User.active)
    ).first()


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)

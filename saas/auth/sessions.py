"""A signed-in session: starting one, where it lands, and the browsers a user signed in
from before (a signed cookie that lets its owner in while the account is paused)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import (
    current_app,
    g,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user
from sqlalchemy import select

from saas.auth import services
from saas.auth.models import User
from saas.extensions import db, login_manager
from saas.tenancy import current_tenant


def safe_next(target: str | None) -> str | None:
    """Only a path on this site, never another host (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def landing() -> str:
    """Where a signed-in person starts: recipients at their invoices, staff at the console."""
    if current_user.is_authenticated and current_user.kind == "recipient":
        return url_for("portal.invoices")
    if current_user.is_authenticated and current_user.kind == "staff":
        return url_for("console.dashboard")
    return url_for("auth.account")


def start_session(user: User, *, remember: bool = False, method: str) -> None:
    """A fresh session for `user`: nothing from before sign-in survives in it."""
    session.clear()
    login_user(user, remember=remember, fresh=True)
    session["sid"] = secrets.token_urlsafe(16)
    services.record_sign_in(user, method)


def current_device() -> services.KnownDevice | None:
    """This browser, when it signed in to this tenant before (its signed cookie)."""
    name = services.device_cookie_name(current_tenant)
    return services.known_device(current_tenant, request.cookies.get(name))


def remember_device(response, user: User):
    """Mark this browser as one `user` signs in from (it may still try while paused)."""
    previous = current_device()
    previous = previous if previous and previous.user_id == user.id else None
    response.set_cookie(
        services.device_cookie_name(current_tenant),
        services.device_cookie_value(current_tenant, user, previous),
        max_age=services.DEVICE_COOKIE_DAYS * 86400,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


@login_manager.user_loader
def load_user(session_token: str):
    """The user of a session, only on their own tenant's pages."""
    tenant = g.get("tenant")
    if tenant is None:
        return None
    return db.session.scalars(
        select(User).where(User.session_token == session_token, User.active)
    ).first()

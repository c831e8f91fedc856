"""Users: creating them, signing in, passwords, magic links."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from flask import current_app, g
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import Select, func, select

from saas import audit, clock
from saas.auth import tokens
from saas.auth.apikeys import revoke_user_keys
from saas.auth.models import User, new_session_token
from saas.auth.password_age import expire_at_sign_in
from saas.companies import Company, membership
from saas.extensions import db
from saas.jobs import enqueue, job
from saas.mail import absolute_url, email_user
from saas.security import hash_password, needs_rehash, verify_password
from saas.throttle import Limit, one_at_a_time, remaining, retry_after
from saas.throttle import count as throttle_count
from saas.validation import InvalidEmail, email_address, has_control_characters


class UserError(ValueError):
    """A user cannot be created as asked; the message says why, `code` says which rule
    (pages word it in the visitor's language)."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


def normalize_email(email: str) -> str:
    return email.strip().lower()


def checked_email(email: str) -> str:
    """The address as stored, or UserError("invalid_email")."""
    try:
        return email_address(email)
    except InvalidEmail as error:
        raise UserError(str(error), "invalid_email") from None


def checked_name(name: str) -> str:
    """A person's name on one line, or UserError."""
    if not name.strip():
        raise UserError("a name is required", "name_required")
    if has_control_characters(name):
        raise UserError("a name must be on one line, without control characters", "invalid_name")
    return name.strip()


def unique_username(email: str) -> str:
    """A username from the email's local part, made unique in the tenant."""
    local = unicodedata.normalize("NFKD", email.partition("@")[0])
    base = re.sub(r"[^a-z0-9._-]", "", local.encode("ascii", "ignore").decode().lower())[:40]
    base = base or "user"
    taken = set(db.session.scalars(select(User.username).where(User.username.like(f"{base}%"))))
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}{n}"
    return candidate


def find_user_by_email(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == normalize_email(email))).first()


def active_recipients(company: Company) -> Select[User]:
    """The company's active recipients (never its staff), as a query callers narrow."""
    return (
        select(User)
        .join(membership, membership.c.user_id == User.id)
        .where(
            membership.c.company_id == company.id,
            User.kind == "recipient",
            User.active.is_(True),
        )
    )


# --- signing in -------------------------------------------------------------------

# Every wrong password counts, wherever it was typed: the sign-in page, the API's
# HTTP Basic, and the password asked again for an API key or a password change.
PASSWORD_FAILURES = ("signin.failed", "api_key.reauth_failed", "password.reauth_failed")
ACCOUNT_LIMIT = Limit(PASSWORD_FAILURES, 5, timedelta(minutes=15))
IP_LIMIT = Limit(PASSWORD_FAILURES, 20, timedelta(minutes=15))
# While the account or the address is paused, a device the user signed in from before
# may still try their password (so guessing cannot lock the owner out), with a limit
# of its own.
DEVICE_LIMIT = Limit(("signin.device_failed",), 5, timedelta(minutes=15))
DEVICE_COOKIE_DAYS = 180
MAGIC_LINK_SPACING = Limit(("magic_link.requested",), 1, timedelta(seconds=60))
MAGIC_LINK_HOURLY = Limit(("magic_link.requested",), 5, timedelta(hours=1))
# Per address (any tenant), so one machine cannot mail links to a list of addresses.
MAGIC_LINK_IP = Limit(("magic_link.requested",), 20, timedelta(hours=1))


@dataclass
class SignIn:
    """The outcome of a password sign-in: a user, or why not (and how long to wait)."""

    user: User | None = None
    throttled_for: int = 0
    # The right password of a deactivated account: only then may the answer say so
    # (a wrong one gets the same answer whether or not the account exists or is active).
    deactivated: bool = False
    # After a wrong password: how many more wrong ones before the pause (0: paused now).
    attempts_left: int | None = None


def find_by_login(login: str) -> User | None:
    """The tenant's user with this email or username (both case-insensitive)."""
    login = login.strip().lower()
    column = User.email if "@" in login else func.lower(User.username)
    return db.session.scalars(select(User).where(column == login)).first()


@dataclass(frozen=True)
class KnownDevice:
    """A browser that signed in as `user_id` before (from its signed cookie)."""

    user_id: int
    device_id: str

    @property
    def subject(self) -> str:
        return f"device:{self.device_id}"


def _device_serializer() -> URLSafeTimedSerializer:
    # Always set: saas.config generates one when the environment gives none.
    secret = cast(str | bytes, current_app.secret_key)
    return URLSafeTimedSerializer(secret, salt="known-device")


def device_cookie_name(tenant) -> str:
    return f"known_device_{tenant.id}"


def device_cookie_value(tenant, user: User, previous: KnownDevice | None = None) -> str:
    """The signed "known device" cookie for a successful sign-in of `user` here."""
    device_id = previous.device_id if previous else secrets.token_urlsafe(16)
    return _device_serializer().dumps({"t": tenant.id, "u": user.id, "d": device_id})


def known_device(tenant, raw: str | None) -> KnownDevice | None:
    """The device a cookie names, when it is ours, of this tenant and not too old."""
    if not raw:
        return None
    try:
        data = _device_serializer().loads(raw, max_age=DEVICE_COOKIE_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("t") != tenant.id:
        return None
    user_id, device_id = data.get("u"), data.get("d")
    if not isinstance(user_id, int) or not isinstance(device_id, str):
        return None
    return KnownDevice(user_id, device_id)


def _password_wait(tenant, subject: str, ip: str | None, device: KnownDevice | None) -> int:
    """Seconds before this account may try a password from here (0: now)."""
    wait = max(
        retry_after(ACCOUNT_LIMIT, tenant_id=tenant.id, subject=subject),
        retry_after(IP_LIMIT, ip=ip) if ip else 0,
    )
    if wait and device is not None:
        # The user's own browser: only the failures typed on it hold it back.
        return retry_after(DEVICE_LIMIT, tenant_id=tenant.id, subject=device.subject)
    return wait


def _attempts_left(tenant, subject: str, ip: str | None, device: KnownDevice | None) -> int:
    """Wrong passwords this account may still get from here before the pause: the rule
    of _password_wait, counted ahead (unknown accounts, counted by what was typed,
    are counted the same way)."""
    left = remaining(ACCOUNT_LIMIT, tenant_id=tenant.id, subject=subject)
    if ip:
        left = min(left, remaining(IP_LIMIT, ip=ip))
    if device is not None:
        # Paused only once the account or the address is, and this device too.
        left = max(left, remaining(DEVICE_LIMIT, tenant_id=tenant.id, subject=device.subject))
    return left


def pause_warning(result: SignIn) -> str | None:
    """What the answer to a wrong password adds, in the page's language: a warning with
    the one before the last attempt (so the pause is no surprise), the pause with the
    one that starts it; else None."""
    minutes = int(ACCOUNT_LIMIT.window.total_seconds() // 60)
    if result.attempts_left == 1:
        return _(
            "One attempt left before sign-in is paused for %(minutes)s minutes.", minutes=minutes
        )
    if result.attempts_left == 0:
        return _("Sign-in is now paused for %(minutes)s minutes.", minutes=minutes)
    return None


def _record_failure(event: str, user: User | None, subject: str, device: KnownDevice | None):
    user_id = user.id if user else None
    audit.record(event, user_id=user_id, subject=subject)
    if device is not None:
        audit.record("signin.device_failed", user_id=user_id, subject=device.subject)


def authenticate(
    tenant, login: str, password: str, ip: str | None, device: KnownDevice | None = None
) -> SignIn:
    """Check a password sign-in, with throttling per account and per IP.

    Unknown accounts cost the same hash check and are throttled by what was typed, so
    the answer and its timing say nothing about which accounts exist. `device`, from a
    "known device" cookie, counts only when it names this very user.
    """
    user = find_by_login(login)
    subject = f"user:{user.id}" if user else f"login:{login.strip().lower()}"
    return _check_password(tenant, user, subject, password, ip, device, "signin.failed")


def reauthenticate(
    tenant, user: User, password: str, ip: str | None, *, event: str, device=None
) -> SignIn:
    """The signed-in `user` types their password again (for an API key, a new password).

    Throttled and counted exactly like the sign-in page: same limits, same pause, the
    same notice to the owner. `event` names the failure in the audit trail.
    """
    return _check_password(tenant, user, f"user:{user.id}", password, ip, device, event)


def _check_password(tenant, user, subject, password, ip, device, failure_event) -> SignIn:
    """One password check under the account's lock: paused, wrong (recorded as
    `failure_event`, the owner told once when it pauses), or the user."""
    if device is not None and (user is None or device.user_id != user.id):
        device = None
    with one_at_a_time(f"signin:{tenant.id}:{subject}"):
        wait = _password_wait(tenant, subject, ip, device)
        if wait:
            audit.record(
                "signin.throttled",
                user_id=user.id if user else None,
                subject=subject,
                where=failure_event,
            )
            return SignIn(throttled_for=wait)
        valid = verify_password(user.password_hash if user else None, password)
        if valid and not user.active:
            # Whoever typed this knows the password: telling them the account is
            # deactivated (and whom to call) reveals nothing to a guesser. Not a failure.
            audit.record("signin.deactivated", user_id=user.id, subject=subject)
            return SignIn(deactivated=True)
        if not valid:
            _record_failure(failure_event, user, subject, device)
            if user is not None and user.active:
                _warn_owner_when_locked(tenant, user, subject)
            return SignIn(attempts_left=_attempts_left(tenant, subject, ip, device))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return SignIn(user=user)


def _warn_owner_when_locked(tenant, user: User, subject: str) -> None:
    """Email the owner once when their account's sign-ins get paused."""
    if not retry_after(ACCOUNT_LIMIT, tenant_id=tenant.id, subject=subject):
        return
    if throttle_count(
        "signin.lock_notice", tenant_id=tenant.id, subject=subject, since=ACCOUNT_LIMIT.window
    ):
        return
    audit.record("signin.lock_notice", user_id=user.id, subject=subject)
    email_user(
        user,
        "signin_locked",
        tenant=tenant,
        minutes=int(ACCOUNT_LIMIT.window.total_seconds() // 60),
        attempts=ACCOUNT_LIMIT.count,
    )


def record_sign_in(user: User, method: str) -> None:
    user.last_sign_in_at = clock.now()
    audit.record("signin.succeeded", user_id=user.id, method=method)
    expire_at_sign_in(user, g.tenant)


def end_other_sessions(user: User) -> None:
    """Every existing session and remember-me cookie of the user stops working."""
    user.session_token = new_session_token()


def change_password(user: User, new_password: str, *, reason: str = "changed") -> None:
    """Set a new password, by a change or a reset. Caller commits.

    Every effect of a new password happens here, whatever the flow: other sessions
    end, API keys are revoked (an integration must get a new key from the person who
    now knows the password), a forced change is satisfied, the owner is emailed.
    """
    user.password_hash = hash_password(new_password)
    user.password_changed_at = clock.now()
    user.password_reminded_at = None  # the new password gets its own reminder
    user.must_change_password = False
    end_other_sessions(user)
    revoke_user_keys(user, "password_changed")
    audit.record("password.changed", user_id=user.id, reason=reason)
    email_user(user, "password_changed", tenant=g.tenant)


def magic_link_wait(tenant, email: str, ip: str | None = None) -> int:
    subject = f"email:{normalize_email(email)}"
    return max(
        retry_after(MAGIC_LINK_SPACING, tenant_id=tenant.id, subject=subject),
        retry_after(MAGIC_LINK_HOURLY, tenant_id=tenant.id, subject=subject),
        retry_after(MAGIC_LINK_IP, ip=ip) if ip else 0,
    )


def request_magic_link(
    tenant, email: str, ip: str | None = None, page_locale: str | None = None
) -> int:
    """Ask for a sign-in link; returns seconds to wait when over the limit, else 0.

    Limited per address typed and per IP. The request does the same work whether or
    not the address has an account (an audit row and a job, or the same pause); the
    job looks the account up and sends the link.
    """
    email = normalize_email(email)
    with one_at_a_time(f"magic_link:{tenant.id}:{email}"):
        wait = magic_link_wait(tenant, email, ip)
        if wait:
            audit.record("magic_link.throttled", subject=f"email:{email}", wait=wait)
            return wait
        audit.record("magic_link.requested", subject=f"email:{email}")
        enqueue(send_magic_link, tenant.id, email, page_locale)
    return 0


@job(queue="mail")
def send_magic_link(email: str, page_locale: str | None = None) -> None:
    tenant = g.tenant
    user = find_user_by_email(email)
    if user is None or not user.active or "magic_link" not in tenant.login_methods:
        return
    minutes = tenant.magic_link_minutes
    raw = tokens.issue("magic_link", timedelta(minutes=minutes), user_id=user.id)
    email_user(
        user,
        "magic_link",
        tenant=tenant,
        page_locale=page_locale,
        link=absolute_url("auth.magic_link", token=raw),
        minutes=minutes,
    )
    audit.record("magic_link.sent", user_id=user.id)

"""API keys: issued to staff, shown once, kept as a SHA-256 with a visible prefix.

A key looks like `inv_<8 chars>_<43 chars>`; the first part (`inv_` and 8 characters)
is the prefix shown in the console, so a person can tell keys apart without the
secret. Keys carry 256 random bits, so a plain SHA-256 is enough to store them (no
slow hash needed: nothing to brute-force). A password change or reset revokes every
key of the user, and the API tells an integration so in plain words.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, event, inspect, select, update
from sqlalchemy.orm import Session, joinedload

from saas import audit, clock
from saas.auth.models import ApiKey, User
from saas.auth.tokens import digest
from saas.extensions import db
from saas.throttle import Limit, retry_after

KEY_PREFIX = "inv_"
LAST_USE_PRECISION = timedelta(minutes=1)
# The revocation reason of keys whose user became inactive without saying why.
INACTIVE = "user_inactive"
PREFIX_LENGTH = len(KEY_PREFIX) + 8

# What the API answers for a key that does not work, by reason.
KEY_ERRORS = {
    "key_invalid": "The API key is not valid for this portal.",
    "key_revoked": (
        "This API key was revoked after a password change; get a new key with "
        "POST api-keys (or the console's API page) and update your integration."
    ),
    "key_revoked_manually": (
        "This API key was revoked by an administrator; get a new key with POST api-keys "
        "(or the console's API page) and update your integration."
    ),
    "user_inactive": "The user of this API key is deactivated.",
}


def create_api_key(user: User) -> tuple[ApiKey, str]:
    """A new key for `user`; returns the row and the raw key (shown once). Caller commits."""
    raw = f"{KEY_PREFIX}{secrets.token_urlsafe(6)}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        tenant_id=user.tenant_id, user_id=user.id, prefix=raw[:PREFIX_LENGTH], key_hash=digest(raw)
    )
    db.session.add(key)
    db.session.flush()
    audit.record("api_key.created", tenant_id=user.tenant_id, user_id=user.id, key=key.prefix)
    return key, raw


@dataclass
class KeyCheck:
    """The outcome of checking a presented key: its row and user, or an error code."""

    key: ApiKey | None = None
    error: str | None = None
    wait: int = 0  # seconds, when the error is "throttled"

    @property
    def message(self) -> str | None:
        return KEY_ERRORS.get(self.error) if self.error else None


def check_api_key(raw: str | None) -> KeyCheck:
    """Find the tenant's key matching `raw` and say whether it may be used now.

    The lookup is by prefix and the stored hash is compared in constant time. A key of
    another tenant is simply invalid here. Records the key's last use.
    """
    raw = (raw or "").strip()
    if not raw.startswith(KEY_PREFIX) or len(raw) <= PREFIX_LENGTH:
        return KeyCheck(error="key_invalid")
    wanted = digest(raw)
    candidates = (
        db.session.scalars(
            select(ApiKey)
            .where(ApiKey.prefix == raw[:PREFIX_LENGTH])
            # The user and the companies that scope them come along: one round trip.
            .options(joinedload(ApiKey.user).joinedload(User.companies))
        )
        .unique()
        .all()
    )
    key = next((k for k in candidates if hmac.compare_digest(k.key_hash, wanted)), None)
    if key is None:
        return KeyCheck(error="key_invalid")
    if key.revoked_at is not None and key.revoked_reason != INACTIVE:
        reason = (
            "key_revoked" if key.revoked_reason == "password_changed" else "key_revoked_manually"
        )
        return KeyCheck(key=key, error=reason)
    if not key.user.active:
        return KeyCheck(key=key, error="user_inactive")
    if key.revoked_at is not None:  # revoked while the user was inactive: for good
        return KeyCheck(key=key, error="key_revoked_manually")
    now = clock.now()
    # Written at most once a minute: a busy integration should not turn every call into
    # a write (the console shows the time to the minute anyway).
    if key.last_used_at is None or now - key.last_used_at >= LAST_USE_PRECISION:
        key.last_used_at = now
    return KeyCheck(key=key)


def revoke_user_keys(user: User, reason: str) -> int:
    """Revoke every working key of `user`; returns how many. Caller commits."""
    if user.id is None:
        return 0
    result = db.session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoked_reason=reason)
        # No autoflush: the caller's reason is the one kept, before the flush's own
        # revocation of an inactive user's keys (below) would find them.
        .execution_options(synchronize_session=False, autoflush=False)
    )
    revoked = cast("CursorResult[Any]", result).rowcount  # an UPDATE's result has rowcount
    if revoked:
        audit.record(
            "api_key.revoked",
            tenant_id=user.tenant_id,
            user_id=user.id,
            count=revoked,
            reason=reason,
        )
    return revoked


def revoke_api_key(key: ApiKey, by: User) -> None:
    """Revoke one key from the console. Caller commits."""
    if key.revoked_at is None:
        key.revoked_at, key.revoked_reason = clock.now(), "revoked"
        audit.record("api_key.revoked", user_id=by.id, key=key.prefix, reason="revoked")


@event.listens_for(Session, "before_flush")
def _revoke_keys_of_deactivated_users(session, _flush_context, _instances) -> None:
    """A user made inactive, by whatever path (the console, a seat expiry, a script),
    loses every key for good: reactivating them later does not bring old keys back."""
    for user in [o for o in session.dirty if isinstance(o, User)]:
        if user.active is False and inspect(user).attrs.active.history.has_changes():
            revoke_user_keys(user, INACTIVE)


# Failed key checks from one address before it is told to wait (guessing keys); the
# count is the app's API_KEY_FAILURES setting.
KEY_FAILURES = Limit(("api.key_rejected",), 20, timedelta(minutes=15))


def key_failures_wait(ip: str | None) -> int:
    """Seconds this address must wait after too many wrong keys (any tenant), else 0."""
    limit = Limit(KEY_FAILURES.events, current_app.config["API_KEY_FAILURES"], KEY_FAILURES.window)
    return retry_after(limit, ip=ip) if ip else 0

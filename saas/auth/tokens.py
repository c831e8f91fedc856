"""One-time tokens: magic links, first-access links, password resets, staff invitations.

The raw token (`secrets.token_urlsafe(32)`) only travels in the email; the database
keeps its SHA-256. A token is bound to a tenant, a purpose and a user (or a company),
expires, and is consumed with one conditional UPDATE, so two concurrent requests can
never both use it. A newer token of the same purpose and owner kills the older ones.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, mapped_column

from saas import clock
from saas.extensions import Model, db
from saas.tenancy.models import TenantScoped
from saas.transactions import claim

PURPOSES = (
    "magic_link",
    "access_link",
    "set_password",
    "reset_tax_id",
    "reset_email",
    "staff_invite",
)


class OneTimeToken(TenantScoped, Model):
    __tablename__ = "one_time_token"
    __table_args__ = (UniqueConstraint("tenant_id", "token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


def digest(raw: str) -> str:
    """What the database keeps of a secret that travels only to its owner (a link's
    token, an API key, a sign-up's link): its SHA-256, in hex."""
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(purpose: str, ttl: timedelta, *, user_id=None, company_id=None) -> str:
    """A new token; older unused ones of the same purpose and owner stop working."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if (user_id is None) == (company_id is None):
        raise ValueError("a token belongs to exactly one user or one company")
    now = clock.now()
    db.session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.purpose == purpose,
            OneTimeToken.user_id == user_id if user_id else OneTimeToken.company_id == company_id,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        .values(expires_at=now)
    )
    raw = secrets.token_urlsafe(32)
    db.session.add(
        OneTimeToken(
            purpose=purpose,
            token_hash=digest(raw),
            user_id=user_id,
            company_id=company_id,
            expires_at=now + ttl,
        )
    )
    return raw


def revoke_user_tokens(user_id: int) -> None:
    """Every unused link of the user stops working: the person behind the account changed,
    or lost access, so a link mailed before must not open it."""
    now = clock.now()
    db.session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def _valid(purpose: str, raw: str):
    return (
        OneTimeToken.purpose == purpose,
        OneTimeToken.token_hash == digest(raw or ""),
        OneTimeToken.used_at.is_(None),
        OneTimeToken.expires_at > clock.now(),
    )


def peek(purpose: str, raw: str) -> OneTimeToken | None:
    """The token if it could still be used; reading never consumes it (GET, HEAD)."""
    return db.session.scalars(select(OneTimeToken).where(*_valid(purpose, raw))).first()


def consume(purpose: str, raw: str) -> OneTimeToken | None:
    """Use the token: one conditional write; only one caller ever gets it back.

    Spent in the transaction of whatever the token unlocks: both stand or neither.
    """
    if not claim(OneTimeToken, *_valid(purpose, raw), used_at=clock.now()):
        return None
    return db.session.scalars(
        select(OneTimeToken).where(OneTimeToken.token_hash == digest(raw))
    ).one()

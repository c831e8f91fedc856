"""People who sign in: a tenant's staff (with a role) and its customers' recipients."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas import clock
from saas.companies import membership
from saas.extensions import Model
from saas.tenancy.models import TenantScoped

ROLES = ("admin", "biller", "accountant", "support")


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(TenantScoped, Model):
    __tablename__ = "user"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "username"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # stored lower-cased
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # staff | recipient
    role: Mapped[str | None] = mapped_column(String(16))  # staff only: one of ROLES
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None]
    # When the "your password expires soon" email went out for the current password.
    password_reminded_at: Mapped[datetime | None]
    locale: Mapped[str | None] = mapped_column(String(8))
    last_sign_in_at: Mapped[datetime | None]
    # When the onboarding email(s) went out: set once, by one conditional write.
    welcomed_at: Mapped[datetime | None]
    # The tenant's first Administrator: not a seat, cannot be deleted or demoted.
    is_owner: Mapped[bool] = mapped_column(default=False)
    # Deleting a user keeps the row (and its history); it only stops existing for sign-in.
    deleted_at: Mapped[datetime | None]
    # Flask-Login's id: rotating it ends every session of the user on the server side.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    companies = relationship(
        "Company",
        secondary=membership,
        primaryjoin="User.id == membership.c.user_id",
        secondaryjoin="Company.id == membership.c.company_id",
        back_populates="users",
    )

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class ApiKey(TenantScoped, Model):
    """A staff user's key for the machine API: only its SHA-256 and a visible prefix are kept."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Why it stopped working: "password_changed" (the API tells the integration) or "revoked".
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    user = relationship("User")

    @property
    def active(self) -> bool:
        return self.revoked_at is None

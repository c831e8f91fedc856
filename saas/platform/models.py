"""The platform's own operators: people of the platform, not of a tenant."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from saas import clock
from saas.extensions import Model


class PlatformAdmin(Model):
    """An operator of the whole platform (not of a tenant): activates seat purchases."""

    __tablename__ = "platform_admin"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    # What the operator's session holds; a new one at every sign-in and sign-out, so a
    # copied cookie stops working on the server side too.
    session_token: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(32)
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

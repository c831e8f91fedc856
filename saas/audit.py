"""Audit trail: one row per security-relevant event."""

from __future__ import annotations

from datetime import datetime

from flask import g, has_request_context, request
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from saas import clock
from saas.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null only for platform-level events that belong to no tenant.
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)


def record(event: str, *, tenant_id=None, user_id=None, **data) -> AuditEvent:
    """Add an audit row to the current transaction (the caller commits)."""
    if tenant_id is None and g.get("tenant") is not None:
        tenant_id = g.tenant.id
    row = AuditEvent(
        tenant_id=tenant_id,
        user_id=user_id,
        event=event,
        ip=request.remote_addr if has_request_context() else None,
        data=data,
    )
    db.session.add(row)
    return row

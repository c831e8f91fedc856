"""Audit trail: one row per security-relevant event."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import g, has_request_context, request
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from saas import clock
from saas.extensions import Model, db
from saas.tenancy.models import TenantOptional

log = logging.getLogger(__name__)
# Also written to the log, for operators watching for attacks.
LOGGED = {"signin.throttled", "api.key_rejected"}


class AuditEvent(TenantOptional, Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(64), index=True)
    # What the event is about when that is not a user row: a typed email or username,
    # so throttles count unknown accounts exactly like known ones.
    subject: Mapped[str | None] = mapped_column(String(320), index=True)
    ip: Mapped[str | None] = mapped_column(String(45), index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)


def record(event: str, *, tenant_id=None, user_id=None, subject=None, **data) -> AuditEvent:
    """Add an audit row to the current transaction (the caller commits)."""
    if tenant_id is None and g.get("tenant") is not None:
        tenant_id = g.tenant.id
    row = AuditEvent(
        tenant_id=tenant_id,
        user_id=user_id,
        event=event,
        subject=subject,
        ip=request.remote_addr if has_request_context() else None,
        data=data,
    )
    db.session.add(row)
    if event in LOGGED:
        log.info("%s tenant=%s user=%s ip=%s %s", event, tenant_id, user_id, row.ip, data or "")
    return row

"""Console rows: bulk uploads and their per-file results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saas import clock
from saas.extensions import Model
from saas.tenancy.models import TenantScoped


class UploadBatch(TenantScoped, Model):
    """Many files uploaded at once, published by a job that records a result per file."""

    __tablename__ = "upload_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed
    # What was uploaded: [{"name": file name, "key": storage key, "size": bytes}].
    files: Mapped[list] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    # One per invoice file: {"file", "status": imported|present|error, "message", "numbers"}.
    results: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    # As ExportJob.heartbeat_at: taken, and each progress step.
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r["status"] == status)

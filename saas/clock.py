"""The one source of "now" (naive UTC), so tests can move time instead of waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    base = _frozen or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    return base + _offset


def freeze() -> None:
    """Stop the clock where it is; only travel() moves it (tests only)."""
    global _frozen
    _frozen = now()


def travel(delta: timedelta) -> None:
    """Move the clock forward (tests only; every process keeps its own)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset, _frozen
    _offset, _frozen = timedelta(0), None

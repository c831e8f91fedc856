"""The one source of "now" (naive UTC), so tests can move time instead of waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0) + _offset


def travel(delta: timedelta) -> None:
    """Move the clock forward (tests only; every process keeps its own)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)

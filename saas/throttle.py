"""Throttling from the audit trail.

Failed sign-ins and link requests are audit events anyway; counting them in a window
gives limits that hold across every web process, survive restarts, and follow
`saas.clock` (so tests move time instead of sleeping). Unknown accounts are counted
by the key that was typed, so they are throttled exactly like real ones.
"""

from __future__ import annotations

import math
import threading
import zlib
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from saas import clock
from saas.audit import AuditEvent
from saas.extensions import db
from saas.tenancy.scoping import all_tenants

# Process-local locks for databases without advisory locks (the embedded SQLite setup
# runs one process); striped, so the set stays small whatever the names. Re-entrant: one
# request may take two names that share a stripe, and holds both to its end.
_STRIPES = [threading.RLock() for _ in range(64)]
_HELD = "saas.throttle_locks"


@contextmanager
def one_at_a_time(name: str):
    """Run a check-then-record section for `name` one request at a time.

    Without it, twenty simultaneous wrong passwords all read "4 failures so far" and all
    get checked. On PostgreSQL this is a transaction-level advisory lock, held by every
    process until the transaction ends; elsewhere a lock
    of this process, held the same way: to the end of the transaction, where the
    request's owner commits what the section recorded (see saas.transactions).
    """
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
        yield
        return
    lock = _STRIPES[zlib.crc32(name.encode()) % len(_STRIPES)]
    lock.acquire()
    session.connection()  # a transaction is open, so its end releases the lock
    session.info.setdefault(_HELD, []).append(lock)
    yield


@event.listens_for(Session, "after_transaction_end")
def _release_locks(session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction, not a savepoint, has ended
        for lock in session.info.pop(_HELD, ()):
            lock.release()


@dataclass(frozen=True)
class Limit:
    events: tuple[str, ...]
    count: int
    window: timedelta


def retry_after(limit: Limit, *, tenant_id=None, subject=None, ip=None) -> int:
    """Seconds until one more event fits under `limit` (0 when it fits now).

    Without `tenant_id` the count spans every tenant on purpose: an address guessing
    passwords on one portal is the same address on the next.
    """
    criteria = _within(limit, tenant_id=tenant_id, subject=subject, ip=ip)
    with nullcontext() if tenant_id is not None else all_tenants():
        times = db.session.scalars(
            select(AuditEvent.created_at)
            .where(*criteria)
            .order_by(AuditEvent.created_at.desc())
            .limit(limit.count)
        ).all()
    if len(times) < limit.count:
        return 0
    # The oldest of the last `count` events must leave the window first.
    wait = (times[-1] + limit.window - clock.now()).total_seconds()
    return max(1, math.ceil(wait))


def _within(limit: Limit, *, tenant_id=None, subject=None, ip=None) -> list:
    """The events `limit` counts now, in its scope: one definition for the wait and for
    what is left, so the warning before the last attempt and the pause agree."""
    criteria = [
        AuditEvent.event.in_(limit.events),
        AuditEvent.created_at > clock.now() - limit.window,
    ]
    if tenant_id is not None:
        criteria.append(AuditEvent.tenant_id == tenant_id)
    if subject is not None:
        criteria.append(AuditEvent.subject == subject)
    if ip is not None:
        criteria.append(AuditEvent.ip == ip)
    return criteria


def count(event: str, *, tenant_id=None, subject=None, since: timedelta) -> int:
    criteria = [AuditEvent.event == event, AuditEvent.created_at > clock.now() - since]
    if tenant_id is not None:
        criteria.append(AuditEvent.tenant_id == tenant_id)
    if subject is not None:
        criteria.append(AuditEvent.subject == subject)
    with nullcontext() if tenant_id is not None else all_tenants():
        return db.session.execute(select(func.count(AuditEvent.id)).where(*criteria)).scalar_one()


def remaining(limit: Limit, *, tenant_id=None, subject=None, ip=None) -> int:
    """How many more events fit under `limit` now (0: one more waits, see retry_after);
    counted the same way, with the same scope."""
    criteria = _within(limit, tenant_id=tenant_id, subject=subject, ip=ip)
    with nullcontext() if tenant_id is not None else all_tenants():
        used = db.session.execute(select(func.count(AuditEvent.id)).where(*criteria)).scalar_one()
    return max(0, limit.count - used)

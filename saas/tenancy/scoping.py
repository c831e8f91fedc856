"""Tenant isolation: one rule, applied for every statement, and enforced twice.

The rule: code sees and changes only the current tenant's rows (`g.tenant`, set from
the URL or host in a request and from the job's tenant id in a job). Code that spans
tenants on purpose (the platform console, CLI maintenance, the daily tasks) says so
with `all_tenants()`. There is no third case: a tenant-owned model queried with
neither raises NoTenantError, so a forgotten tenant can never mean "everyone's".

1. In the ORM: every SELECT, UPDATE and DELETE of a `TenantScoped` model gets
   `tenant_id = <current>` added (`with_loader_criteria`, which also reaches joins,
   subqueries and the relationship loads of what the query returns), and a new row is
   given, or checked against, the current tenant at flush. Models whose rows may
   belong to no tenant (`TenantOptional`: audit events, mail) see the tenant's rows in
   a tenant's context and the platform's own rows outside one.
2. In PostgreSQL: row-level security on every table with a `tenant_id` (migration
   0010), with the same rule read from two settings that are set per transaction
   (`set_config(..., true)`: never session-wide, so a pooled connection cannot carry a
   tenant into the next request). A statement the ORM did not write, or a bug in (1),
   still gets nothing of another tenant.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import lru_cache

from flask import g, has_app_context
from sqlalchemy import event, false, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from saas.tenancy.models import TenantOptional, TenantScoped

log = logging.getLogger(__name__)
_SPANNING = "_saas_all_tenants"  # on g: how many all_tenants() blocks are open
_APPLIED = "saas.rls_scope"  # on a connection: the settings its transaction carries


class NoTenantError(RuntimeError):
    """Tenant-owned rows were asked for where no tenant was resolved."""


def _flush_in_scope() -> None:
    # What a block wrote is flushed before its scope ends: flushed later, at the
    # owner's commit, it would be checked (and on PostgreSQL written) under another.
    from saas.extensions import db

    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.flush()


@contextmanager
def all_tenants():
    """The one escape: the block works across tenants, on purpose."""
    setattr(g, _SPANNING, getattr(g, _SPANNING, 0) + 1)
    try:
        yield
        _flush_in_scope()
    finally:
        setattr(g, _SPANNING, getattr(g, _SPANNING) - 1)


@contextmanager
def as_tenant(tenant):
    """Work as this one tenant, also inside all_tenants(): the platform console visits
    tenants one by one, and each visit sees only that tenant's rows."""
    saved = g.get("tenant"), getattr(g, _SPANNING, 0)
    g.tenant = tenant
    setattr(g, _SPANNING, 0)
    try:
        yield tenant
        _flush_in_scope()
    finally:
        g.tenant = saved[0]
        setattr(g, _SPANNING, saved[1])


def span_all_tenants() -> None:
    """all_tenants() for the rest of this app context: a blueprint's `before_request`
    for pages that are about every tenant (the platform console)."""
    setattr(g, _SPANNING, getattr(g, _SPANNING, 0) + 1)


def current_scope() -> tuple[int | None, bool]:
    """(the current tenant's id or None, whether all tenants are open)."""
    if not has_app_context():
        return None, False
    return _tenant_id(g.get("tenant")), bool(getattr(g, _SPANNING, 0))


def _tenant_id(tenant) -> int | None:
    """The tenant's id without loading anything: after a commit the Tenant is expired,
    and reading `.id` would run a query from inside the hooks that scope queries."""
    if tenant is None:
        return None
    identity = inspect(tenant).identity
    return identity[0] if identity else tenant.id


@event.listens_for(Session, "do_orm_execute")
def _limit_to_the_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load:
        return  # refreshing a row already loaded under the rule
    tenant_id, spanning = current_scope()
    if spanning:
        return
    if tenant_id is None:
        owned = [m.class_.__name__ for m in state.all_mappers if issubclass(m.class_, TenantScoped)]
        if owned:
            raise NoTenantError(
                f"{', '.join(owned)} queried with no tenant: set g.tenant, or use "
                "all_tenants() where spanning tenants is the point"
            )
        state.statement = state.statement.options(*_NO_TENANT)
        return
    state.statement = state.statement.options(*_tenant_criteria(tenant_id))


# Joined to from a statement about something else: none of a tenant's rows. Not
# propagated: a row loaded here (a Tenant) may be used later in a tenant's context,
# where its relationships load under that context's rule.
_NO_TENANT = (
    with_loader_criteria(
        TenantScoped, lambda cls: false(), include_aliases=True, propagate_to_loaders=False
    ),
    with_loader_criteria(
        TenantOptional,
        lambda cls: cls.tenant_id.is_(None),
        include_aliases=True,
        propagate_to_loaders=False,
    ),
)


@lru_cache(maxsize=4096)
def _tenant_criteria(tenant_id: int) -> tuple:
    """The options for one tenant, built once: building them for every statement cost
    a third of a list page's time in Python."""
    return (
        with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        ),
        with_loader_criteria(
            TenantOptional, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        ),
    )


@event.listens_for(Session, "before_flush")
def _new_rows_are_the_tenants(session: Session, flush_context, instances) -> None:
    """A new row of a tenant model belongs to the current tenant: given it when unset
    (a row added through a relationship gets its parent's at flush instead), refused
    when it names another tenant outside all_tenants()."""
    tenant_id, spanning = current_scope()
    if spanning or tenant_id is None:
        return
    for obj in session.new:
        if not isinstance(obj, TenantScoped | TenantOptional):
            continue
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise NoTenantError(
                f"a new {type(obj).__name__} of tenant {obj.tenant_id} written in "
                f"tenant {tenant_id}'s context"
            )


# --- PostgreSQL row-level security ------------------------------------------------------


def _settings() -> tuple[str, str]:
    tenant_id, spanning = current_scope()
    return ("" if tenant_id is None else str(tenant_id)), ("on" if spanning else "off")


def _forget(conn, *args) -> None:
    conn.info.pop(_APPLIED, None)


# What a transaction that has set nothing carries: the policies read an unset setting as
# no tenant and not spanning, so a request's first statement (its tenant's lookup) needs
# no set_config round trip of its own.
_UNSET = ("", "off")


def _fresh(conn, *args) -> None:
    """A transaction that begins (or a connection back from the pool) carries no setting.
    A rolled-back savepoint is different: it restores what was set before it (_forget)."""
    conn.info[_APPLIED] = _UNSET


_SAVEPOINT_STATEMENTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def install_row_level_security(engine: Engine) -> None:
    """Give each PostgreSQL transaction the current scope before its first statement,
    and again whenever the scope changes inside it (a tenant resolved mid-request)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _set_scope(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith(_SAVEPOINT_STATEMENTS):
            return  # never needed, and a ROLLBACK TO runs inside a failed transaction
        wanted = _settings()
        if conn.info.get(_APPLIED) != wanted:
            cursor.execute(
                "SELECT set_config('app.tenant_id', %s, true), "
                "set_config('app.all_tenants', %s, true)",
                wanted,
            )
            conn.info[_APPLIED] = wanted

    # Transaction-local settings end with the transaction (or a rolled-back savepoint),
    # and a connection back from the pool was rolled back without telling `conn`.
    for name in ("commit", "rollback", "begin"):
        event.listen(engine, name, _fresh)
    event.listen(engine, "rollback_savepoint", _forget)

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        record.info[_APPLIED] = _UNSET  # the pool rolled it back when it came in

    @event.listens_for(engine, "first_connect")
    def _warn_if_rls_is_bypassed(dbapi_connection, record):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(
                "SELECT rolname, rolsuper OR rolbypassrls FROM pg_roles "
                "WHERE rolname = current_user"
            )
            role, bypasses = cursor.fetchone()
        finally:
            cursor.close()
        if bypasses:
            log.warning(
                "database role %r is a superuser or has BYPASSRLS: row-level security, "
                "the second wall between tenants, does not apply (see README, Production)",
                role,
            )

"""Tenant resolution.

A request belongs to a tenant through its URL (`/t/<tenant>/...`) or its host (one of
the tenant's `domains`, which serves the same pages at the host root). Views and jobs
reach the tenant as `current_tenant`; a missing tenant is an error, never "all tenants".
What a tenant's code may read and write follows from it (saas.tenancy.scoping).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, abort, g, has_request_context, request
from sqlalchemy import select
from werkzeug.exceptions import Forbidden
from werkzeug.local import LocalProxy

from saas.extensions import db
from saas.tenancy.models import Tenant, TenantDomain, TenantScoped
from saas.tenancy.scoping import (
    NoTenantError,
    all_tenants,
    as_tenant,
    install_row_level_security,
    span_all_tenants,
)

__all__ = [
    "NoTenantError",
    "Tenant",
    "TenantScoped",
    "TenantSuspended",
    "all_tenants",
    "as_tenant",
    "current_tenant",
    "enter_tenant",
    "get_or_404",
    "init_app",
    "span_all_tenants",
    "tenant_prefix",
]

# Paths that are never a tenant's, whatever the host.
GLOBAL_PREFIXES = ("/static/", "/healthz", "/readyz", "/auth/", "/platform", "/dev/", "/signup")
# What a suspended tenant still serves: its colours and logo, which its error page shows.
SERVED_WHILE_SUSPENDED = ("site.theme", "site.logo")
ENVIRON_KEY = "saas.tenant_host"


class TenantSuspended(Forbidden):
    """The tenant's pages and API while an operator has it suspended (saas.errors words it)."""


def _get_tenant() -> Tenant:
    tenant = g.get("tenant")
    if tenant is None:
        raise NoTenantError("no tenant in this context")
    return tenant


current_tenant: Tenant = LocalProxy(_get_tenant)  # type: ignore[assignment]


def get_or_404(model, ident):
    """The current tenant's row of `model` with this id, else 404 (also for other tenants)."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    row = db.session.scalars(select(model).where(model.id == ident)).first()
    if row is None:
        abort(404)
    return row


def load_tenant(slug: str) -> Tenant | None:
    return db.session.scalars(select(Tenant).where(Tenant.slug == slug)).first()


def enter_tenant(tenant: Tenant, endpoint: str | None = None) -> None:
    """Make `tenant` the request's; a suspended one's pages answer 403 from here, for
    every way in (its URLs, its domains, a sign-in coming back from Google)."""
    g.tenant = tenant
    if tenant.suspended and endpoint not in SERVED_WHILE_SUSPENDED:
        raise TenantSuspended()


def tenant_from_path() -> Tenant | None:
    """For error pages of URLs no route matched: the tenant named in `/t/<slug>/...`."""
    if g.get("tenant") is None and has_request_context():
        parts = request.path.split("/")
        if len(parts) > 2 and parts[1] == "t" and parts[2]:
            g.tenant = load_tenant(parts[2])
    return g.get("tenant")


def tenant_prefix(slug: str) -> str:
    return f"/t/{slug}"


class TenantHostMiddleware:
    """Serve a tenant's pages at the root of its own domains.

    A request to one of a tenant's hosts is routed as `/t/<slug>/<path>`, so the one
    set of tenant routes serves both; `url_for` strips the prefix again on such hosts.
    Platform hosts (BASE_URL's, localhost) route as they are; other unknown hosts get
    only the global paths (health checks, static files) and a 404 for the rest.
    """

    def __init__(self, app: Flask):
        self.app = app
        self.wsgi_app = app.wsgi_app
        base_host = urlsplit(app.config["BASE_URL"]).hostname
        self.platform_hosts = {base_host, "localhost", "127.0.0.1", "::1", "[::1]"}

    def __call__(self, environ, start_response):
        host = _hostname(environ.get("HTTP_HOST", ""))
        path = environ.get("PATH_INFO", "") or "/"
        if host and host not in self.platform_hosts and not path.startswith(GLOBAL_PREFIXES):
            with self.app.app_context(), all_tenants():  # which tenant is the question
                slug = db.session.scalars(
                    select(Tenant.slug).join(TenantDomain).where(TenantDomain.host == host)
                ).first()
            environ["PATH_INFO"] = f"{tenant_prefix(slug)}{path}" if slug else "/__unknown_host__"
            if slug:
                environ[ENVIRON_KEY] = slug
        return self.wsgi_app(environ, start_response)


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.split(":")[0]


def strip_tenant_prefix(url: str) -> str:
    """On a tenant's own domain, links drop the /t/<slug> prefix."""
    if not has_request_context():
        return url
    slug = request.environ.get(ENVIRON_KEY)
    if not slug:
        return url
    prefix = tenant_prefix(slug)
    parts = urlsplit(url)
    if parts.path == prefix or parts.path.startswith(prefix + "/"):
        return urlunsplit(parts._replace(path=parts.path[len(prefix) :] or "/"))
    return url


def init_app(app: Flask) -> None:
    # Flask's documented way to wrap its WSGI app; its types declare wsgi_app a method.
    app.wsgi_app = TenantHostMiddleware(app)  # type: ignore[method-assign]
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            install_row_level_security(db.engine)

    @app.url_value_preprocessor
    def pull_tenant(endpoint, values):
        if values and "tenant" in values:
            tenant = load_tenant(values.pop("tenant"))
            if tenant is None:
                abort(404)
            enter_tenant(tenant, endpoint)

    @app.context_processor
    def tenant_in_templates():
        return {"tenant": g.get("tenant")}

    @app.url_defaults
    def add_tenant(endpoint, values):
        if "tenant" in values or g.get("tenant") is None:
            return
        if app.url_map.is_endpoint_expecting(endpoint, "tenant"):
            values["tenant"] = g.tenant.slug

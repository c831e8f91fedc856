"""The e-invoice portal: a Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from saas import config as settings
from saas.config import ConfigError

__all__ = ["ConfigError", "create_app"]


class SaasFlask(Flask):
    def url_for(self, endpoint, *args, **kwargs):
        from saas.tenancy import strip_tenant_prefix

        return strip_tenant_prefix(super().url_for(endpoint, *args, **kwargs))


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment, then `config` (tests pass overrides here).

    Raises ConfigError, naming the variable, when a setting cannot work.
    """
    app = SaasFlask(__name__, instance_path=str(settings.PROJECT_ROOT / "instance"))
    overrides = dict(config or {})
    raw = {**settings.from_environment(), **overrides}
    app.config.update(settings.build(raw, overrides.pop("INSTANCE_PATH", app.instance_path)))
    app.config.update({k: v for k, v in overrides.items() if k not in settings.ENV_KEYS})
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("saas").setLevel(logging.INFO)

    from saas import (
        cli,
        errors,
        i18n,
        jobs,
        mail,
        routing,
        security,
        storage,
        tenancy,
        textsearch,  # noqa: F401  registers the search folding on SQLite connections
        transactions,
    )
    from saas import htmx as htmx_responses
    from saas.extensions import csrf, db, htmx, login_manager, migrate

    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.config.setdefault("REMEMBER_COOKIE_DURATION", 30 * 24 * 3600)

    db.init_app(app)
    transactions.init_app(app)
    migrate.init_app(
        app, db, directory=str(settings.PROJECT_ROOT / "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)

    from saas import models  # noqa: F401  every model, for Alembic and relationships

    tenancy.init_app(app)
    i18n.init_app(app)
    storage.init_app(app)
    jobs.init_app(app)
    mail.init_app(app)
    security.init_app(app)
    htmx_responses.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    routing.init_app(app)  # the `id` converter, before any blueprint's routes

    from saas.api.views import bp as api_bp
    from saas.auth import (
        google,
        recovery_pages,  # noqa: F401  its pages, on the auth blueprint
    )
    from saas.auth.views import bp as auth_bp
    from saas.console import (  # noqa: F401  their pages, on the console blueprint
        api_pages,
        companies_pages,
        settings_pages,
        upload_pages,
        views,
    )
    from saas.console.blueprint import bp as console_bp  # the modules above add its pages
    from saas.portal.views import bp as portal_bp
    from saas.site.views import bp as site_bp

    google.init_app(app)
    app.register_blueprint(site_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(api_bp)
    from saas.platform.views import bp as platform_bp
    from saas.seats.views import bp as seats_bp

    app.register_blueprint(seats_bp)
    from saas.support.views import bp as support_bp

    app.register_blueprint(support_bp)

    app.register_blueprint(platform_bp)
    from saas.signup.views import bp as signup_bp

    app.register_blueprint(signup_bp)
    return app

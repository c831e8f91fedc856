"""Google sign-in (OpenID Connect) with authlib.

One OAuth client per app, because its settings come from the app's config (tests
build many apps, each with its own provider). One callback URL serves every tenant:
the tenant travels in the session, and state and nonce are checked by authlib.
"""

from __future__ import annotations

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, g

from saas.config import configured_login_methods


def google_configured() -> bool:
    """This server has a Google client (id and secret): Google sign-in can work here."""
    return "google" in configured_login_methods(current_app.config)


def google_available() -> bool:
    """The current tenant offers Google sign-in and this server can serve it."""
    tenant = g.get("tenant")
    return bool(tenant is not None and "google" in tenant.login_methods and google_configured())


def google_client():
    return current_app.extensions["saas.oauth"].google


def init_app(app: Flask) -> None:
    oauth = OAuth(app)
    oauth.register(
        name="google",
        client_id=app.config["GOOGLE_CLIENT_ID"],
        client_secret=app.config["GOOGLE_CLIENT_SECRET"],
        server_metadata_url=app.config["GOOGLE_DISCOVERY_URL"],
        client_kwargs={"scope": "openid email profile", "timeout": 10},
    )
    app.extensions["saas.oauth"] = oauth

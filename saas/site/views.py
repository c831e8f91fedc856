"""Pages every tenant has (home, theme, logo), health checks, and the dev outbox."""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, abort, current_app, make_response, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select, text

from saas import jobs
from saas.auth.sessions import landing
from saas.branding import theme_css
from saas.extensions import db
from saas.htmx import render
from saas.mail import OutboxMessage
from saas.mail_backends import mail_backend
from saas.storage import StorageError, get_storage
from saas.tenancy import current_tenant, span_all_tenants
from saas.tenancy.models import Tenant

bp = Blueprint("site", __name__, template_folder="templates")


@bp.get("/")
def index():
    tenants = []
    if dev_mode():
        tenants = db.session.scalars(select(Tenant).order_by(Tenant.name)).all()
    return render("site/index.html", tenants=tenants)


@bp.get("/t/<tenant>/")
def home():
    # Signed in, the page's button leads where sign-in would have: invoices or console.
    return render("site/home.html", landing=landing() if current_user.is_authenticated else None)


@bp.get("/t/<tenant>/theme.css")
def theme():
    css = theme_css(current_tenant.primary_color, current_tenant.accent_color)
    response = make_response(css)
    response.mimetype = "text/css"
    response.set_etag(hashlib.sha256(css.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response.make_conditional(request)


@bp.get("/t/<tenant>/logo")
def logo():
    if not current_tenant.logo_key:
        abort(404)
    try:
        data = get_storage().read(current_tenant.logo_key)
    except StorageError:
        abort(404)
    response = make_response(data)
    response.mimetype = current_tenant.logo_content_type
    response.set_etag(current_tenant.logo_key.rsplit("-", 1)[-1])
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    # An SVG opened on its own must not run anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response.make_conditional(request)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """200 when the database, the storage and the queue all answer; else 503 naming them."""
    app = current_app._get_current_object()
    checks = {
        "database": lambda: db.session.execute(text("SELECT 1")),
        "storage": lambda: get_storage().ping(),
        "queue": lambda: jobs.ping(app),
    }
    results, failing = {}, []
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:
            current_app.logger.warning("readyz: %s unavailable: %s", name, error)
            results[name] = f"unavailable: {type(error).__name__}"
            failing.append(name)
    if failing:
        db.session.rollback()
        return {"status": "unavailable", "failing": failing, "checks": results}, 503
    return {"status": "ok", "checks": results}


LOOPBACK = ("127.0.0.1", "::1")
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def dev_mode() -> bool:
    """Developer pages (outbox, tenant list): the embedded mail setup, seen from this machine.

    Kept emails will hold access links and passwords, so a server that was started
    without MAIL_URL by mistake still never shows them to another machine. A request
    that came through a proxy is never "this machine", even from a proxy on this host:
    behind one (PROXY_HOPS > 0, where ProxyFix makes `remote_addr` the client's), or
    whenever it carries forwarding headers.
    """
    if not mail_backend().keeps_only or current_app.config["PROXY_HOPS"]:
        return False
    if any(request.headers.get(name) for name in FORWARDING_HEADERS):
        return False
    if "werkzeug.proxy_fix.orig" in request.environ:
        return False
    if request.remote_addr not in LOOPBACK:
        return False
    span_all_tenants()  # the developer's view of every tenant's kept mail
    return True


# An outbox message's status (saas.mail) as the outbox pages word it.
OUTBOX_STATUSES = {
    "kept": _l("Kept (not sent)"),
    "pending": _l("Waiting to be sent"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Not delivered"),
}


@bp.app_template_filter("outbox_status")
def outbox_status(status: str) -> str:
    label = OUTBOX_STATUSES.get(status)
    return str(label) if label is not None else status


@bp.get("/dev/outbox")
def outbox():
    if not dev_mode():
        abort(404)
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    ).all()
    return render("site/outbox.html", messages=messages)


@bp.get("/dev/outbox/<id:message_id>")
def outbox_message(message_id: int):
    if not dev_mode():
        abort(404)
    return render("site/outbox_message.html", message=db.get_or_404(OutboxMessage, message_id))


@bp.get("/dev/outbox/<id:message_id>/html")
def outbox_message_html(message_id: int):
    if not dev_mode():
        abort(404)
    message = db.get_or_404(OutboxMessage, message_id)
    response = make_response(links_open_outside(message.html_body or ""))
    # Shown in a sandboxed frame of our own page (or on its own): nothing in it may run.
    # Its links open in a new tab, out of the sandbox, as a mail client opens them; the
    # same origin (without scripts) lets the outbox page size the frame to the email.
    response.headers["Content-Security-Policy"] = (
        "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox; "
        "default-src 'none'; img-src 'self' data: http: https:; style-src 'unsafe-inline'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


HEAD = re.compile(r"<head(?:\s[^>]*)?>", re.IGNORECASE)


def links_open_outside(html: str) -> str:
    """The email with `<base target="_blank">` first in its head: every link of it opens
    a new tab instead of the little frame it is shown in."""
    base = '<base target="_blank">'
    match = HEAD.search(html)
    if match is None:
        return base + html
    return html[: match.end()] + base + html[match.end() :]

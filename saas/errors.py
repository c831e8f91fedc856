"""Error pages: branded with the tenant when one is known, in the visitor's language."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from saas import transactions
from saas.extensions import db
from saas.htmx import render
from saas.storage import StorageUnavailable
from saas.tenancy import TenantSuspended, tenant_from_path

log = logging.getLogger(__name__)


def _messages():
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        403: (_("Not allowed"), _("You do not have permission to see this page.")),
        404: (
            _("Page not found"),
            _("The page you asked for does not exist or is not available to you."),
        ),
        405: (_("Not allowed"), _("This action is not allowed here.")),
        413: (_("File too large"), _("The file you sent is larger than we accept.")),
        429: (_("Too many attempts"), _("Please wait a moment and try again.")),
        500: (
            _("Something went wrong"),
            _("We could not complete your request. Please try again in a few minutes."),
        ),
        503: (
            _("Temporarily unavailable"),
            _(
                "The portal cannot reach a service it needs. Nothing was saved: please try "
                "again in a few minutes."
            ),
        ),
    }


def _storage_messages():
    return (
        _("Files unavailable"),
        _(
            "The invoice files cannot be stored or read right now. Nothing was saved: "
            "please try again in a few minutes."
        ),
    )


# The machine API's error codes for what Flask answers by itself (README, "Machine API").
API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "too_many_requests",
    500: "server_error",
    503: "service_unavailable",
}
RETRY_AFTER = "30"  # seconds, on a 503: what an API client waits before trying again


def render_error(error: HTTPException, messages=None, api_code: str | None = None):
    """The error page (or the API's JSON problem) of `error`; `messages` gives its own
    (title, message) in the current language instead of the status code's."""
    code = error.code or 500
    transactions.doom()  # the view raised: nothing it wrote stands
    try:
        tenant_from_path()  # brand the error page when the URL names a tenant
    except Exception:  # the database itself may be what failed
        db.session.rollback()
    title, message = (
        messages or (lambda: _messages().get(code, (error.name, error.description)))
    )()
    if isinstance(error, CSRFError):
        title, message = (
            _("Your form expired"),
            _("Please go back, reload the page and send the form again."),
        )
    if request.path.startswith("/t/") and "/api/" in request.path:
        with force_locale("en"):  # machines read the API: one language, the source one
            default = (None, error.description)
            message = (messages or (lambda: _messages().get(code, default)))()[1]
        response = jsonify(error=api_code or API_CODES.get(code, "error"), message=message)
    else:
        response = current_app.make_response(
            render_template("errors/error.html", code=code, title=title, message=message)
        )
    response.status_code = code
    # What the error itself says beyond its page: Allow on a 405, Retry-After on a 429...
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _suspended_messages():
    return (
        _("Portal suspended"),
        _(
            "This portal is suspended for now: its pages and invoices cannot be opened. "
            "Nothing has been deleted."
        ),
    )


def tenant_suspended(error: TenantSuspended):
    return render_error(error, _suspended_messages, "tenant_suspended")


def too_many_attempts(wait: int, **context):
    """The 429 page of every throttled form (sign-in, links, sign-up): how long to wait,
    said in the page's language and in Retry-After; `context` adds the page's own links."""
    response = render("auth/throttled.html", status=429, wait=wait, **context)
    response.headers["Retry-After"] = str(wait)
    return response


def storage_unavailable(error: StorageUnavailable):
    log.warning("storage unavailable on %s: %s", request.path, error)
    answer = render_error(ServiceUnavailable(), _storage_messages, "storage_unavailable")
    answer.headers["Retry-After"] = RETRY_AFTER
    return answer


def database_unavailable(error: DBAPIError):
    """A lost connection (PostgreSQL restarting): 503 at once; the pool's pre-ping gives
    the next request a fresh connection. Any other database error is a bug: a 500."""
    if not error.connection_invalidated and not isinstance(error, OperationalError):
        raise error
    log.warning("database unavailable on %s: %s", request.path, error.orig)
    db.session.rollback()
    answer = render_error(ServiceUnavailable())
    answer.headers["Retry-After"] = RETRY_AFTER
    return answer


def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s", request.path)
    return render_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(TenantSuspended, tenant_suspended)
    app.register_error_handler(StorageUnavailable, storage_unavailable)
    app.register_error_handler(DBAPIError, database_unavailable)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)

"""Error pages: branded with the tenant when one is known, in the visitor's language."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from saas import transactions
from saas.extensions import db
from saas.tenancy import tenant_from_path

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
    }


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
}


def render_error(error: HTTPException):
    code = error.code or 500
    transactions.doom()  # the view raised: nothing it wrote stands
    try:
        tenant_from_path()  # brand the error page when the URL names a tenant
    except Exception:  # the database itself may be what failed
        db.session.rollback()
    title, message = _messages().get(code, (error.name, error.description))
    if isinstance(error, CSRFError):
        title, message = (
            _("Your form expired"),
            _("Please go back, reload the page and send the form again."),
        )
    if request.path.startswith("/t/") and "/api/" in request.path:
        with force_locale("en"):  # machines read the API: one language, the source one
            message = _messages().get(code, (None, error.description))[1]
        response = jsonify(error=API_CODES.get(code, "error"), message=message)
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


def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s", request.path)
    return render_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)

"""What the machine API does, apart from HTTP: who a request is, and invoices as JSON.

Every answer that is not a success is an `ApiProblem` (status, code, message), which
the views turn into `{"error": code, "message": message}`. Keys are checked by
`saas.auth.apikeys`; rejected keys are audit events, counted per IP so that guessing
is throttled, while a working key is never held up by someone else's failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import cast

from flask import current_app

from saas import audit
from saas.auth import apikeys
from saas.auth.models import User
from saas.auth.services import authenticate
from saas.permissions import can
from saas.portal.models import Invoice
from saas.portal.visibility import (
    decode_cursor,
    issue_date_range,
    newest_first,
    staff_invoice,
    staff_invoices,
)

PAGE_DEFAULT, PAGE_MAX = 50, 200


def max_file() -> int:
    """Bytes the XML and the PDF may have each: UPLOAD_FILE_MAX_BYTES (saas.config)."""
    return current_app.config["UPLOAD_FILE_MAX_BYTES"]


def max_request() -> int:
    """Two files at their limit, the email and the multipart framing."""
    return 2 * max_file() + 256 * 1024


def max_file_text() -> str:
    """The file limit as the API's messages and document state it: "10 MB"."""
    return f"{max_file() / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


@dataclass
class ApiProblem(Exception):
    status: int
    code: str
    message: str
    headers: dict = field(default_factory=dict)


def unauthorized(code: str, message: str) -> ApiProblem:
    return ApiProblem(401, code, message, {"WWW-Authenticate": 'Bearer realm="api"'})


def key_user(authorization: str | None, ip: str | None) -> tuple[User, apikeys.ApiKey]:
    """The user and key of `Authorization: Bearer <key>`; raises ApiProblem otherwise.

    A key of another tenant is invalid here (401), like a made-up one.
    """
    scheme, _, raw = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        # No key at all is a mistake, not a guess: answered, not counted.
        raise unauthorized(
            "unauthorized", "Send the API key in the header Authorization: Bearer <key>."
        )
    check = apikeys.check_api_key(raw.strip())
    if check.error is None:
        key = cast(apikeys.ApiKey, check.key)  # no error: the key was found and may be used
        return key.user, key
    wait = apikeys.key_failures_wait(ip)
    audit.record(
        "api.key_rejected",
        user_id=check.key.user_id if check.key else None,
        reason=check.error,
        prefix=check.key.prefix if check.key else None,
    )
    if wait:
        raise ApiProblem(
            429,
            "too_many_failures",
            f"Too many requests with a wrong API key from this address; retry in {wait} s.",
            {"Retry-After": str(wait)},
        )
    # Every error of check_api_key has its message in KEY_ERRORS.
    raise unauthorized(check.error, cast(str, check.message))


def password_user(tenant, email: str, password: str, ip: str | None) -> User:
    """The user of HTTP Basic `email:password`, throttled like the sign-in page."""
    result = authenticate(tenant, email, password, ip)
    if result.throttled_for:
        raise ApiProblem(
            429,
            "too_many_failures",
            f"Too many failed sign-ins; retry in {result.throttled_for} s.",
            {"Retry-After": str(result.throttled_for)},
        )
    if result.deactivated:  # the right password: saying so reveals nothing to a guesser
        raise ApiProblem(
            403,
            "user_inactive",
            f"{email} is deactivated; an Administrator of {tenant.name} can turn it on again.",
        )
    if result.user is None:
        raise ApiProblem(
            401,
            "invalid_credentials",
            "The email or password is not correct.",
            {"WWW-Authenticate": 'Basic realm="api", charset="UTF-8"'},
        )
    return result.user


def require(user: User, permission: str) -> None:
    if not can(user, permission):
        raise ApiProblem(
            403, "forbidden", f"The profile {user.role!r} of {user.email} may not do this."
        )


def issue_key(user: User) -> tuple[apikeys.ApiKey, str]:
    """A new key for a user who may hold one (Administrator or Biller)."""
    require(user, "api_keys.manage")
    if user.must_change_password:
        raise ApiProblem(
            403,
            "password_change_required",
            "Sign in to the portal and choose a new password before getting an API key.",
        )
    return apikeys.create_api_key(user)


def query_value(args, name: str) -> str | None:
    """A query parameter given at most once; None when absent."""
    values = args.getlist(name)
    if len(values) > 1:
        raise ApiProblem(400, "invalid_parameter", f"{name} may be given only once.")
    return values[0] if values else None


def parse_date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiProblem(
            400, "invalid_parameter", f"{name} must be a date as YYYY-MM-DD, not {value[:40]!r}."
        ) from None


def parse_limit(value: str | None) -> int:
    if value is None:
        return PAGE_DEFAULT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= PAGE_MAX:
        raise ApiProblem(
            400, "invalid_parameter", f"limit must be a whole number from 1 to {PAGE_MAX}."
        )
    return int(value)


def invoice_page(user: User, *, start=None, end=None, cursor=None, limit=PAGE_DEFAULT):
    """One page of the invoices `user` may see, newest issue date first, by keyset."""
    position = None
    if cursor is not None:
        position = decode_cursor(cursor)
        if position is None:
            raise ApiProblem(400, "invalid_parameter", "cursor is not one this API gave out.")
    query = staff_invoices(user).where(*issue_date_range(start, end))
    return newest_first(query, position, limit)


def visible_invoice(user: User, invoice_id: int) -> Invoice:
    """The invoice if `user` may see it; otherwise 404, whoever's invoice it is."""
    invoice = staff_invoice(user, invoice_id)
    if invoice is None:
        raise ApiProblem(404, "not_found", f"There is no invoice {invoice_id} for this key.")
    return invoice

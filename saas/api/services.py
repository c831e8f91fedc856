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
from saas.console import upload_files
from saas.permissions import can
from saas.portal import publishing
from saas.portal.batch import BatchFile
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


def batch_limits() -> dict:
    """The batch upload's limits (saas.config): files per request, also inside a zip, and
    bytes per file and per request; a zip's members are bounded as in the bulk upload."""
    config = current_app.config
    return {
        "files": config["UPLOAD_BATCH_MAX_FILES"],
        "request_bytes": config["UPLOAD_BATCH_MAX_BYTES"],
        "file_bytes": config["UPLOAD_FILE_MAX_BYTES"],
        "expanded_bytes": config["UPLOAD_MAX_EXPANDED_BYTES"],
        "ratio": config["UPLOAD_MAX_RATIO"],
    }


# Why a file of a batch was refused before it was read, as the API says it.
BATCH_PROBLEMS = {
    "too_big": "The file is larger than {limit}.",
    "ratio": "The file expands too much for its compressed size in the zip.",
    "expanded_too_big": "The zip's files expand to more than a batch may hold.",
    "unknown_type": "Only .xml, .p7m, .pdf and .zip files are read.",
    "nested_zip": "A zip inside the zip is not read.",
    "compression": "The file is compressed with a method other than deflate.",
    "bad_zip": "The zip is damaged or encrypted.",
    "pdf_without_invoice": "No invoice file of this batch has this PDF's name.",
    "pdf_ambiguous": "Several invoice files of this batch have this PDF's name.",
    "pdf_twice": "Another PDF of this batch has the same name.",
}


def batch_problem(code: str) -> publishing.PublishError:
    message = BATCH_PROBLEMS[code].format(limit=max_file_text())
    return publishing.PublishError(message, code)


def batch_files(parts) -> list[BatchFile]:
    """The invoice files of a batch request, each with the PDF of the same name (as the
    console's bulk upload pairs them), zips opened; every file read at most to its
    limit. Raises ApiProblem for a request over UPLOAD_BATCH_MAX_FILES."""
    limits = batch_limits()
    found: list[tuple[str, bytes | None, str | None]] = []
    for part in parts:
        name = upload_files.file_name(part.filename or "")
        if upload_files.kind_of(name) == "zip":
            try:
                found.extend(upload_files.zip_files(part.stream, limits))
            except upload_files.UploadError as error:
                if str(error) == "too_many":
                    raise _too_many(limits) from None
                found.append((name, None, "bad_zip"))
            continue
        data = part.read(limits["file_bytes"] + 1)
        found.append(
            (name, None, "too_big") if len(data) > limits["file_bytes"] else (name, data, None)
        )
        if len(found) > limits["files"]:
            raise _too_many(limits)
    if len(found) > limits["files"]:
        raise _too_many(limits)
    by_stem: dict[str, list[BatchFile]] = {}
    out: list[BatchFile] = []
    for name, data, problem in found:
        kind = upload_files.kind_of(name)
        if kind == "invoice":
            item = BatchFile(name, data, problem=batch_problem(problem) if problem else None)
            by_stem.setdefault(upload_files.stem(name), []).append(item)
            out.append(item)
        elif kind != "pdf":
            out.append(BatchFile(name, None, problem=batch_problem(problem or "unknown_type")))
    for name, data, problem in found:
        if upload_files.kind_of(name) != "pdf":
            continue
        owners = by_stem.get(upload_files.stem(name), [])
        if problem and len(owners) == 1 and owners[0].pdf_name is None:
            # The invoice is refused with its PDF: published without it, it could not
            # get it later (the same invoice again is "already present").
            owners[0].pdf_name = name
            owners[0].problem = owners[0].problem or batch_problem(problem)
            continue
        code = problem or (
            "pdf_without_invoice"
            if not owners
            else "pdf_ambiguous"
            if len(owners) > 1
            else "pdf_twice"
            if owners[0].pdf_name is not None
            else None
        )
        if code is None:
            owners[0].pdf, owners[0].pdf_name = data or None, name
        else:
            out.append(BatchFile(name, None, problem=batch_problem(code)))
    return out


def _too_many(limits: dict) -> ApiProblem:
    return ApiProblem(
        413,
        "too_many_files",
        f"A batch may hold at most {limits['files']} files, counting those inside a zip.",
    )

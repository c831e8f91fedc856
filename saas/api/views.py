"""The machine API's routes (README, "Machine API"; its OpenAPI document is served at
`<prefix>/openapi.json`): thin, JSON in and out, no session, no CSRF.

Authentication is per request: HTTP Basic for `POST api-keys`, a Bearer key for the
rest. The tenant comes from the URL and must be the key's; another tenant's invoice
is a 404 like one that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from saas.api import schemas, services
from saas.api.openapi import document
from saas.api.services import ApiProblem
from saas.extensions import csrf
from saas.portal import batch, publishing
from saas.storage import MIME, StorageError, serve
from saas.tenancy import current_tenant

bp = Blueprint("api", __name__)
csrf.exempt(bp)

PREFIX = "/t/<tenant>/api/v1"


@bp.errorhandler(ApiProblem)
def problem_response(problem: ApiProblem):
    response = answer(schemas.Error(error=problem.code, message=problem.message))
    response.status_code = problem.status
    response.headers.update(problem.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def answer(model: schemas.Schema, status: int = 200):
    """A JSON answer from one of the document's models (saas.api.schemas)."""
    response = jsonify(schemas.dump(model))
    response.status_code = status
    return response


def signed_key_user():
    user, _key = services.key_user(request.headers.get("Authorization"), request.remote_addr)
    return user


@bp.get(f"{PREFIX}/openapi.json")
def openapi():
    return jsonify(document(current_tenant))


@bp.post(f"{PREFIX}/api-keys")
def create_api_key():
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        raise ApiProblem(
            401,
            "unauthorized",
            "Send the portal email and password with HTTP Basic authentication.",
            {"WWW-Authenticate": 'Basic realm="api", charset="UTF-8"'},
        )
    user = services.password_user(
        current_tenant, auth.username, auth.password or "", request.remote_addr
    )
    key, raw = services.issue_key(user)
    response = answer(schemas.NewApiKey(id=key.id, key=raw, prefix=key.prefix), 201)
    response.headers["Cache-Control"] = "no-store"  # the key is shown this once
    return response


@bp.get(f"{PREFIX}/credentials")
def credentials():
    user = signed_key_user()
    return answer(schemas.Credentials(tenant=current_tenant.slug, user=user.email, role=user.role))


@bp.post(f"{PREFIX}/invoices")
def upload_invoice():
    user = signed_key_user()
    services.require(user, "invoices.upload")
    limit = services.max_file()
    if request.content_length is not None and request.content_length > services.max_request():
        raise _too_large()
    request.max_content_length = services.max_request()  # also for a body sent without a length
    xml = request.files.get("xml")
    if xml is None:
        raise ApiProblem(400, "missing_file", "Send the invoice XML in the multipart field xml.")
    xml_data = xml.read(limit + 1)
    pdf = request.files.get("pdf")
    pdf_data = pdf.read(limit + 1) if pdf is not None else None
    if len(xml_data) > limit or (pdf_data is not None and len(pdf_data) > limit):
        raise _too_large()
    if not pdf_data:
        pdf_data = None  # an empty pdf field is no PDF
    email = (request.form.get("email") or "").strip() or None
    try:
        result = publishing.publish(
            current_tenant, xml_data, pdf_data, email=email, source="api", user_id=user.id
        )
    except publishing.IssuerNotAssigned as error:
        raise ApiProblem(403, "issuer_not_assigned", str(error)) from None
    except publishing.NationalIdTaken as error:
        raise ApiProblem(409, "national_id_taken", str(error)) from None
    except publishing.PublishError as error:
        raise ApiProblem(422, "invalid_invoice", str(error)) from None
    first, *others = result.invoices
    body = schemas.Published.of(
        first,
        # A FatturaPA file may carry several invoices.
        others=[schemas.Invoice.of(i) for i in others] or None,
        warnings=[
            schemas.Warning(
                code="invalid_customer_email",
                detail=f"{address!r} in the XML is not an email address: no one was told",
            )
            for address in result.invalid_addresses
        ]
        or None,
    )
    response = answer(body, 201 if result.any_created else 200)
    response.headers["Location"] = url_for("api.invoice", invoice_id=first.id)
    return response


@bp.post(f"{PREFIX}/invoices/batch")
def upload_batch():
    user = signed_key_user()
    services.require(user, "invoices.upload")
    limit = services.batch_limits()["request_bytes"]
    if request.content_length is not None and request.content_length > limit:
        raise _batch_too_large(limit)
    request.max_content_length = limit  # also for a body sent without a length
    parts = request.files.getlist("files")
    if not parts:
        raise ApiProblem(
            400, "missing_file", "Send the invoice files (XML, PDF, zip) in the field files."
        )
    files = services.batch_files(parts)
    try:
        outcomes = batch.publish_batch(current_tenant, files, source="api", user_id=user.id)
    except StorageError:
        raise ApiProblem(
            503, "storage_unavailable", "The files could not be stored: nothing was published."
        ) from None
    return answer(schemas.BatchResult.of(outcomes))


def _batch_too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413, "too_large", f"A batch request may have at most {limit / (1024 * 1024):.0f} MB."
    )


def _too_large() -> ApiProblem:
    return ApiProblem(
        413, "too_large", f"The XML and the PDF may be at most {services.max_file_text()} each."
    )


@bp.get(f"{PREFIX}/invoices")
def invoices():
    user = signed_key_user()
    services.require(user, "invoices.view")
    start, end, cursor, limit = (
        services.query_value(request.args, name) for name in ("from", "to", "cursor", "limit")
    )
    rows, next_cursor = services.invoice_page(
        user,
        start=services.parse_date("from", start),
        end=services.parse_date("to", end),
        cursor=cursor,
        limit=services.parse_limit(limit),
    )
    page = schemas.InvoicePage(
        invoices=[schemas.Invoice.of(i) for i in rows], next_cursor=next_cursor
    )
    return answer(page)


@bp.get(f"{PREFIX}/invoices/<id:invoice_id>")
def invoice(invoice_id: int):
    user = signed_key_user()
    services.require(user, "invoices.view")
    return answer(schemas.Invoice.of(services.visible_invoice(user, invoice_id)))


@bp.get(f"{PREFIX}/invoices/<id:invoice_id>/<any(pdf, xml):what>")
def invoice_file(invoice_id: int, what: str):
    user = signed_key_user()
    services.require(user, "invoices.download")
    found = services.visible_invoice(user, invoice_id)
    key = found.pdf_key if what == "pdf" else found.xml_key
    if key is None:
        raise ApiProblem(404, "no_pdf", f"Invoice {invoice_id} was published without a PDF.")
    return serve(key, found.file_name(what), MIME[what])

"""The OpenAPI 3.1 document of the machine API, served at /t/<slug>/api/v1/openapi.json.

The paths are written here next to the views they describe; the bodies' schemas are
generated from the models the views answer with (saas.api.schemas). A schemathesis run
in the test suite checks every answer of the running app against the document.
"""

from __future__ import annotations

from flask import url_for

from saas.api.schemas import component_schemas
from saas.api.services import PAGE_DEFAULT, PAGE_MAX, batch_limits, max_file_text
from saas.portal.visibility import CURSOR_PATTERN
from saas.routing import MAX_ID


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _errors(*codes: int) -> dict:
    texts = {
        400: "A parameter or field is missing or malformed.",
        401: "No credentials, or they do not work (the error code says why).",
        403: "The key's user may not do this (profile or assigned companies).",
        404: "No such invoice for this key (also another tenant's invoice).",
        409: "Another issuer's invoice has this national id (CUFE/CUDE or UUID).",
        413: f"A file is larger than {max_file_text()}.",
        422: "The XML is not an invoice this portal reads; the message names the field.",
        429: "Too many failures from this address or account; see Retry-After.",
    }
    answers = {str(code): _error(texts[code]) for code in codes}
    if 429 in codes:
        answers["429"]["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        }
    return answers


def _multipart(required: list[str], properties: dict) -> dict:
    """A required multipart/form-data body with these fields."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


def _json(ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


INVOICE_ID = {
    "name": "invoice_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


def _file(media_type: str, what: str) -> dict:
    return {
        "get": {
            "operationId": f"getInvoice{what.title()}",
            "summary": f"The invoice's {what.upper()} file, as an attachment",
            "security": [{"apiKey": []}],
            "parameters": [INVOICE_ID],
            "responses": {
                "200": {
                    "description": f"The {what.upper()} file.",
                    "headers": {
                        "Content-Disposition": {
                            "description": "attachment; filename=<issue-date>_<number>.ext",
                            "schema": {"type": "string"},
                        }
                    },
                    "content": {media_type: {"schema": {"type": "string"}}},
                },
                "302": {
                    "description": "With object storage: a link valid for 5 minutes.",
                    "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
                },
                **_errors(401, 403, 404, 429),
            },
        }
    }


def document(tenant) -> dict:
    """The document for one tenant: its server URL is the tenant's API root."""
    root = url_for("api.openapi", tenant=tenant.slug).removesuffix("/openapi.json")
    limits = batch_limits()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{tenant.name}: e-invoice API",
            "version": "1.0.0",
            "description": (
                "Publish electronic invoices (DIAN UBL 2.1, FatturaPA 1.2, CFDI 4.0) and "
                "read them back. Get a key with POST /api-keys (HTTP Basic with the portal "
                "email and password of an Administrator or Biller), then send it as "
                "`Authorization: Bearer <key>`. A password change revokes the user's keys."
            ),
        },
        "servers": [{"url": root}],
        "components": {
            "securitySchemes": {
                "password": {"type": "http", "scheme": "basic"},
                "apiKey": {"type": "http", "scheme": "bearer"},
            },
            "schemas": component_schemas(),
        },
        "paths": {
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/api-keys": {
                "post": {
                    "operationId": "createApiKey",
                    "summary": "A new API key, shown once",
                    "security": [{"password": []}],
                    "responses": {
                        "201": _json("NewApiKey", "The key; store it now, it is not shown again."),
                        **_errors(401, 403, 429),
                    },
                }
            },
            "/credentials": {
                "get": {
                    "operationId": "checkCredentials",
                    "summary": "Check an API key",
                    "security": [{"apiKey": []}],
                    "responses": {
                        "200": _json("Credentials", "The key works."),
                        **_errors(401, 429),
                    },
                }
            },
            "/invoices": {
                "post": {
                    "operationId": "publishInvoice",
                    "summary": "Publish an invoice (idempotent on its national id)",
                    "security": [{"apiKey": []}],
                    "requestBody": _multipart(
                        ["xml"],
                        {
                            "xml": {
                                "type": "string",
                                "contentMediaType": "application/xml",
                                "description": "The invoice XML (or a signed "
                                f".xml.p7m), at most {max_file_text()}",
                            },
                            "pdf": {
                                "type": "string",
                                "contentMediaType": "application/pdf",
                                "description": f"Its PDF, at most {max_file_text()}",
                            },
                            "email": {
                                "type": "string",
                                "format": "email",
                                "description": "The recipient's address, when "
                                "the XML has none or another is wanted",
                            },
                        },
                    ),
                    "responses": {
                        "201": {
                            **_json("Published", "Published now."),
                            "headers": {
                                "Location": {"schema": {"type": "string"}},
                            },
                        },
                        "200": {
                            **_json("Published", "Published before: nothing changed."),
                            "headers": {
                                "Location": {"schema": {"type": "string"}},
                            },
                        },
                        **_errors(400, 401, 403, 409, 413, 422, 429),
                    },
                },
                "get": {
                    "operationId": "listInvoices",
                    "summary": "Invoices, newest issue date first, a page at a time",
                    "security": [{"apiKey": []}],
                    "parameters": [
                        {
                            "name": "from",
                            "in": "query",
                            "description": "Issued on or after this day",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "to",
                            "in": "query",
                            "description": "Issued on or before this day",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "description": "next_cursor of the previous page",
                            "schema": {"type": "string", "pattern": CURSOR_PATTERN},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": PAGE_MAX,
                                "default": PAGE_DEFAULT,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json("InvoicePage", "A page; next_cursor is null on the last one."),
                        **_errors(400, 401, 403, 429),
                    },
                },
            },
            "/invoices/batch": {
                "post": {
                    "operationId": "publishInvoiceBatch",
                    "summary": "Publish many invoices in one request and one transaction",
                    "description": (
                        "Each part of the field `files` is an invoice XML (or .xml.p7m), "
                        "its PDF (paired by file name: FE-1.xml with FE-1.pdf) or a zip of "
                        f"such files; at most {limits['files']} files in all, each at most "
                        f"{max_file_text()}, the request at most "
                        f"{limits['request_bytes'] // (1024 * 1024)} MB. Every file is "
                        "answered on its own (created, already present, or refused with "
                        "the reason); what is published is committed together."
                    ),
                    "security": [{"apiKey": []}],
                    "requestBody": _multipart(
                        ["files"],
                        {
                            "files": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "string", "format": "binary"},
                                "description": "Files with their names "
                                "(.xml, .p7m, .pdf, .zip): the names pair them",
                            }
                        },
                    ),
                    "responses": {
                        "200": _json("BatchResult", "One result per file, in order."),
                        **_errors(400, 401, 403, 413, 429),
                        "503": _error("The files could not be stored: nothing was published."),
                    },
                }
            },
            "/invoices/{invoice_id}": {
                "get": {
                    "operationId": "getInvoice",
                    "summary": "One invoice's data",
                    "security": [{"apiKey": []}],
                    "parameters": [INVOICE_ID],
                    "responses": {
                        "200": _json("Invoice", "The invoice."),
                        **_errors(401, 403, 404, 429),
                    },
                }
            },
            "/invoices/{invoice_id}/pdf": _file("application/pdf", "pdf"),
            "/invoices/{invoice_id}/xml": _file("application/xml", "xml"),
        },
    }

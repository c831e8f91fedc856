"""The OpenAPI 3.1 document of the machine API, served at /t/<slug>/api/v1/openapi.json.

Written by hand next to the views it describes; a schemathesis run in the test suite
checks every answer of the running app against it.
"""

from __future__ import annotations

from flask import url_for

from saas.api.services import PAGE_DEFAULT, PAGE_MAX
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
        413: "A file is larger than 10 MB.",
        422: "The XML is not an invoice this portal reads; the message names the field.",
        429: "Too many failures from this address or account; see Retry-After.",
    }
    answers = {str(code): _error(texts[code]) for code in codes}
    if 429 in codes:
        answers["429"]["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        }
    return answers


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
    party = {
        "type": "object",
        "required": ["tax_id", "name"],
        "properties": {"tax_id": {"type": "string"}, "name": {"type": "string"}},
    }
    invoice = {
        "type": "object",
        "required": [
            "id",
            "number",
            "kind",
            "issue_date",
            "currency",
            "total",
            "tax_total",
            "national_id",
            "format",
            "issuer",
            "customer",
            "has_pdf",
            "downloaded",
            "created_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string"},
            "kind": {"type": "string", "enum": ["invoice", "credit_note", "debit_note"]},
            "issue_date": {"type": "string", "format": "date"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "total": {"type": "string", "pattern": r"^-?\d+(\.\d{1,6})?$"},
            "tax_total": {"type": "string", "pattern": r"^-?\d+(\.\d{1,6})?$"},
            "national_id": {
                "type": "string",
                "description": "CUFE/CUDE (Colombia), fiscal folio UUID (Mexico), or the "
                "FatturaPA transmission id, number and date (Italy)",
            },
            "format": {"type": "string", "enum": ["ubl21-co", "fatturapa-12", "cfdi-40"]},
            "issuer": party,
            "customer": {
                **party,
                "required": ["tax_id", "name", "email"],
                "properties": {
                    **party["properties"],
                    "email": {"type": ["string", "null"]},
                },
            },
            "has_pdf": {"type": "boolean"},
            "downloaded": {
                "type": "boolean",
                "description": "Whether the customer has downloaded it",
            },
            "created_at": {"type": "string", "format": "date-time"},
        },
    }
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
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
                "Invoice": invoice,
                "Published": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Invoice"},
                        {
                            "type": "object",
                            "properties": {
                                "others": {
                                    "description": "The other invoices of a file that held "
                                    "several (FatturaPA lots)",
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Invoice"},
                                },
                                "warnings": {
                                    "description": "Published, but with a problem for staff "
                                    "to act on: `invalid_customer_email` when the address the "
                                    "XML names cannot receive mail (no one was told)",
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["code", "detail"],
                                        "properties": {
                                            "code": {"type": "string"},
                                            "detail": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    ]
                },
            },
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
                        "201": {
                            "description": "The key; store it now, it is not shown again.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["id", "key", "prefix"],
                                        "properties": {
                                            "id": {"type": "integer"},
                                            "key": {"type": "string"},
                                            "prefix": {"type": "string"},
                                        },
                                    }
                                }
                            },
                        },
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
                        "200": {
                            "description": "The key works.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["tenant", "user", "role"],
                                        "properties": {
                                            "tenant": {"type": "string"},
                                            "user": {"type": "string"},
                                            "role": {
                                                "type": "string",
                                                "enum": [
                                                    "admin",
                                                    "biller",
                                                    "accountant",
                                                    "support",
                                                ],
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(401, 429),
                    },
                }
            },
            "/invoices": {
                "post": {
                    "operationId": "publishInvoice",
                    "summary": "Publish an invoice (idempotent on its national id)",
                    "security": [{"apiKey": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["xml"],
                                    "properties": {
                                        "xml": {
                                            "type": "string",
                                            "contentMediaType": "application/xml",
                                            "description": "The invoice XML (or a signed "
                                            ".xml.p7m), at most 10 MB",
                                        },
                                        "pdf": {
                                            "type": "string",
                                            "contentMediaType": "application/pdf",
                                            "description": "Its PDF, at most 10 MB",
                                        },
                                        "email": {
                                            "type": "string",
                                            "format": "email",
                                            "description": "The recipient's address, when "
                                            "the XML has none or another is wanted",
                                        },
                                    },
                                }
                            }
                        },
                    },
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
                        "200": {
                            "description": "A page; next_cursor is null on the last one.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["invoices", "next_cursor"],
                                        "properties": {
                                            "invoices": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Invoice"},
                                            },
                                            "next_cursor": {"type": ["string", "null"]},
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(400, 401, 403, 429),
                    },
                },
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

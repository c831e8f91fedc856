"""The machine API's JSON bodies as pydantic models: the views answer with them and the
OpenAPI document's `components.schemas` is generated from them (saas.api.openapi), so
what the API says and what it sends cannot drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer
from pydantic.json_schema import models_json_schema

from saas.auth.models import ROLES

Amount = Annotated[str, Field(pattern=r"^-?\d+(\.\d{1,6})?$")]
Role = Literal[ROLES]  # type: ignore[valid-type]  # the profiles, from their one list


class Schema(BaseModel):
    # Closed objects: an answer with a field the document does not name is a bug.
    model_config = ConfigDict(extra="forbid")


class Error(Schema):
    error: str = Field(description="A stable code, such as not_found or too_large")
    message: str = Field(description="What went wrong, for a person")


class Party(Schema):
    tax_id: str
    name: str


class Customer(Party):
    email: str | None


class Invoice(Schema):
    id: int
    number: str
    kind: Literal["invoice", "credit_note", "debit_note"]
    issue_date: date
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    total: Amount
    tax_total: Amount
    national_id: str = Field(
        description="CUFE/CUDE (Colombia), fiscal folio UUID (Mexico), or the FatturaPA "
        "transmission id, number and date (Italy)"
    )
    format: Literal["ubl21-co", "fatturapa-12", "fatturapa-sm10", "cfdi-40"]
    issuer: Party
    customer: Customer
    has_pdf: bool
    pdf_generated: bool = Field(
        description="The PDF is the portal's printable copy, drawn from the XML the first "
        "time the customer asked for a PDF of an invoice sent without one"
    )
    downloaded: bool = Field(
        description="Whether the customer has downloaded all its files: the XML and, if it "
        "has one, the PDF (alone or in a pending-downloads zip)"
    )
    created_at: datetime = Field(json_schema_extra={"format": "date-time"})

    @field_serializer("created_at")
    def _utc(self, moment: datetime) -> str:
        return moment.isoformat(timespec="seconds") + "Z"  # stored as naive UTC

    @classmethod
    def of(cls, invoice, **more):
        """The JSON of a stored invoice (saas.portal.models.Invoice), with `more` fields
        of a subclass."""
        decimals = invoice.amount_decimals
        return cls(
            id=invoice.id,
            number=invoice.number,
            kind=invoice.kind,
            issue_date=invoice.issue_date,
            currency=invoice.currency,
            # As the document states them: the invoice's own decimals, not the currency's.
            total=f"{invoice.total:.{decimals}f}",
            tax_total=f"{invoice.tax_total:.{decimals}f}",
            national_id=invoice.national_id,
            format=invoice.format,
            issuer=Party(tax_id=invoice.issuer.tax_id, name=invoice.issuer.name),
            customer=Customer(
                tax_id=invoice.customer.tax_id,
                name=invoice.customer.name,
                email=invoice.customer.email,
            ),
            has_pdf=invoice.pdf_key is not None,
            pdf_generated=invoice.pdf_generated,
            downloaded=invoice.downloaded,
            created_at=invoice.created_at,
            **more,
        )


class Warning(Schema):
    code: str
    detail: str


class Published(Invoice):
    """Sent without `others` and `warnings` when there are none."""

    others: list[Invoice] | None = Field(
        None, description="The other invoices of a file that held several (FatturaPA lots)"
    )
    warnings: list[Warning] | None = Field(
        None,
        description="Published, but with a problem for staff to act on: "
        "`invalid_customer_email` when the address the XML names cannot receive mail "
        "(no one was told)",
    )


class BatchFile(Schema):
    file: str = Field(description="The invoice file's name (inside its zip, without folders)")
    pdf: str | None = Field(description="The PDF paired with it by name; null without one")
    status: Literal["created", "present", "refused"] = Field(
        description="created: published now; present: published before (same issuer and "
        "national id), nothing changed; refused: not published, `error` says why"
    )
    invoices: list[Invoice] = Field(
        description="The invoices of the file (several for a FatturaPA lot); none if refused"
    )
    error: str | None = Field(
        description="Why it was refused, as a stable code (the single upload's 403, 409, 413 "
        "and 422 codes, or the reader's own); null otherwise"
    )
    message: str | None = Field(description="The reason for a person; null if not refused")
    warnings: list[Warning] = Field(description="As in a single upload; empty when none")


class BatchResult(Schema):
    created: int = Field(description="Files published now")
    present: int = Field(description="Files published before")
    refused: int = Field(description="Files not published")
    files: list[BatchFile] = Field(description="One entry per file sent, in order")

    @classmethod
    def of(cls, outcomes):
        """The JSON of saas.portal.batch.publish_batch's outcomes."""
        files = [
            BatchFile(
                file=o.name,
                pdf=o.pdf_name,
                status=o.status,
                invoices=[Invoice.of(i) for i in o.invoices],
                error=o.error.code if o.error is not None else None,
                message=str(o.error) if o.error is not None else None,
                warnings=[
                    Warning(
                        code="invalid_customer_email",
                        detail=f"{address!r} in the XML is not an email address: no one was told",
                    )
                    for address in o.invalid_addresses
                ],
            )
            for o in outcomes
        ]
        count = {s: sum(f.status == s for f in files) for s in ("created", "present", "refused")}
        return cls(**count, files=files)


class InvoicePage(Schema):
    invoices: list[Invoice]
    next_cursor: str | None = Field(description="null on the last page")


class NewApiKey(Schema):
    id: int
    key: str = Field(description="Shown this once")
    prefix: str


class Credentials(Schema):
    tenant: str
    user: str
    role: Role


ANSWERS = (Error, Invoice, Published, BatchResult, InvoicePage, NewApiKey, Credentials)


def component_schemas() -> dict:
    """`components.schemas` of the OpenAPI document, one entry per answer model (and the
    models they hold), as they serialize."""
    _, found = models_json_schema(
        [(model, "serialization") for model in ANSWERS],
        ref_template="#/components/schemas/{model}",
    )
    return found["$defs"]


def dump(model: Schema) -> dict:
    """The JSON of an answer; optional parts that are None are left out, fields that
    are null by nature (a customer's email, the last page's cursor) stay."""
    data = model.model_dump(mode="json")
    for name in ("others", "warnings"):
        if data.get(name, ...) is None:
            del data[name]
    return data

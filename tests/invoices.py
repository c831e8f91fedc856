"""Electronic invoices made to order for tests: DIAN UBL 2.1 with chosen values."""

from __future__ import annotations

import hashlib
from datetime import date

from saas.demo_invoices import ubl_invoice as make_ubl

# Valid NITs with their DIAN check digits.
ISSUER_NIT = ("900123456", "8")
ISSUERS = {
    "intertec": (*ISSUER_NIT, "Intertec S.A.S."),
    "sucursal": ("800197268", "4", "Intertec Sucursal Norte S.A.S."),
}
CUSTOMERS = {
    "andina": ("800765432", "3", "Distribuidora Andina S.A.S."),
    "cafetera": ("901234567", "7", "Cafetera del Valle Ltda."),
}


def ubl_invoice(
    number: str,
    *,
    issue_date: date = date(2026, 1, 15),
    customer: str = "andina",
    email: str | None = "compras@andina.example",
    total: str = "119000.00",
    tax: str = "19000.00",
    issuer: str = "intertec",
) -> bytes:
    """A DIAN UBL 2.1 invoice from one of Intertec's issuer companies to a known customer."""
    return make_ubl(
        number,
        issuer=ISSUERS[issuer],
        customer=CUSTOMERS[customer],
        email=email,
        issue_date=issue_date,
        total=total,
        tax=tax,
    )


def fake_pdf(label: str, size: int = 2048) -> bytes:
    """Bytes that start like a PDF, different per label."""
    body = hashlib.sha256(label.encode()).hexdigest().encode() * (size // 64 + 1)
    return b"%PDF-1.7\n" + body[:size] + b"\n%%EOF\n"

"""Demo data for every tenant: companies, an admin, a recipient and invoices. Idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from saas import clock
from saas.auth.models import User
from saas.companies import Company
from saas.demo_invoices import cfdi_invoice, fatturapa_invoice, simple_pdf, ubl_invoice
from saas.extensions import db
from saas.portal.models import Invoice
from saas.seats import staff_accounts
from saas.security import hash_password
from saas.tenancy.models import Tenant
from saas.tenancy.scoping import as_tenant

# Valid tax ids per country (NIT with check digit, Partita IVA with check digit, RFC).
DEMO_COMPANIES = {
    "CO": [
        ("900123456-8", "issuer", "facturacion@intertec.example"),
        ("800765432-3", "customer", "cuentas@andina.example"),
        ("901234567-7", "customer", "pagos@cafetera.example"),
    ],
    "IT": [
        ("01234560017", "issuer", "fatture@adriatica.example"),
        ("02468130584", "customer", "amministrazione@rossi.example"),
        ("01357920154", "customer", "contabilita@bianchi.example"),
    ],
    "MX": [
        ("AZT010101AB1", "issuer", "facturas@azteca.example"),
        ("MEX920315KL2", "customer", "cxp@mexicana.example"),
        ("NOR850720QR3", "customer", "compras@norteno.example"),
    ],
}
CUSTOMER_NAMES = {
    "CO": ["Distribuidora Andina S.A.S.", "Cafetera del Valle Ltda."],
    "IT": ["Rossi Costruzioni S.r.l.", "Bianchi & Figli S.p.A."],
    "MX": ["Comercial Mexicana del Centro S.A. de C.V.", "Abarrotes Norteño S.A. de C.V."],
}


def demo_password(tenant: Tenant) -> str:
    return f"demo-{tenant.slug}-2026"


def create_demo_data() -> list[tuple[Tenant, User, str]]:
    """Create what is missing and return (tenant, user, password) rows to print.

    Called inside all_tenants() (the demo is about every tenant); each tenant's rows
    are written as that tenant.

    Per tenant: its administrator (the owner, with no company: the whole tenant), a
    recipient of the first customer company who must choose a new password at first
    sign-in, that company's invoices of the last months and a few of the second
    customer's, so that the portal and the dashboard show something. Each invoice is
    published once, however often (and on whatever day) the demo runs.
    """
    rows = []
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)):
        with as_tenant(tenant):  # this tenant's rows, written while it is the current one
            rows += _demo_tenant(tenant)
    return rows


def _demo_tenant(tenant: Tenant) -> list[tuple[Tenant, User, str]]:
    rows = []
    companies = _companies(tenant)
    email = f"admin@{tenant.slug}.example"
    password = demo_password(tenant)
    admin = db.session.scalars(select(User).where(User.email == email)).first()
    if admin is None:
        admin = staff_accounts.create_user(  # the first staff member: the owner, no seat
            tenant,
            None,
            email=email,
            name="Demo Admin",
            role="admin",
            password=password,
            # No company: the owner works with the whole tenant, every issuer included
            # (limiting a user is an Administrator's deliberate choice on the Users page).
        )
    else:  # the demo promises this password and scope: put them back if changed
        admin.password_hash = hash_password(password)
        admin.active = True
        admin.companies = []
    rows.append((tenant, admin, password))
    issuer = next(c for c in companies if c.kind == "issuer")
    first, second = (c for c in companies if c.kind == "customer")
    recipient, recipient_password = _recipient(tenant, first)
    rows.append((tenant, recipient, recipient_password))
    db.session.flush()
    _invoices(tenant, issuer, first, recipient, count=8)
    _invoices(tenant, issuer, second, None, count=3, first_number=9)  # nobody to tell yet
    return rows


def _recipient(tenant: Tenant, company: Company) -> tuple[User, str]:
    email = f"cliente@{tenant.slug}.example"
    password = f"{demo_password(tenant)}-cliente"
    user = db.session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        user = User(
            tenant_id=tenant.id,
            email=email,
            username=f"cliente-{tenant.slug}",
            name=company.name,
            kind="recipient",
            companies=[company],
        )
        db.session.add(user)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.active = True
    user.welcomed_at = user.welcomed_at or clock.now()  # the demo prints the password instead
    return user, password


def _invoices(
    tenant: Tenant,
    issuer: Company,
    customer: Company,
    recipient: User | None,
    *,
    count: int,
    first_number: int = 1,
) -> int:
    """`count` invoices a fortnight apart up to today, for `customer` (told through
    `recipient`); each number is published once, whatever day the demo runs again.
    Returns how many were published now."""
    from saas.portal.publishing import publish

    today = clock.now().date()
    published = 0
    for n in range(first_number, first_number + count):
        day = today - timedelta(days=14 * (n - first_number) + 3)
        number, xml = _document(tenant.country, n, day, issuer, customer)
        if db.session.scalar(
            select(Invoice.id).where(
                Invoice.issuer_company_id == issuer.id, Invoice.number == number
            )
        ):
            continue  # FatturaPA's national id holds the date: the number says "done"
        pdf = simple_pdf(
            f"{tenant.name}",
            f"Invoice {number}",
            f"Date: {day.isoformat()}",
            f"Customer: {customer.name}",
        )
        email = recipient.email if recipient is not None else None
        publish(tenant, xml, pdf, email=email, source="demo")
        published += 1
    return published


def _document(country: str, n: int, day, issuer: Company, customer: Company):
    amount = Decimal(100_000 + 12_345 * n) if country == "CO" else Decimal(400 + 37 * n)
    if country == "CO":
        nit, dv = issuer.tax_id.split("-")
        cnit, cdv = customer.tax_id.split("-")
        number = f"FE-{1000 + n}"
        xml = ubl_invoice(
            number,
            issuer=(nit, dv, issuer.name),
            customer=(cnit, cdv, customer.name),
            email=None,
            issue_date=day,
            total=f"{amount * Decimal('1.19'):.2f}",
            tax=f"{amount * Decimal('0.19'):.2f}",
        )
    elif country == "IT":
        number = f"FA-2026-{n:03d}"
        xml = fatturapa_invoice(
            number,
            issuer=(issuer.tax_id, issuer.name),
            customer=(customer.tax_id, customer.name),
            pec=None,
            issue_date=day,
            taxable=f"{amount:.2f}",
            vat=f"{amount * Decimal('0.22'):.2f}",
        )
    else:
        number = f"A{500 + n}"
        xml = cfdi_invoice(
            "A",
            str(500 + n),
            issuer=(issuer.tax_id, issuer.name.upper()),
            customer=(customer.tax_id, customer.name.upper()),
            issue_date=day,
            subtotal=f"{amount:.2f}",
            iva=f"{amount * Decimal('0.16'):.2f}",
        )
    return number, xml


def _companies(tenant: Tenant) -> list[Company]:
    customers = iter(CUSTOMER_NAMES[tenant.country])
    result = []
    for tax_id, kind, email in DEMO_COMPANIES[tenant.country]:
        company = db.session.scalars(select(Company).where(Company.tax_id == tax_id)).first()
        if company is None:
            name = tenant.name if kind == "issuer" else next(customers)
            company = Company(tenant_id=tenant.id, tax_id=tax_id, name=name, kind=kind, email=email)
            db.session.add(company)
        elif kind == "customer":
            next(customers)
        result.append(company)
    db.session.flush()
    return result

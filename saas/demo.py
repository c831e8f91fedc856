"""Demo data for every tenant: its issuer company, two customers, an admin. Idempotent."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from saas.auth.models import User
from saas.auth.services import create_staff_user
from saas.extensions import db
from saas.portal.models import Company
from saas.security import hash_password
from saas.tenancy.models import Tenant

# Valid tax ids per country (NIT with check digit, Partita IVA with check digit, RFC).
DEMO_COMPANIES = {
    "CO": [
        ("9001234568", "issuer", "facturacion@intertec.example"),
        ("8007654323", "customer", "cuentas@andina.example"),
        ("9012345677", "customer", "pagos@cafetera.example"),
    ],
    "IT": [
        ("01234567897", "issuer", "fatture@adriatica.example"),
        ("02468135799", "customer", "amministrazione@rossi.example"),
        ("01357924685", "customer", "contabilita@bianchi.example"),
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

    Per tenant: its administrator, and a recipient of the first customer company who
    must choose a new password at first sign-in.
    """
    rows = []
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)):
        g.tenant = tenant
        companies = _companies(tenant)
        email = f"admin@{tenant.slug}.example"
        password = demo_password(tenant)
        admin = db.session.scalars(
            select(User).where(User.tenant_id == tenant.id, User.email == email)
        ).first()
        if admin is None:
            admin = create_staff_user(
                tenant,
                email=email,
                name="Demo Admin",
                role="admin",
                password=password,
                companies=[c for c in companies if c.kind == "issuer"],
            )
        else:  # the demo promises this password: put it back if someone changed it
            admin.password_hash = hash_password(password)
            admin.active = True
        rows.append((tenant, admin, password))
        rows.append(
            (tenant, *_recipient(tenant, next(c for c in companies if c.kind == "customer")))
        )
    db.session.commit()
    g.pop("tenant", None)
    return rows


def _recipient(tenant: Tenant, company: Company) -> tuple[User, str]:
    email = f"cliente@{tenant.slug}.example"
    password = f"{demo_password(tenant)}-cliente"
    user = db.session.scalars(
        select(User).where(User.tenant_id == tenant.id, User.email == email)
    ).first()
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
    return user, password


def _companies(tenant: Tenant) -> list[Company]:
    customers = iter(CUSTOMER_NAMES[tenant.country])
    result = []
    for tax_id, kind, email in DEMO_COMPANIES[tenant.country]:
        company = db.session.scalars(
            select(Company).where(Company.tenant_id == tenant.id, Company.tax_id == tax_id)
        ).first()
        if company is None:
            name = tenant.name if kind == "issuer" else next(customers)
            company = Company(tenant_id=tenant.id, tax_id=tax_id, name=name, kind=kind, email=email)
            db.session.add(company)
        elif kind == "customer":
            next(customers)
        result.append(company)
    db.session.flush()
    return result

"""Small factories for tests: rows with sensible defaults, overridable by keyword."""

from __future__ import annotations

import itertools

from flask import g

from saas.auth.models import User
from saas.companies import Company
from saas.extensions import db
from saas.security import hash_password
from saas.tenancy import all_tenants
from saas.tenancy.models import Tenant, TenantDomain

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"
_HASH = None


def make_tenant(slug: str | None = None, domains=(), **values) -> Tenant:
    n = next(_seq)
    fields = {
        "slug": slug or f"tenant{n}",
        "name": f"Tenant {n}",
        "country": "CO",
        "currency": "COP",
        "timezone": "America/Bogota",
        "locales": ["es", "en"],
        "login_methods": ["password"],
        "password_reset": "email",
        "onboarding": "two_emails",
        "plan": "basic",
        "primary_color": "#224488",
        "support_phones": [],
    }
    fields.update(values)
    tenant = Tenant(**fields)
    tenant.domains = [TenantDomain(host=h) for h in domains]
    with all_tenants():  # creating a tenant is the platform's act
        db.session.add(tenant)
        db.session.commit()
    return tenant


def make_company(tenant: Tenant, **values) -> Company:
    n = next(_seq)
    fields = {"tax_id": f"90000{n:04d}", "name": f"Company {n}", "kind": "customer"}
    fields.update(values)
    g.tenant = tenant  # what follows acts inside this tenant, as its requests would
    company = Company(tenant_id=tenant.id, **fields)
    db.session.add(company)
    db.session.commit()
    return company


def make_user(tenant: Tenant, **values) -> User:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    n = next(_seq)
    fields = {
        "email": f"user{n}@example.com",
        "username": f"user{n}",
        "name": f"User {n}",
        "kind": "staff",
        "role": "admin",
        "password_hash": _HASH,
    }
    fields.update(values)
    g.tenant = tenant  # what follows acts inside this tenant, as its requests would
    user = User(tenant_id=tenant.id, **fields)
    db.session.add(user)
    db.session.commit()
    return user

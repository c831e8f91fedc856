"""Factories for tests: rows with sensible defaults, overridable by keyword.

`TenantFactory`, `CompanyFactory` and `UserFactory` (factory_boy) add their rows to
`db.session` and flush them; committing is the caller's, as it is the app's owners'
(saas.transactions): a test's `with app.app_context():` block commits at its end. Each
row is written in the scope that row-level security lets it in: a tenant across all
tenants (creating one is the platform's act), a company or user as its tenant
(`as_tenant`), which leaves `g.tenant` as it was.

`make_tenant`, `make_company` and `make_user` are the older helpers, kept for their
callers: they commit, and make_company/make_user also make the row's tenant the current
one (`g.tenant`), so that what follows acts inside it, as its requests would.
"""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory
from flask import g

from saas.auth.models import User
from saas.companies import Company
from saas.extensions import db
from saas.security import hash_password
from saas.tenancy import all_tenants, as_tenant
from saas.tenancy.models import Tenant, TenantDomain

PASSWORD = "correct horse battery staple"
_HASHES: dict[str, str] = {}


def hashed(password: str = PASSWORD) -> str:
    """Argon2 is slow on purpose: each password is hashed once per test run."""
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


class _Factory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session = db.session  # the scoped session: this app context's
        sqlalchemy_session_persistence = "flush"

    @classmethod
    def _setup_next_sequence(cls):
        return 1  # user1, Company 1, tenant1: as the older helpers numbered them


class TenantFactory(_Factory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant{n}")
    name = factory.Sequence(lambda n: f"Tenant {n}")
    country = "CO"
    currency = "COP"
    timezone = "America/Bogota"
    locales = factory.LazyFunction(lambda: ["es", "en"])
    login_methods = factory.LazyFunction(lambda: ["password"])
    password_reset = "email"
    onboarding = "two_emails"
    plan = "basic"
    primary_color = "#224488"
    support_phones = factory.LazyFunction(list)
    domains = ()  # host names (or TenantDomain rows)

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["domains"] = [
            d if isinstance(d, TenantDomain) else TenantDomain(host=d)
            for d in kwargs.get("domains") or ()
        ]
        return kwargs

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with all_tenants():  # creating a tenant is the platform's act
            return super()._create(model_class, *args, **kwargs)


class _TenantRowFactory(_Factory):
    """A row of one tenant (`tenant=`, a new one unless given), written as that tenant."""

    class Meta:
        abstract = True

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _build(cls, model_class, *args, tenant, **kwargs):
        return super()._build(model_class, *args, tenant_id=tenant.id, **kwargs)

    @classmethod
    def _create(cls, model_class, *args, tenant, **kwargs):
        with as_tenant(tenant):
            return super()._create(model_class, *args, tenant_id=tenant.id, **kwargs)


class CompanyFactory(_TenantRowFactory):
    class Meta:
        model = Company

    tax_id = factory.Sequence(lambda n: f"90000{n:04d}")
    name = factory.Sequence(lambda n: f"Company {n}")
    kind = "customer"


class UserFactory(_TenantRowFactory):
    """A staff Administrator unless told otherwise; its password is PASSWORD (or
    `password=`)."""

    class Meta:
        model = User

    class Params:
        password = PASSWORD

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"User {n}")
    kind = "staff"
    role = "admin"
    password_hash = factory.LazyAttribute(lambda o: hashed(o.password))


def make_tenant(slug: str | None = None, domains=(), **values) -> Tenant:
    if slug:
        values["slug"] = slug
    with all_tenants():
        tenant = TenantFactory(domains=domains, **values)
        db.session.commit()
    return tenant


def make_company(tenant: Tenant, **values) -> Company:
    g.tenant = tenant  # what follows acts inside this tenant, as its requests would
    company = CompanyFactory(tenant=tenant, **values)
    db.session.commit()
    return company


def make_user(tenant: Tenant, **values) -> User:
    g.tenant = tenant  # what follows acts inside this tenant, as its requests would
    user = UserFactory(tenant=tenant, **values)
    db.session.commit()
    return user

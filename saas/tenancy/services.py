"""Creating and updating tenants from their files; an operator's suspension."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from flask import current_app
from sqlalchemy import select

from saas import audit
from saas.config import configured_login_methods
from saas.extensions import db
from saas.storage import get_storage, tenant_key
from saas.tenancy.files import TenantFileError, TenantSpec, load_tenant_files
from saas.tenancy.models import STATUSES, Tenant, TenantDomain
from saas.tenancy.scoping import all_tenants


@all_tenants()  # the files describe every tenant
def sync_tenants(tenants_dir: str | Path | None = None) -> list[tuple[str, str]]:
    """Create or update every tenant from its file; returns (slug, created|updated|unchanged).

    All files are checked before anything is written: one bad file raises
    TenantFileError and no tenant changes. Running it twice changes nothing the second time.
    """
    tenants_dir = Path(tenants_dir or current_app.config["TENANTS_DIR"])
    translations = Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    specs = load_tenant_files(
        tenants_dir, translations, configured_login_methods(current_app.config)
    )
    _check_domains_free(specs)
    _check_not_signed_up(specs)
    for spec in specs:
        for warning in spec.warnings:
            current_app.logger.warning("%s", warning)
    results = []
    for spec in specs:
        results.append((spec.slug, _apply(spec)))
    return results


def _check_domains_free(specs: list[TenantSpec]) -> None:
    """A domain may not already belong to a tenant that has no file here."""
    problems = []
    for spec in specs:
        for host in spec.domains:
            owner = db.session.scalars(
                select(Tenant.slug).join(TenantDomain).where(TenantDomain.host == host)
            ).first()
            if owner and owner != spec.slug:
                problems.append(f"{spec.path}: domains: {host!r} belongs to tenant {owner!r}")
    if problems:
        raise TenantFileError(problems)


def _check_not_signed_up(specs: list[TenantSpec]) -> None:
    """A file never takes over a tenant that signed up by itself (that one lives in the
    database, and its Administrator owns its settings), nor its company's tax id."""
    slugs = [spec.slug for spec in specs]
    taken = set(
        db.session.scalars(
            select(Tenant.slug).where(Tenant.slug.in_(slugs), Tenant.origin != "file")
        )
    )
    problems = [
        f"{spec.path}: tenant {spec.slug!r} signed up by itself; rename the folder"
        for spec in specs
        if spec.slug in taken
    ]
    for spec in specs:  # one portal per company: its tax id may be another tenant's
        tax_id = spec.values.get("tax_id")
        owner = tax_id and tax_id_owner(spec.values["country"], tax_id)
        if owner and owner != spec.slug:
            problems.append(f"{spec.path}: tax_id: {tax_id!r} is the tax id of tenant {owner!r}")
    if problems:
        raise TenantFileError(problems)


def tax_id_owner(country: str, tax_id: str) -> str | None:
    """The slug of the tenant whose company has this tax id: one portal per tax id and
    country, whether it came from a file or signed up."""
    return db.session.scalar(
        select(Tenant.slug).where(Tenant.country == country, Tenant.tax_id == tax_id)
    )


def set_status(tenant: Tenant, status: str, *, operator: str, reason: str = "") -> bool:
    """Suspend a tenant or make it active again (the platform console); False when it
    already was. A suspended tenant's pages and API answer 403 (saas.tenancy)."""
    if status not in STATUSES:
        raise ValueError(f"unknown tenant status {status!r}")
    if tenant.status == status:
        return False
    tenant.status = status
    db.session.flush()
    audit.record(
        "tenant.suspended" if status == "suspended" else "tenant.reactivated",
        tenant_id=tenant.id,
        subject=f"platform:{operator}",
        reason=reason,
    )
    return True


def _apply(spec: TenantSpec) -> str:
    tenant = db.session.scalars(select(Tenant).where(Tenant.slug == spec.slug)).first()
    created = tenant is None
    if tenant is None:
        tenant = Tenant(slug=spec.slug, **spec.values)
        db.session.add(tenant)
        db.session.flush()
    else:
        # The file bootstraps a tenant; what an Administrator has since changed in the
        # console (tenant.console_settings) wins over the file.
        kept = set(tenant.console_settings or ())
        for key, value in spec.values.items():
            if key not in kept and getattr(tenant, key) != value:
                setattr(tenant, key, value)
    changed = created or db.session.is_modified(tenant)

    if "logo" in (tenant.console_settings or ()):
        pass
    elif spec.logo is not None:
        key = tenant_key(tenant.id, "branding", f"logo-{spec.logo_digest}{spec.logo_ext}")
        if tenant.logo_key != key:
            content_type = cast(str, spec.logo_content_type)  # set with the logo
            get_storage().put(key, spec.logo, content_type)
            tenant.logo_key, tenant.logo_content_type = key, spec.logo_content_type
            changed = True
    elif tenant.logo_key is not None:
        tenant.logo_key = tenant.logo_content_type = None
        changed = True

    # Change only the difference: a host kept in the file keeps its row.
    wanted = set(spec.domains)
    for domain in [d for d in tenant.domains if d.host not in wanted]:
        tenant.domains.remove(domain)
        changed = True
    have = {d.host for d in tenant.domains}
    for host in sorted(wanted - have):
        tenant.domains.append(TenantDomain(host=host))
        changed = True

    if not changed:
        return "unchanged"
    db.session.flush()
    audit.record(
        "tenant.created" if created else "tenant.updated",
        tenant_id=tenant.id,
        source=str(spec.path),
    )
    return "created" if created else "updated"

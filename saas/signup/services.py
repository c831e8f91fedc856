"""Self sign-up: a new issuer asks for a portal, verifies its email, and gets a tenant.

1. The form (`request_signup`) keeps what was typed in a Signup row and emails a one-time
   link. It never looks the address up, so a taken address and a free one get the same
   answer, the same email and the same limits; limits count per address and per IP.
   A tax id that already has a portal is refused at once, saying only that.
2. Opening the link (`pending_signup`) spends nothing (mail scanners open links).
3. Choosing the password (`complete`) spends the link with one conditional write and,
   in the same transaction, creates the tenant with its country's defaults, its issuer
   company and its owner (the first Administrator). Nothing exists before that.

A tenant made here is `origin="signup"`: it lives in the database only, and `tenants
sync` never touches it (saas.tenancy.services).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, delete, select, update

from saas import audit, clock
from saas.auth.services import UserError, normalize_email
from saas.auth.tokens import digest
from saas.companies import Company
from saas.extensions import db
from saas.mail import absolute_url, email_user, send_email
from saas.seats.staff_accounts import create_user
from saas.signup.models import Signup
from saas.tenancy.files import SLUG_RE, tenant_files
from saas.tenancy.models import COUNTRIES, Tenant
from saas.tenancy.scoping import as_tenant
from saas.tenancy.services import tax_id_owner
from saas.textsearch import fold
from saas.throttle import Limit, one_at_a_time, retry_after
from saas.transactions import claim

LINK_LIFETIME = timedelta(hours=24)
STALE_AFTER = timedelta(days=7)  # an unconfirmed sign-up is kept this long after its link
# Per address typed (taken or not, counted alike) and per IP; refusals of a tax id that
# already has a portal count for the IP too, so the form is no cheap way to probe them.
EMAIL_LIMIT = Limit(("platform.signup_requested",), 3, timedelta(hours=1))
IP_LIMIT = Limit(
    ("platform.signup_requested", "platform.signup_tax_id_taken"), 10, timedelta(hours=1)
)

# What a new tenant of each country starts with; its Administrator changes any of it on
# the console's Settings page. Google sign-in is left out: not every server has it.
COUNTRY_DEFAULTS = {
    "CO": {
        "locales": ["es", "en"],
        "login_methods": ["password", "magic_link"],
        "password_reset": "tax_id",  # Colombian portals recover an account with the NIT
        "onboarding": "two_emails",
    },
    "IT": {
        "locales": ["it", "en"],
        "login_methods": ["password", "magic_link"],
        "password_reset": "email",
        "onboarding": "set_password_link",
    },
    "MX": {
        "locales": ["es", "en"],
        "login_methods": ["password", "magic_link"],
        "password_reset": "email",
        "onboarding": "two_emails",
    },
}
DEFAULT_PRIMARY = "#1d4f91"  # a dark blue that passes the contrast checks, until a logo comes
# Company forms at the end of a name, which a slug does without ("Ferretería S.A.S.").
LEGAL_FORMS = re.compile(
    r"(?:[\s,.-]+(?:s\.?\s?a\.?\s?s|s\.?\s?r\.?\s?l|s\.?\s?p\.?\s?a|s\.?\s?a\.?(?:\s?de\s?c\.?\s?v)?"
    r"|ltda|s\.?\s?n\.?\s?c|s\.?\s?a\.?\s?p\.?\s?i(?:\s?de\s?c\.?\s?v)?)\.?)+\s*$",
    re.IGNORECASE,
)
MAX_SLUG = 40


class SignupError(ValueError):
    """A sign-up refused; `code` says why (the page words it, or shows `message`)."""

    def __init__(self, code: str, message: str | None = None):
        super().__init__(code)
        self.code, self.message = code, message


def signup_wait(email: str, ip: str | None) -> int:
    return max(
        retry_after(EMAIL_LIMIT, subject=f"signup:{email}"),
        retry_after(IP_LIMIT, ip=ip) if ip else 0,
    )


def request_signup(*, company_name, country, tax_id, admin_name, email, plan, locale, ip) -> int:
    """Keep the form and email its link; returns seconds to wait when over a limit, else 0.

    The values are checked (saas.signup.forms). Raises SignupError("tax_id_taken").
    """
    email = normalize_email(email)
    with one_at_a_time(f"signup:{email}"):
        wait = signup_wait(email, ip)
        if wait:
            audit.record("platform.signup_throttled", subject=f"signup:{email}", wait=wait)
            return wait
        if tax_id_owner(country, tax_id):
            audit.record("platform.signup_tax_id_taken", subject=f"signup:{email}", tax_id=tax_id)
            raise SignupError("tax_id_taken")
        now = clock.now()
        # A newer sign-up of the same address is the one that counts: older links die.
        db.session.execute(
            update(Signup)
            .where(Signup.email == email, Signup.used_at.is_(None), Signup.expires_at > now)
            .values(expires_at=now)
        )
        raw = secrets.token_urlsafe(32)
        signup = Signup(
            token_hash=digest(raw or ""),
            email=email,
            admin_name=admin_name.strip(),
            company_name=company_name.strip(),
            country=country,
            tax_id=tax_id,
            plan=plan,
            locale=locale,
            expires_at=now + LINK_LIFETIME,
        )
        db.session.add(signup)
        db.session.flush()
        audit.record("platform.signup_requested", subject=f"signup:{email}", signup=signup.id)
        send_email(
            email,
            "signup_verify",
            tenant=None,
            locale=locale,
            signup=signup,
            hours=int(LINK_LIFETIME.total_seconds() // 3600),
            link=absolute_url("signup.confirm", token=raw),
            color=DEFAULT_PRIMARY,  # no tenant's colour yet
        )
    return 0


def _usable(raw: str):
    return (
        Signup.token_hash == digest(raw or ""),
        Signup.used_at.is_(None),
        Signup.expires_at > clock.now(),
    )


def pending_signup(raw: str) -> Signup | None:
    """The sign-up a still-valid link verifies; reading never spends it (GET, HEAD)."""
    return db.session.scalars(select(Signup).where(*_usable(raw))).first()


def pending_signups() -> list[Signup]:
    """Sign-ups waiting for their email to be verified, oldest first (the platform console)."""
    return list(
        db.session.scalars(
            select(Signup)
            .where(Signup.used_at.is_(None), Signup.expires_at > clock.now())
            .order_by(Signup.created_at)
        )
    )


def forget_stale_signups() -> int:
    """Delete sign-ups whose link expired unused more than STALE_AFTER ago (`flask daily`):
    they hold a person's name and address that nobody confirmed. Returns how many."""
    result = db.session.execute(
        delete(Signup).where(
            Signup.used_at.is_(None), Signup.expires_at < clock.now() - STALE_AFTER
        )
    )
    return cast("CursorResult[Any]", result).rowcount


def complete(raw: str, password: str):
    """Spend the link and create the tenant: (tenant, owner), or None when the link no
    longer works (used, replaced, expired). Raises SignupError("tax_id_taken") when
    another sign-up of the same tax id got its portal first; the caller rolls back.

    The caller has checked the password's strength, so a weak one leaves the link usable.
    """
    found = pending_signup(raw)
    if found is None:
        return None
    # One sign-up of a tax id at a time: of two pending sign-ups of one company, the
    # first to verify gets the portal (the unique index is the last guard).
    with one_at_a_time(f"signup_tax_id:{found.country}:{found.tax_id}"):
        if not claim(Signup, *_usable(raw), used_at=clock.now()):
            return None  # another request used it a moment ago
        if tax_id_owner(found.country, found.tax_id):
            raise SignupError("tax_id_taken")
        tenant = _new_tenant(found)
        with as_tenant(tenant):
            db.session.add(Company(tax_id=found.tax_id, name=found.company_name, kind="issuer"))
            try:
                owner = create_user(
                    tenant,
                    None,
                    name=found.admin_name,
                    email=found.email,
                    password=password,
                    role="admin",
                )
            except UserError as refused:
                # create_user checks the password against the username it makes; the page
                # checked it against the address. Should they ever disagree, the person
                # sees the reason on the form, not an error page.
                raise SignupError(refused.code, str(refused)) from None
            owner.locale = found.locale if found.locale in tenant.locales else None
            db.session.execute(
                update(Signup)
                .where(Signup.id == found.id)
                .values(created_tenant_id=tenant.id)
                .execution_options(synchronize_session=False)
            )
            audit.record("tenant.signed_up", user_id=owner.id, plan=found.plan)
            email_user(
                owner,
                "signup_welcome",
                tenant=tenant,
                page_locale=found.locale,
                portal_url=absolute_url("site.home", tenant=tenant.slug),
                console_url=absolute_url("console.dashboard", tenant=tenant.slug),
            )
    return tenant, owner


def _new_tenant(signup: Signup) -> Tenant:
    currency, timezone, _label = COUNTRIES[signup.country]
    tenant = Tenant(
        slug=free_slug(signup.company_name),
        name=signup.company_name,
        country=signup.country,
        currency=currency,
        timezone=timezone,
        plan=signup.plan,
        primary_color=DEFAULT_PRIMARY,
        accent_color=None,
        support_phones=[],
        console_settings=[],
        password_max_age_days=0,
        magic_link_minutes=30,
        origin="signup",
        status="active",
        tax_id=signup.tax_id,
        **COUNTRY_DEFAULTS[signup.country],
    )
    db.session.add(tenant)
    db.session.flush()
    return tenant


# --- slugs ----------------------------------------------------------------------------


def slug_of(name: str) -> str:
    """A slug from a company's name: "Ferretería Núñez S.A.S." -> "ferreteria-nunez"."""
    base = LEGAL_FORMS.sub("", name.strip()) or name
    slug = re.sub(r"[^a-z0-9]+", "-", fold(base)).strip("-")[:MAX_SLUG].strip("-")
    return slug or "portal"


def _file_slugs() -> set[str]:
    """Slugs the tenant files claim, synced or not yet: a sign-up never takes one."""
    return {path.parent.name for path in tenant_files(Path(current_app.config["TENANTS_DIR"]))}


def slug_taken(slug: str) -> bool:
    in_use = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None
    return in_use or slug in _file_slugs()


def free_slug(name: str) -> str:
    """slug_of(name), or with -2, -3... when another tenant has it."""
    base = slug_of(name)
    slug, n = base, 1
    while slug_taken(slug):
        n += 1
        slug = f"{base[: MAX_SLUG - len(str(n)) - 1]}-{n}"
    return slug


def can_change_slug(tenant: Tenant) -> bool:
    return tenant.origin == "signup" and tenant.slug_changed_at is None


def change_slug(tenant: Tenant, new_slug: str, by) -> datetime:
    """The tenant's one change of slug (its first was derived from its name); old links
    stop working. Raises SignupError: slug_invalid, slug_taken, slug_changed."""
    new_slug = new_slug.strip().lower()
    if not can_change_slug(tenant):
        raise SignupError("slug_changed")
    if not SLUG_RE.match(new_slug) or len(new_slug) < 3:
        raise SignupError("slug_invalid")
    if new_slug == tenant.slug:
        raise SignupError("slug_same")
    with one_at_a_time(f"slug:{new_slug}"):
        if slug_taken(new_slug):
            raise SignupError("slug_taken")
        old, tenant.slug = tenant.slug, new_slug
        tenant.slug_changed_at = clock.now()
        db.session.flush()
        audit.record("tenant.slug_changed", user_id=by.id, old=old, new=new_slug)
    return tenant.slug_changed_at

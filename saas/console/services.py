"""The staff console: dashboard figures, settings (the invoices search is in
`console.search`, bulk uploads in `console.uploads`).

Reads start from `portal.visibility.staff_invoices(user)`, the one scope of what a staff
user may see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import func, or_, select

from saas import audit, clock, textsearch
from saas.audit import AuditEvent
from saas.auth.models import User
from saas.companies import Company, membership
from saas.console.audit_texts import mentioned_users
from saas.extensions import db
from saas.portal import visibility
from saas.portal.models import Invoice, MonthlyTally, PendingTally
from saas.storage import get_storage, tenant_key

# --- dashboard ---------------------------------------------------------------------


@dataclass
class Dashboard:
    months: list[tuple[date, int]]  # first day of month, invoices published that month
    downloaded: int
    pending: int
    issuers: list[tuple[str, int, int]]  # issuer name, invoices, still pending

    @property
    def total(self) -> int:
        return self.downloaded + self.pending


def _month_start(day: date, back: int) -> date:
    month = day.month - back
    year = day.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1)


def dashboard(user: User, months: int = 12) -> Dashboard:
    """Invoices published per month (last `months`), downloaded against pending, per issuer.

    Read from the tallies the database keeps (MonthlyTally, PendingTally: migration
    0015): three statements over a row per issuer and month, or per issuer and customer,
    never over the invoices themselves.
    """
    today = clock.now().date()
    starts = [_month_start(today, back) for back in range(months - 1, -1, -1)]
    in_scope = visibility.staff_issuers_rule(user, MonthlyTally.issuer_company_id)
    counted = dict(
        db.session.execute(
            select(MonthlyTally.month, func.sum(MonthlyTally.invoices))
            .where(in_scope, MonthlyTally.month >= starts[0])
            .group_by(MonthlyTally.month)
        ).all()
    )
    series = [(month, int(counted.get(month, 0))) for month in starts]
    # The ten issuers with the most invoices, and (a window over every group, taken
    # before the LIMIT) the invoices of all of them.
    invoices = func.sum(MonthlyTally.invoices)
    top = db.session.execute(
        select(Company.id, Company.name, invoices, func.sum(invoices).over())
        .join(Company, Company.id == MonthlyTally.issuer_company_id)
        .where(in_scope)
        .group_by(Company.id, Company.name)
        .having(invoices > 0)
        .order_by(invoices.desc(), Company.name)
        .limit(10)
    ).all()
    total = int(top[0][3]) if top else 0
    pending_rows = db.session.execute(
        select(PendingTally.issuer_company_id, func.sum(PendingTally.pending))
        .where(visibility.staff_issuers_rule(user, PendingTally.issuer_company_id))
        .group_by(PendingTally.issuer_company_id)
    ).all()
    # Rows of SQL functions are typed Row[Any, ...]: the casts say what the columns are.
    pending_by_issuer = {
        issuer: int(n) for issuer, n in cast("list[tuple[int, int]]", pending_rows)
    }
    pending = sum(pending_by_issuer.values())
    return Dashboard(
        months=series,
        # Downloaded: every file of the invoice (Invoice.downloaded), not just one of them.
        downloaded=total - pending,
        pending=pending,
        issuers=[
            (name, int(n), pending_by_issuer.get(cid, 0))
            for cid, name, n, _ in cast("list[tuple[int, str, int, int]]", top)
        ],
    )


# --- issuer companies ------------------------------------------------------------------


class CustomerTaxId(ValueError):
    """The tax id is one of the tenant's customers, not an issuer."""


def issuer_companies() -> list[Company]:
    return list(
        db.session.scalars(select(Company).where(Company.kind == "issuer").order_by(Company.name))
    )


def save_issuer_company(tenant, by: User, *, tax_id: str, name: str, email: str | None):
    """Add the issuer company with this (normalised) tax id, or update its name and
    registered email. Raises CustomerTaxId when the tax id is a customer's."""
    company = db.session.scalar(select(Company).where(Company.tax_id == tax_id))
    if company is not None and company.kind != "issuer":
        raise CustomerTaxId(tax_id)
    if company is None:
        company = Company(tenant_id=tenant.id, tax_id=tax_id, kind="issuer", name=name)
        db.session.add(company)
    company.name, company.email = name, email or None
    db.session.flush()
    audit.record("company.saved", user_id=by.id, company=company.id, tax_id=tax_id)
    return company


# --- tenant settings ---------------------------------------------------------------------

SETTING_FIELDS = (
    "name",
    "primary_color",
    "accent_color",
    "support_phones",
    "locales",
    "login_methods",
    "password_reset",
    "onboarding",
    "password_max_age_days",
    "notify_window_minutes",
)


def update_settings(tenant, user: User, values: dict, logo=None, remove_logo=False) -> list[str]:
    """Apply an Administrator's settings at once; returns the names that changed.

    Each changed name is remembered in `tenant.console_settings`, so `flask tenants
    sync` no longer overwrites it from the tenant file. Audit-logged with the changes.
    """
    changed = []
    for name in SETTING_FIELDS:
        if name in values and getattr(tenant, name) != values[name]:
            setattr(tenant, name, values[name])
            changed.append(name)
    if logo is not None:
        data, content_type, ext = logo
        digest = hashlib.sha256(data).hexdigest()[:16]
        key = tenant_key(tenant.id, "branding", f"logo-{digest}{ext}")
        if key != tenant.logo_key:
            get_storage().put(key, data, content_type)
            tenant.logo_key, tenant.logo_content_type = key, content_type
            changed.append("logo")
    elif remove_logo and tenant.logo_key:
        tenant.logo_key = tenant.logo_content_type = None
        changed.append("logo")
    if changed:
        tenant.console_settings = sorted(set(tenant.console_settings or ()) | set(changed))
        audit.record("tenant.settings_changed", user_id=user.id, fields=changed)
    return changed


def customer_scope(user: User) -> list:
    """Customers a staff user may see: all, or those invoiced by the user's companies."""
    if visibility.assigned_issuers(user) is None:
        return []
    invoiced = visibility.staff_invoices(user).with_only_columns(Invoice.customer_company_id)
    return [Company.id.in_(invoiced)]


def customer_rows(user: User) -> Sequence:
    """The Customers page's rows: each customer the user may see, with its recipients'
    count, latest sign-in and first address, and its number of invoices."""
    recipients = (
        select(
            membership.c.company_id,
            func.count(User.id).label("recipients"),
            func.max(User.last_sign_in_at).label("last_sign_in"),
            func.min(User.email).label("email"),
        )
        .join(User, User.id == membership.c.user_id)
        .where(User.kind == "recipient")
        .group_by(membership.c.company_id)
        .subquery()
    )
    invoices = (
        select(Invoice.customer_company_id, func.count(Invoice.id).label("invoices"))
        .group_by(Invoice.customer_company_id)
        .subquery()
    )
    return db.session.execute(
        select(
            Company,
            recipients.c.recipients,
            recipients.c.last_sign_in,
            recipients.c.email,
            invoices.c.invoices,
        )
        .outerjoin(recipients, recipients.c.company_id == Company.id)
        .outerjoin(invoices, invoices.c.customer_company_id == Company.id)
        .where(Company.kind == "customer")
        .where(*customer_scope(user))
        .order_by(Company.name)
    ).all()


def company_recipients(company_ids) -> dict[int, list[User]]:
    """Each company's active recipients, by address: who "Send new access" may reach."""
    rows = db.session.execute(
        select(membership.c.company_id, User)
        .join(User, User.id == membership.c.user_id)
        .where(
            membership.c.company_id.in_(list(company_ids) or [0]),
            User.kind == "recipient",
            User.active.is_(True),
        )
        .order_by(User.email)
    ).all()
    found: dict[int, list[User]] = {}
    # Rows of a column and an entity are typed Row[Any, ...]: the cast says what they are.
    for company_id, user in cast("list[tuple[int, User]]", rows):
        found.setdefault(company_id, []).append(user)
    return found


def resend_target(staff: User, company: Company, recipient_id: int) -> User | None:
    """The recipient of `company` whose access `staff` may send again, or None.

    The company must be one the staff user sees, the person one of its active
    recipients and, for staff limited to some issuers, linked to the whole company or
    through one of those issuers (a link vouched for by another issuer is not theirs).
    """
    if not db.session.scalar(
        select(Company.id).where(
            Company.id == company.id, Company.kind == "customer", *customer_scope(staff)
        )
    ):
        return None
    query = (
        select(User)
        .join(membership, membership.c.user_id == User.id)
        .where(
            membership.c.company_id == company.id,
            User.id == recipient_id,
            User.kind == "recipient",
            User.active.is_(True),
        )
    )
    issuers = visibility.assigned_issuers(staff)
    if issuers is not None:
        query = query.where(
            or_(
                membership.c.issuer_company_id.is_(None),
                membership.c.issuer_company_id.in_([c.id for c in issuers] or [0]),
            )
        )
    return db.session.scalars(query).first()


AUDIT_PAGE = 50


@dataclass
class AuditPage:
    rows: Sequence[AuditEvent]
    more: bool  # another page follows
    names: dict  # user id -> email, for the rows shown
    people: dict  # user id -> name, of everyone the rows shown mention
    events: list  # every event name of the tenant, for the filter


def audit_page(*, event="", who="", start=None, end=None, before=None, search=True) -> AuditPage:
    """One page of the audit log, newest first, filtered by event prefix, user (address
    or username), days and the id the previous page ended at."""
    query = select(AuditEvent)
    if event:
        query = query.where(AuditEvent.event.startswith(event, autoescape=True))
    if who:
        users = select(User.id).where(
            textsearch.contains(func.lower(User.email), who)
            | textsearch.contains(func.lower(User.username), who),
        )
        query = query.where(AuditEvent.user_id.in_(users))
    if start:
        query = query.where(AuditEvent.created_at >= start)
    if end:
        query = query.where(AuditEvent.created_at < date.fromordinal(end.toordinal() + 1))
    if before:
        query = query.where(AuditEvent.id < before)
    rows = (
        db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE + 1)).all()
        if search
        else []
    )
    shown = rows[:AUDIT_PAGE]
    names, people = {}, {}
    for user_id, email, name in db.session.execute(
        select(User.id, User.email, User.name).where(User.id.in_(mentioned_users(shown)))
    ):
        names[user_id], people[user_id] = email, name or email
    events = db.session.scalars(
        select(AuditEvent.event).distinct().order_by(AuditEvent.event)
    ).all()
    return AuditPage(shown, len(rows) > AUDIT_PAGE, names, people, list(events))

"""The staff console: dashboard figures, the invoices search, settings (bulk uploads are
in `console.uploads`).

Reads start from `portal.visibility.staff_invoices(user)`, the one scope of what a staff
user may see.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import ScalarResult, case, func, or_, select

from saas import audit, clock, textsearch
from saas.audit import AuditEvent
from saas.auth.models import User
from saas.companies import Company, membership
from saas.console.audit_texts import mentioned_users
from saas.einvoice.taxids import InvalidTaxId, normalize_tax_id
from saas.extensions import db
from saas.portal import visibility
from saas.portal.models import Invoice
from saas.storage import get_storage, tenant_key
from saas.tenancy import current_tenant

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
    """Invoices published per month (last `months`), downloaded against pending, per issuer."""
    # Downloaded: every file of the invoice (Invoice.downloaded), not just one of them.
    scope = visibility.staff_invoices(user).add_columns(Invoice.downloaded.label("done")).subquery()
    today = clock.now().date()
    first = _month_start(today, months - 1)
    created: ScalarResult[datetime] = db.session.execute(
        select(scope.c.created_at).where(scope.c.created_at >= first)
    ).scalars()
    counts: dict[date, int] = {}
    for moment in created:
        key = date(moment.year, moment.month, 1)
        counts[key] = counts.get(key, 0) + 1
    series = [(m, counts.get(m, 0)) for m in (_month_start(today, b) for b in range(months))]
    series.reverse()
    done_flag = case((scope.c.done, 1), else_=0)
    pending_flag = case((scope.c.done, 0), else_=1)
    # A select() of SQL functions gives rows typed Row[Any, ...], which mypy unpacks as
    # object: the casts say what the columns are (counts and sums of integers).
    totals = db.session.execute(
        select(func.coalesce(func.sum(done_flag), 0), func.coalesce(func.sum(pending_flag), 0))
    ).one()
    downloaded, pending = cast("tuple[int, int]", totals)
    issuers = db.session.execute(
        select(Company.name, func.count(scope.c.id), func.coalesce(func.sum(pending_flag), 0))
        .join(Company, Company.id == scope.c.issuer_company_id)
        .group_by(Company.id, Company.name)
        .order_by(func.count(scope.c.id).desc(), Company.name)
        .limit(10)
    ).all()
    return Dashboard(
        months=series,
        downloaded=int(downloaded),
        pending=int(pending),
        issuers=[
            (name, int(n), int(p)) for name, n, p in cast("list[tuple[str, int, int]]", issuers)
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


# --- the invoices of every customer --------------------------------------------------

PAGE_SIZE = 50


def search_invoices(user: User, *, text="", start=None, end=None, cursor=None):
    """A page of the tenant's invoices, newest first by keyset; `text` matches the
    number, the customer's name or its tax id. Returns (invoices, next_cursor)."""
    query = visibility.staff_invoices(user).where(*visibility.issue_date_range(start, end))
    text = (text or "").strip()
    if text:
        query = query.where(_matches(text))
    return visibility.newest_first(query, cursor, PAGE_SIZE)


def _matches(text: str):
    """The invoices whose number or customer name holds `text` (accents and case aside),
    or whose customer's tax id holds it as typed with dots, spaces or a check digit."""
    needle = textsearch.fold(text)
    by_customer = [textsearch.contains(textsearch.folded(Company.name), needle)]
    compact = textsearch.compact_tax_id(text)
    if compact:
        by_customer.append(textsearch.contains(textsearch.compacted(Company.tax_id), compact))
    with contextlib.suppress(InvalidTaxId):  # a whole tax id in another spelling
        by_customer.append(Company.tax_id == normalize_tax_id(current_tenant.country, text))
    customers = select(Company.id).where(or_(*by_customer))
    return or_(
        textsearch.contains(textsearch.folded(Invoice.number), needle),
        Invoice.customer_company_id.in_(customers),
    )


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

"""The platform console at /platform/: operators see every tenant (with sign-ups still
waiting for their email), suspend or reactivate one, and decide on seat purchases
(activate with the payment reference, after confirming; or reject with a reason).

Platform administrators are not users of any tenant; their session is a separate key
in the signed session cookie (rotated at sign-in), checked against the database on
every request, so deleting an operator ends their access at once.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from saas import audit, clock
from saas.auth.models import User
from saas.auth.passwords import password_problem
from saas.auth.services import normalize_email
from saas.errors import too_many_attempts
from saas.extensions import db
from saas.htmx import render
from saas.platform.forms import ActivatePurchaseForm, RejectPurchaseForm, SuspendTenantForm
from saas.platform.models import PlatformAdmin
from saas.seats import ledger, purchases
from saas.seats.models import SeatPurchase
from saas.seats.staff_accounts import staff_users
from saas.security import hash_password, verify_password
from saas.signup.services import pending_signups
from saas.tenancy.models import Tenant
from saas.tenancy.scoping import as_tenant, span_all_tenants
from saas.tenancy.services import set_status
from saas.throttle import Limit, one_at_a_time, retry_after
from saas.validation import InvalidEmail, email_address, has_control_characters

bp = Blueprint("platform", __name__, template_folder="templates")
# The platform console is about every tenant: its pages say so once, here.
bp.before_request(span_all_tenants)
SESSION_KEY = "platform_admin"
RECENT_DECISIONS = 20
SESSION_STARTED = "platform_since"
SESSION_LIFETIME = timedelta(hours=12)
FAILURES = Limit(("platform.signin_failed",), 5, timedelta(minutes=15))
IP_FAILURES = Limit(("platform.signin_failed",), 20, timedelta(minutes=15))


@bp.app_template_global()
def tenant_status(status: str) -> str:
    return {
        "pending": _("Pending verification"),  # a sign-up whose email is not confirmed yet
        "active": _("Active"),
        "suspended": _("Suspended"),
    }.get(status, status)


@bp.app_template_global()
def tenant_origin(origin: str) -> str:
    return {"file": _("Tenant file"), "signup": _("Sign-up")}.get(origin, origin)


class PlatformError(ValueError):
    pass


def create_platform_admin(*, email: str, name: str, password: str) -> PlatformAdmin:
    try:
        email = email_address(email)
    except InvalidEmail as error:
        raise PlatformError(str(error)) from None
    if not name.strip() or has_control_characters(name):
        raise PlatformError("a name is required, on one line")
    if db.session.scalar(select(PlatformAdmin).where(PlatformAdmin.email == email)):
        raise PlatformError(f"{email} is already a platform administrator")
    problem = password_problem(password, email=email)
    if problem:
        raise PlatformError(problem)
    admin = PlatformAdmin(email=email, name=name.strip(), password_hash=hash_password(password))
    db.session.add(admin)
    db.session.flush()
    audit.record("platform.admin_created", subject=f"platform:{email}")
    return admin


def current_operator() -> PlatformAdmin | None:
    """The operator of this session, if its token is still theirs and not too old."""
    token, started = session.get(SESSION_KEY), session.get(SESSION_STARTED, 0)
    if not token or time.time() - started > SESSION_LIFETIME.total_seconds():
        return None
    return db.session.scalars(
        select(PlatformAdmin).where(PlatformAdmin.session_token == token)
    ).first()


def operators_only(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        g.operator = current_operator()
        if g.operator is None:
            return redirect(url_for("platform.login"))
        return view(*args, **kwargs)

    return wrapped


@bp.route("/platform/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        email = normalize_email(request.form.get("email", ""))
        subject = f"platform:{email}"
        with one_at_a_time(f"platform:{subject}"):
            wait = max(
                retry_after(FAILURES, subject=subject),
                retry_after(IP_FAILURES, ip=request.remote_addr) if request.remote_addr else 0,
            )
            admin = db.session.scalar(select(PlatformAdmin).where(PlatformAdmin.email == email))
            if wait:
                audit.record("platform.signin_throttled", subject=subject)
                return too_many_attempts(wait, form=None, back_url=url_for("platform.login"))
            if verify_password(
                admin.password_hash if admin else None, request.form.get("password", "")
            ):
                session.clear()
                admin.session_token = secrets.token_urlsafe(32)
                session[SESSION_KEY] = admin.session_token
                session[SESSION_STARTED] = int(time.time())
                audit.record("platform.signin", subject=subject)
                return redirect(url_for("platform.index"))
            audit.record("platform.signin_failed", subject=subject)
        error, status = _("The email or password is not correct."), 401
    return render("platform/login.html", status=status, error=error)


@bp.post("/platform/logout")
def logout():
    operator = current_operator()
    if operator is not None:  # the session's token dies with it, wherever it was copied
        operator.session_token = secrets.token_urlsafe(32)
        audit.record("platform.signout", subject=f"platform:{operator.email}")
    session.pop(SESSION_KEY, None)
    return redirect(url_for("platform.login"))


@bp.get("/platform/")
@operators_only
def index():
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.name)).all()
    rows = []
    for tenant in tenants:
        with as_tenant(tenant):  # each summary counts that tenant's seats only
            rows.append((tenant, ledger.plan_of(tenant), ledger.summary(tenant)))
    pending = db.session.scalars(
        select(SeatPurchase)
        .where(SeatPurchase.status == "pending")
        .order_by(SeatPurchase.created_at)
    ).all()
    decided = db.session.scalars(
        select(SeatPurchase)
        .where(SeatPurchase.status != "pending")
        .order_by(SeatPurchase.id.desc())
        .limit(RECENT_DECISIONS)
    ).all()
    active = db.session.scalar(
        select(func.count(SeatPurchase.id)).where(SeatPurchase.status == "active")
    )
    return render(
        "platform/index.html",
        rows=rows,
        pending=pending,
        decided=decided,
        active=active,
        signups=pending_signups(),
    )


def _tenant_or_404(tenant_id: int) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        abort(404)
    return tenant


def _tenant_page(tenant: Tenant, form=None, status=200):
    with as_tenant(tenant):  # its Administrators, whom the operator may call
        admins = [user for user in staff_users() if user.role == "admin"]
    return render(
        "platform/tenant.html",
        status=status,
        t=tenant,
        admins=admins,
        plan=ledger.plan_of(tenant),
        form=form or SuspendTenantForm(formdata=None),
    )


@bp.get("/platform/tenants/<id:tenant_id>")
@operators_only
def tenant(tenant_id: int):
    return _tenant_page(_tenant_or_404(tenant_id))


@bp.post("/platform/tenants/<id:tenant_id>/suspend")
@operators_only
def suspend(tenant_id: int):
    """Suspend a tenant: its pages and API answer 403 until an operator reactivates it."""
    tenant = _tenant_or_404(tenant_id)
    form = SuspendTenantForm()
    if not form.validate():
        return _tenant_page(tenant, form, 422)
    if set_status(tenant, "suspended", operator=g.operator.email, reason=form.reason.data):
        flash(_("%(tenant)s is suspended.", tenant=tenant.name), "success")
    else:
        flash(_("%(tenant)s was already suspended.", tenant=tenant.name), "info")
    return redirect(url_for("platform.tenant", tenant_id=tenant.id), 303)


@bp.post("/platform/tenants/<id:tenant_id>/reactivate")
@operators_only
def reactivate(tenant_id: int):
    tenant = _tenant_or_404(tenant_id)
    if set_status(tenant, "active", operator=g.operator.email):
        flash(_("%(tenant)s is active again.", tenant=tenant.name), "success")
    else:
        flash(_("%(tenant)s was already active.", tenant=tenant.name), "info")
    return redirect(url_for("platform.tenant", tenant_id=tenant.id), 303)


def _purchase_or_404(purchase_id: int) -> SeatPurchase:
    purchase = db.session.get(SeatPurchase, purchase_id)
    if purchase is None:
        abort(404)
    return purchase


def _review(purchase: SeatPurchase, activate_form=None, reject_form=None, status=200):
    """The confirmation page: what is bought, by whom, for how much, and the two decisions."""
    requester = db.session.get(User, purchase.requested_by) if purchase.requested_by else None
    return render(
        "platform/purchase.html",
        status=status,
        purchase=purchase,
        requester=requester,
        until=clock.now() + purchases.PURCHASE_TERM,
        activate_form=activate_form or ActivatePurchaseForm(formdata=None),
        reject_form=reject_form or RejectPurchaseForm(formdata=None),
    )


@bp.get("/platform/purchases/<id:purchase_id>")
@operators_only
def purchase(purchase_id: int):
    return _review(_purchase_or_404(purchase_id))


def _decide(purchase_id: int, form, form_name: str, field: str, decide, bad_text: str, done):
    """An operator's decision on a pending purchase, taken once (purchases.* claim the
    row): the form re-shown with 422 when its one field cannot be used, a flash when
    someone else decided first, else `done()`'s message."""
    purchase = _purchase_or_404(purchase_id)
    if not form.validate():
        return _review(purchase, status=422, **{form_name: form})
    try:
        with as_tenant(purchase.tenant):  # its seats and its Administrators
            decide(purchase, g.operator, form[field].data)
    except ledger.SeatError as problem:
        if problem.code != "not_pending":
            form[field].errors = [bad_text]
            return _review(purchase, status=422, **{form_name: form})
        flash(_("This purchase is no longer pending."), "error")
    else:
        flash(done(purchase), "success")
    return redirect(url_for("platform.index"), 303)


@bp.post("/platform/purchases/<id:purchase_id>/activate")
@operators_only
def activate(purchase_id: int):
    return _decide(
        purchase_id,
        ActivatePurchaseForm(),
        "activate_form",
        "payment_reference",
        purchases.activate_purchase,
        _("Write the reference on one line."),
        lambda purchase: ngettext(
            "%(num)s extra user activated for %(tenant)s.",
            "%(num)s extra users activated for %(tenant)s.",
            purchase.quantity,
            tenant=purchase.tenant.name,
        ),
    )


@bp.post("/platform/purchases/<id:purchase_id>/reject")
@operators_only
def reject(purchase_id: int):
    return _decide(
        purchase_id,
        RejectPurchaseForm(),
        "reject_form",
        "reason",
        purchases.reject_purchase,
        _("Write the reason in plain text."),
        lambda purchase: _("The purchase of %(tenant)s was rejected.", tenant=purchase.tenant.name),
    )

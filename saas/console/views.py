"""The staff console, first pages: customers (with "Resend access") and one-invoice upload."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from saas.auth.models import User, membership
from saas.extensions import db
from saas.htmx import render
from saas.portal import services
from saas.portal.models import Company, Invoice
from saas.tenancy import current_tenant, get_or_404

bp = Blueprint("console", __name__, template_folder="templates")
MAX_UPLOAD = 10 * 1024 * 1024


def staff_only(*roles):
    """Staff with one of `roles` (any staff when none given); others get 403."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.kind != "staff" or (roles and current_user.role not in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


@bp.get("/t/<tenant>/console/customers")
@staff_only()
def customers():
    recipients = (
        select(
            membership.c.company_id,
            func.count(User.id).label("recipients"),
            func.max(User.last_sign_in_at).label("last_sign_in"),
            func.min(User.email).label("email"),
        )
        .join(User, User.id == membership.c.user_id)
        .where(User.tenant_id == current_tenant.id, User.kind == "recipient")
        .group_by(membership.c.company_id)
        .subquery()
    )
    invoices = (
        select(Invoice.customer_company_id, func.count(Invoice.id).label("invoices"))
        .where(Invoice.tenant_id == current_tenant.id)
        .group_by(Invoice.customer_company_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Company,
            recipients.c.recipients,
            recipients.c.last_sign_in,
            recipients.c.email,
            invoices.c.invoices,
        )
        .outerjoin(recipients, recipients.c.company_id == Company.id)
        .outerjoin(invoices, invoices.c.customer_company_id == Company.id)
        .where(Company.tenant_id == current_tenant.id, Company.kind == "customer")
        .order_by(Company.name)
    ).all()
    return render("console/customers.html", rows=rows)


@bp.post("/t/<tenant>/console/customers/<int:company_id>/resend")
@staff_only("admin", "biller", "support")
def resend_access(company_id: int):
    company = get_or_404(Company, company_id)
    people = [u for u in company.users if u.kind == "recipient" and u.active]
    if not people:
        flash(_("%(name)s has no recipient with an email address yet.", name=company.name), "error")
        return redirect(url_for("console.customers"))
    for user in people:
        services.send_access(current_tenant, user)
    db.session.commit()
    flash(
        _(
            "A new access email went to %(emails)s; earlier links no longer work.",
            emails=", ".join(u.email for u in people),
        ),
        "success",
    )
    return redirect(url_for("console.customers"))


@bp.route("/t/<tenant>/console/upload", methods=["GET", "POST"])
@staff_only("admin", "biller")
def upload():
    if request.method == "GET":
        return render("console/upload.html", error=None)
    xml, pdf = request.files.get("xml"), request.files.get("pdf")
    email = (request.form.get("email") or "").strip() or None
    error = None
    if xml is None or not xml.filename:
        error = _("Choose the invoice's XML file.")
    else:
        xml_data = xml.read(MAX_UPLOAD + 1)
        pdf_data = pdf.read(MAX_UPLOAD + 1) if pdf is not None and pdf.filename else None
        if len(xml_data) > MAX_UPLOAD or (pdf_data and len(pdf_data) > MAX_UPLOAD):
            error = _("Files may be at most 10 MB.")
        else:
            try:
                result = services.publish(
                    current_tenant,
                    xml_data,
                    pdf_data,
                    email=email,
                    source="console",
                    user_id=current_user.id,
                )
            except services.PublishError as problem:
                db.session.rollback()
                error = str(problem)
            else:
                numbers = ", ".join(i.number for i in result.invoices)
                if result.any_created:
                    flash(_("Published: %(numbers)s.", numbers=numbers), "success")
                else:
                    flash(
                        _("Already published: %(numbers)s. Nothing changed.", numbers=numbers),
                        "info",
                    )
                return redirect(url_for("console.upload"))
    return render("console/upload.html", status=422, error=error, email=email)

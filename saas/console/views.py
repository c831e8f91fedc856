"""The staff console: dashboard, invoices and customers (its other pages: see
saas.console.blueprint).

Every route names its permission from `saas.permissions` (the one table of who may
do what); the views stay thin and call `console.services`, `console.uploads` and
the portal's services.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from saas.companies import Company
from saas.console import services as console
from saas.console.blueprint import bp, staff
from saas.extensions import db
from saas.htmx import htmx_target, render
from saas.i18n import parse_day
from saas.permissions import requires
from saas.portal import onboarding, visibility
from saas.storage import MIME, serve
from saas.tenancy import current_tenant, get_or_404


@bp.get("/t/<tenant>/console/")
@requires("dashboard.view")
def dashboard():
    return render("console/dashboard.html", stats=console.dashboard(staff()))


@bp.get("/t/<tenant>/console/invoices")
@requires("invoices.view")
def invoices():
    errors: dict[str, str] = {}
    text = (request.args.get("q") or "").strip()
    start, end = parse_day("from", errors), parse_day("to", errors)
    if start and end and start > end:
        errors["to"] = _("The end date is before the start date.")
    rows, next_cursor = [], None
    if not errors:
        rows, next_cursor = console.search_invoices(
            staff(),
            text=text,
            start=start,
            end=end,
            cursor=visibility.decode_cursor(request.args.get("cursor")),
        )
    filters = {"q": text, "from": start, "to": end}
    query = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v}
    context = {
        "rows": rows,
        "errors": errors,
        "text": text,
        "start": start,
        "end": end,
        "filtered": bool(query),
        "next_url": url_for("console.invoices", cursor=next_cursor, **query)
        if next_cursor
        else None,
    }
    partial = (
        "console/_invoice_rows.html" if htmx_target() == "load-more" else "console/_invoices.html"
    )
    return render("console/invoices.html", partial, status=422 if errors else 200, **context)


@bp.get("/t/<tenant>/console/invoices/<id:invoice_id>/<any(pdf, xml):what>")
@requires("invoices.download")
def download(invoice_id: int, what: str):
    invoice = visibility.staff_invoice(staff(), invoice_id)
    key = invoice and (invoice.pdf_key if what == "pdf" else invoice.xml_key)
    if not key:
        abort(404)
    return serve(key, invoice.file_name(what), MIME[what])


@bp.get("/t/<tenant>/console/customers")
@requires("customers.view")
def customers():
    return render("console/customers.html", rows=console.customer_rows(staff()))


@bp.post("/t/<tenant>/console/customers/<id:company_id>/resend")
@requires("customers.resend_access")
def resend_access(company_id: int):
    company = get_or_404(Company, company_id)
    if not db.session.scalar(
        select(Company.id).where(Company.id == company.id, *console.customer_scope(staff()))
    ):
        abort(404)
    people = [u for u in company.users if u.kind == "recipient" and u.active]
    if not people:
        flash(_("%(name)s has no recipient with an email address yet.", name=company.name), "error")
        return redirect(url_for("console.customers"))
    for user in people:
        onboarding.send_access(current_tenant, user)
    flash(
        _(
            "A new access email went to %(emails)s; earlier links no longer work.",
            emails=", ".join(u.email for u in people),
        ),
        "success",
    )
    return redirect(url_for("console.customers"))

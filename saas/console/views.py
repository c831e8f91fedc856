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

from saas import audit, textsearch
from saas.companies import Company
from saas.console import search
from saas.console import services as console
from saas.console.blueprint import bp, staff
from saas.htmx import htmx_target, is_htmx, render
from saas.i18n import parse_day, too_long_message
from saas.permissions import can, requires
from saas.portal import onboarding, reading, visibility
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
    if len(text) > textsearch.MAX_SEARCH:  # refused, not cut: the rest may be what they meant
        errors["q"] = too_long_message(textsearch.MAX_SEARCH)
    start, end = parse_day("from", errors), parse_day("to", errors)
    if start and end and start > end:
        errors["to"] = _("The end date is before the start date.")
    rows, next_cursor = [], None
    if not errors:
        rows, next_cursor = search.search_invoices(
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
        "max_search": textsearch.MAX_SEARCH,
        "oob": is_htmx(),
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
    key = invoice and reading.file_key(invoice, what)
    if not key:
        abort(404)
    return serve(key, invoice.file_name(what), MIME[what])


@bp.get("/t/<tenant>/console/customers")
@requires("customers.view")
def customers():
    rows = console.customer_rows(staff())
    recipients = (
        console.company_recipients(company.id for company, *_cols in rows)
        if can(staff(), "customers.resend_access")
        else {}
    )
    return render("console/customers.html", rows=rows, recipients_of=recipients)


@bp.route(
    "/t/<tenant>/console/customers/<id:company_id>/recipients/<id:recipient_id>/access",
    methods=["GET", "POST"],
)
@requires("customers.resend_access")
def resend_access(company_id: int, recipient_id: int):
    """One recipient's new access, after a confirmation that says what it will do: the
    GET asks (a page, or its form alone for htmx), the POST sends."""
    company = get_or_404(Company, company_id)
    recipient = console.resend_target(staff(), company, recipient_id)
    if recipient is None:
        abort(404)
    if request.method == "GET":
        return render(
            "console/resend_access.html",
            "console/_resend_confirm.html",
            company=company,
            recipient=recipient,
        )
    onboarding.send_access(current_tenant, recipient)
    audit.record("access.resent", user_id=staff().id, target=recipient.id, company=company.id)
    if current_tenant.onboarding == "two_emails":
        message = _(
            "%(email)s got a new access link and a new password; their earlier password "
            "and links no longer work.",
            email=recipient.email,
        )
    else:
        message = _(
            "%(email)s got a link to choose a new password; their earlier links no longer work.",
            email=recipient.email,
        )
    flash(message, "success")
    return redirect(url_for("console.customers"), 303)

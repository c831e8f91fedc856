"""The recipients' portal: invoices, downloads, pending-downloads zip, first access."""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from saas import audit, clock
from saas.auth import services as auth_services
from saas.auth import tokens
from saas.auth.forms import ConfirmForm, NewPasswordForm
from saas.auth.models import User
from saas.auth.passwords import password_problem
from saas.auth.sessions import start_session
from saas.extensions import db
from saas.htmx import htmx_target, is_htmx, render
from saas.i18n import parse_day
from saas.portal import exports, reading, visibility
from saas.portal.models import DownloadEvent, ExportJob, Invoice
from saas.routing import MAX_ID
from saas.storage import MIME, serve
from saas.tenancy import current_tenant

bp = Blueprint("portal", __name__, template_folder="templates")
# The invoice page words the document's own codes (taxes, payment terms).
bp.add_app_template_filter(reading.payment_term_label, "payment_term")
bp.add_app_template_filter(reading.quantity, "quantity")
bp.add_app_template_global(reading.tax_label, "tax_label")
bp.add_app_template_global(reading.tax_id_label, "tax_id_label")
bp.add_app_template_global(reading.kind_title, "kind_label")


def signed_in_user() -> User:
    return current_user._get_current_object()


@bp.get("/t/<tenant>/invoices")
@login_required
def invoices():
    user = signed_in_user()
    companies, links = visibility.companies_and_links(user)
    errors: dict[str, str] = {}
    company_id = request.args.get("company", type=int)
    if company_id not in {c.id for c in companies}:
        company_id = None
    start, end = parse_day("from", errors), parse_day("to", errors)
    if start and end and start > end:
        errors["to"] = _("The end date is before the start date.")
    rows, next_cursor = ([], None)
    links = [link for link in links if company_id in (None, link.company_id)]
    scope = visibility.visible_invoices(user, company_id, links=links)
    if not errors:
        rows, next_cursor = visibility.list_page(
            user,
            scope=scope,
            start=start,
            end=end,
            cursor=visibility.decode_cursor(request.args.get("cursor")),
        )
    filters = {"company": company_id, "from": start, "to": end}
    # Invoices with a file not downloaded yet: what "Pending downloads" zips.
    pending = visibility.pending_count(user, company_id, links=links)
    context = {
        "companies": companies,
        "company_id": company_id,
        "start": start,
        "end": end,
        "errors": errors,
        "rows": rows,
        "next_url": url_for("portal.invoices", cursor=next_cursor, **_query(filters))
        if next_cursor
        else None,
        "pending": pending,
        "filtered": bool(start or end),
        "continuing": bool(request.args.get("cursor")),
    }
    partial = "portal/_rows.html" if htmx_target() == "load-more" else "portal/_list.html"
    context["oob"] = partial == "portal/_list.html" and is_htmx()
    return render("portal/invoices.html", partial, status=422 if errors else 200, **context)


def _query(filters: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v}


@bp.get("/t/<tenant>/invoices/<id:invoice_id>")
@login_required
def invoice(invoice_id: int):
    user = signed_in_user()
    found = visibility.invoice_for(user, invoice_id)
    if found is None:
        abort(404)
    document = reading.document_for(found)
    linked = {}
    if document is not None:
        linked = reading.linked_references(document, visibility.visible_invoices(user))
    return render(
        "portal/invoice.html",
        invoice=found,
        document=document,
        linked=linked,
        qr=reading.qr_svg(document.qr_text) if document and document.qr_text else None,
    )


@bp.get("/t/<tenant>/invoices/<id:invoice_id>/<any(pdf, xml):what>")
@login_required
def download(invoice_id: int, what: str):
    user = signed_in_user()
    found = visibility.invoice_for(user, invoice_id)
    key = None if found is None else reading.file_key(found, what)
    if key is None:
        abort(404)
    visibility.record_download(user, found, what)
    return serve(key, found.file_name(what), MIME[what])


@bp.get("/t/<tenant>/invoices/<id:invoice_id>/attachments/<int:position>")
@login_required
def attachment(invoice_id: int, position: int):
    """A file the issuer embedded in the invoice (FatturaPA's Allegati), as sent."""
    found = visibility.invoice_for(signed_in_user(), invoice_id)
    document = reading.document_for(found) if found is not None else None
    if document is None or not 0 <= position < len(document.attachments):
        abort(404)
    item = document.attachments[position]
    # Always a download, never shown in the page's origin: its content is the sender's.
    response = send_file(
        io.BytesIO(item.data), mimetype=item.media_type, as_attachment=True, download_name=item.name
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/t/<tenant>/invoices/pending")
@login_required
def pending_downloads():
    user = signed_in_user()
    company_id = request.form.get("company", type=int)
    if company_id not in {c.id for c in user.companies}:
        company_id = None
    export = exports.start_export(user, company_id)
    if export is None:
        flash(_("You have downloaded every invoice: nothing is pending."), "info")
        return redirect(
            url_for("portal.invoices", **({"company": company_id} if company_id else {}))
        )
    return redirect(url_for("portal.export", export_id=export.id))


def own_export(export_id: int) -> ExportJob:
    export = db.session.scalars(
        select(ExportJob).where(
            ExportJob.id == export_id,
            ExportJob.user_id == current_user.id,
        )
    ).first()
    if export is None:
        abort(404)
    return export


@bp.get("/t/<tenant>/exports/<id:export_id>")
@login_required
def export(export_id: int):
    found = own_export(export_id)
    return render("portal/export.html", "portal/_export_progress.html", export=found)


@bp.get("/t/<tenant>/exports/<id:export_id>/zip")
@login_required
def export_zip(export_id: int):
    user = signed_in_user()
    found = own_export(export_id)
    if found.status != "done" or not found.zip_key:
        abort(404)
    # Only invoices the user may still see count as downloaded, and of them only the
    # files the zip holds.
    files = found.file_pairs()
    ids = set(
        db.session.scalars(
            visibility.visible_invoices(user)
            .where(Invoice.id.in_({invoice_id for invoice_id, _ in files}))
            .with_only_columns(Invoice.id)
        )
    )
    for invoice_id in sorted(ids):
        db.session.add(
            DownloadEvent(
                tenant_id=user.tenant_id, invoice_id=invoice_id, user_id=user.id, what="zip"
            )
        )
    visibility.mark_downloaded([(i, kind) for i, kind in files if i in ids])
    if found.downloaded_at is None:
        found.downloaded_at = clock.now()
    name = f"{current_tenant.slug}-{found.created_at.date().isoformat()}-{found.id}.zip"
    return serve(found.zip_key, name, MIME["zip"])


# --- first access ------------------------------------------------------------------


@bp.route("/t/<tenant>/access/<token>", methods=["GET", "POST"])
def access(token: str):
    """The activation email's one-time link: leads to sign-in with the username filled in."""
    form = ConfirmForm()
    if request.method in ("GET", "HEAD"):
        found = tokens.peek("access_link", token)
        if found is None:
            return render("portal/access_invalid.html", status=410)
        user = db.session.get(User, found.user_id)
        return render("portal/access.html", form=form, user=user)
    if not form.validate():
        abort(400)
    used = tokens.consume("access_link", token)
    if used is None:
        return render("portal/access_invalid.html", status=410)
    user = db.session.get(User, used.user_id)
    audit.record("access_link.used", user_id=user.id)
    flash(_("Sign in with the password we sent you in a second email."), "info")
    return redirect(url_for("auth.login", login=user.username))


@bp.route("/t/<tenant>/welcome/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """The set-password link: the recipient chooses a password and is signed in."""
    found = tokens.peek("set_password", token)
    if found is None:
        return render("portal/access_invalid.html", status=410)
    user = db.session.get(User, found.user_id)
    form = NewPasswordForm()
    if request.method == "POST":
        valid = form.validate()
        # The password's own rules are checked with the rest: every mistake at once.
        problem = None
        if form.new_password.data and not form.new_password.errors:
            problem = password_problem(
                form.new_password.data, email=user.email, username=user.username
            )
            if problem:
                form.new_password.errors.append(problem)
        if valid and not problem:
            if tokens.consume("set_password", token) is None:
                return render("portal/access_invalid.html", status=410)
            auth_services.change_password(user, form.new_password.data, reason="first access")
            audit.record("access_link.used", user_id=user.id)
            start_session(user, method="set_password_link")
            return redirect(url_for("portal.invoices"))
        return render("portal/set_password.html", status=422, form=form, user=user)
    return render("portal/set_password.html", form=form, user=user)


@bp.app_template_global()
def id_url(endpoint: str, invoice_id: int, **values) -> str:
    """`url_for(endpoint, invoice_id=invoice_id, **values)`, built once per page and
    endpoint and then filled with each row's id: a list builds three URLs per row."""
    # Kept with the request (not `g`, which an app context may share between requests).
    cache = request.environ.setdefault("saas.id_urls", {})
    key = (endpoint, tuple(sorted(values.items())))
    if key not in cache:
        cache[key] = url_for(endpoint, invoice_id=MAX_ID, **values).rpartition(str(MAX_ID))
    head, _, tail = cache[key]
    return f"{head}{int(invoice_id)}{tail}"

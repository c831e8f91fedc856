"""The staff console: dashboard, invoices, customers, uploads, API keys, settings, audit.

Every route names its permission from `saas.permissions` (the one table of who may
do what); the views stay thin and call `console.services`, `console.uploads` and
the portal's services.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectChoice

from saas import audit
from saas.api import services as api_services
from saas.audit import AuditEvent
from saas.auth import apikeys
from saas.auth.models import ApiKey, User, membership
from saas.auth.services import reauthenticate
from saas.auth.views import current_device
from saas.console import services as console
from saas.console import uploads as bulk
from saas.console.forms import SettingsForm
from saas.einvoice import MAX_BYTES
from saas.errors import render_error
from saas.extensions import db
from saas.htmx import htmx_target, render
from saas.i18n import LANGUAGE_NAMES, phone_label, platform_locales
from saas.permissions import ROLE_LABELS, can, requires
from saas.portal import onboarding, publishing, visibility
from saas.portal.models import Company, Invoice
from saas.portal.views import MIME, parse_day, serve
from saas.routing import id_arg
from saas.tenancy import current_tenant, get_or_404
from saas.tenancy.files import LOGIN_METHODS, LOGO_MAX_BYTES, LOGO_TYPES, check_logo

bp = Blueprint("console", __name__, template_folder="templates")
MAX_UPLOAD = MAX_BYTES  # the e-invoice reader's limit, for the PDF too


def staff() -> User:
    return current_user._get_current_object()


@bp.app_context_processor
def permissions():
    return {
        "can": lambda permission: can(current_user, permission),
        "role_label": lambda role: ROLE_LABELS.get(role, role),
    }


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


def invalid_address_message(address: str) -> str:
    return _(
        "The email address %(address)s in the invoice is not valid: the invoice is "
        "published, but no one was told.",
        address=address[:100],
    )


def _customer_scope(user: User) -> list:
    """Customers a staff user may see: all, or those invoiced by the user's companies."""
    if visibility.assigned_issuers(user) is None:
        return []
    invoiced = visibility.staff_invoices(user).with_only_columns(Invoice.customer_company_id)
    return [Company.id.in_(invoiced)]


@bp.get("/t/<tenant>/console/customers")
@requires("customers.view")
def customers():
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
        .where(Company.kind == "customer")
        .where(*_customer_scope(staff()))
        .order_by(Company.name)
    ).all()
    return render("console/customers.html", rows=rows)


@bp.post("/t/<tenant>/console/customers/<id:company_id>/resend")
@requires("customers.resend_access")
def resend_access(company_id: int):
    company = get_or_404(Company, company_id)
    if not db.session.scalar(
        select(Company.id).where(Company.id == company.id, *_customer_scope(staff()))
    ):
        abort(404)
    people = [u for u in company.users if u.kind == "recipient" and u.active]
    if not people:
        flash(_("%(name)s has no recipient with an email address yet.", name=company.name), "error")
        return redirect(url_for("console.customers"))
    for user in people:
        onboarding.send_access(current_tenant, user)
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
@requires("invoices.upload")
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
                result = publishing.publish(
                    current_tenant,
                    xml_data,
                    pdf_data,
                    email=email,
                    source="console",
                    user_id=staff().id,
                )
            except publishing.PublishError as problem:
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
                for address in result.invalid_addresses:
                    flash(invalid_address_message(address), "warning")
                return redirect(url_for("console.upload"))
    return render("console/upload.html", status=422, error=error, email=email)


# --- bulk upload ----------------------------------------------------------------------


def _mb(size: int) -> str:
    """A size in MB (of 1024 * 1024 bytes, as the limits are written), for the locale."""
    return format_decimal(round(size / (1024 * 1024), 1))


def _limits() -> dict:
    """The bulk upload's limits as the pages show them."""
    limits = bulk.upload_limits()
    return {
        "file_size": _mb(limits["file_bytes"]),
        "zip_size": _mb(limits["zip_bytes"]),
        "expanded_size": _mb(limits["expanded_bytes"]),
        "files": format_decimal(limits["files"]),
        "ratio": format_decimal(limits["ratio"]),
    }


UPLOAD_PROBLEMS = {
    "no_files": lambda name, n: _("Choose the files to upload."),
    "too_many": lambda name, n: _("At most %(n)s files at once.", n=n["files"]),
    "unknown_type": lambda name, n: _(
        "%(name)s is not an XML, .p7m, PDF or zip file.", name=name or _("A file")
    ),
    "too_big": lambda name, n: _(
        "%(name)s is too big: invoices and PDFs may be %(file_size)s MB, a zip %(zip_size)s MB.",
        name=name,
        file_size=n["file_size"],
        zip_size=n["zip_size"],
    ),
    "expands_too_much": lambda name, n: _(
        "%(name)s expands to more than %(expanded_size)s MB: split it into smaller zips.",
        name=name,
        expanded_size=n["expanded_size"],
    ),
}


@bp.route("/t/<tenant>/console/uploads", methods=["GET", "POST"])
@requires("invoices.upload")
def uploads():
    if request.method == "POST":
        try:
            batch = bulk.start_upload(staff(), request.files.getlist("files"))
        except bulk.UploadError as problem:
            code, _sep, name = str(problem).partition(":")
            message = UPLOAD_PROBLEMS[code](name, _limits())
            return render("console/uploads.html", status=422, error=message, limits=_limits())
        return redirect(url_for("console.upload_status", batch_id=batch.id), 303)
    return render("console/uploads.html", error=None, limits=_limits())


@bp.get("/t/<tenant>/console/uploads/<id:batch_id>")
@requires("invoices.upload")
def upload_status(batch_id: int):
    batch = bulk.own_upload(staff(), batch_id)
    if batch is None:
        abort(404)
    return render(
        "console/upload_status.html", "console/_upload_progress.html", batch=batch, limits=_limits()
    )


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """A request over MAX_CONTENT_LENGTH on the upload pages: the page again, saying so.
    (Werkzeug refuses it while reading the form, before the view and its sign-in check.)"""
    allowed = current_user.is_authenticated and can(current_user, "invoices.upload")
    if allowed and request.endpoint == "console.uploads":
        message = _(
            "The upload is larger than %(zip_size)s MB, the most one upload may be. Send "
            "fewer files at once or split the zip.",
            zip_size=_limits()["zip_size"],
        )
        return render("console/uploads.html", status=413, error=message, limits=_limits())
    if allowed and request.endpoint == "console.upload":
        return render(
            "console/upload.html", status=413, error=_("Files may be at most 10 MB."), email=None
        )
    return render_error(error)


# --- API keys ("Invio file") ------------------------------------------------------------


def _keys(user: User):
    return db.session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user.id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
    ).all()


@bp.get("/t/<tenant>/console/api")
@requires("api_keys.manage")
def api_keys():
    return render("console/api.html", keys=_keys(staff()), new_key=None, error=None)


@bp.post("/t/<tenant>/console/api/keys")
@requires("api_keys.manage")
def create_api_key():
    user = staff()
    # Re-authentication: a key acts with this user's rights, so the password is asked again,
    # throttled and counted like the sign-in page's.
    check = reauthenticate(
        current_tenant,
        user,
        request.form.get("password") or "",
        request.remote_addr,
        event="api_key.reauth_failed",
        device=current_device(),
    )
    if check.user is None:
        error = _("Your password is not correct.")
        if check.throttled_for:
            minutes = (check.throttled_for + 59) // 60
            error = ngettext(
                "Too many wrong passwords: please wait %(num)s minute before trying again.",
                "Too many wrong passwords: please wait %(num)s minutes before trying again.",
                minutes,
            )
        response = render(
            "console/api.html",
            status=429 if check.throttled_for else 422,
            keys=_keys(user),
            new_key=None,
            error=error,
        )
        if check.throttled_for:
            response.headers["Retry-After"] = str(check.throttled_for)
        return response
    _key, raw = apikeys.create_api_key(user)
    db.session.commit()
    response = render("console/api.html", status=201, keys=_keys(user), new_key=raw, error=None)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/t/<tenant>/console/api/check")
@requires("api_keys.manage")
def check_api_key():
    # Wrong keys checked here count with the API's, against the same per-address limit:
    # the page is no back door for guessing keys.
    wait = api_services.key_failures_wait(request.remote_addr)
    check = apikeys.check_api_key(request.form.get("key"))
    if check.error and wait:
        check = apikeys.KeyCheck(error="throttled", wait=wait)
    elif check.error:
        audit.record("api.key_rejected", user_id=staff().id, reason=check.error, where="console")
    db.session.commit()
    response = render("console/_check.html", "console/_check.html", check=check)
    if check.error == "throttled":
        response.status_code, response.headers["Retry-After"] = 429, str(wait)
    return response


@bp.post("/t/<tenant>/console/api/keys/<id:key_id>/revoke")
@requires("api_keys.manage")
def revoke_api_key(key_id: int):
    key = get_or_404(ApiKey, key_id)
    if key.user_id != staff().id and staff().role != "admin":
        abort(404)
    apikeys.revoke_api_key(key, by=staff())
    db.session.commit()
    flash(_("Key %(prefix)s… revoked: it no longer works.", prefix=key.prefix), "success")
    return redirect(url_for("console.api_keys"), 303)


# --- audit log ----------------------------------------------------------------------------

AUDIT_PAGE = 50


@bp.get("/t/<tenant>/console/audit")
@requires("audit.view")
def audit_log():
    errors: dict[str, str] = {}
    event = (request.args.get("event") or "").strip()
    who = (request.args.get("user") or "").strip().lower()
    start, end = parse_day("from", errors), parse_day("to", errors)
    before = request.args.get("before", type=id_arg)
    query = select(AuditEvent)
    if event:
        query = query.where(AuditEvent.event.like(f"{event}%"))
    if who:
        users = select(User.id).where(
            func.lower(User.email).like(f"%{who}%") | func.lower(User.username).like(f"%{who}%"),
        )
        query = query.where(AuditEvent.user_id.in_(users))
    if start:
        query = query.where(AuditEvent.created_at >= start)
    if end:
        query = query.where(AuditEvent.created_at < date.fromordinal(end.toordinal() + 1))
    if before:
        query = query.where(AuditEvent.id < before)
    rows = (
        []
        if errors
        else db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE + 1)).all()
    )
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    names = dict(
        db.session.execute(
            select(User.id, User.email).where(User.id.in_({r.user_id for r in rows if r.user_id}))
        ).all()
    )
    events = db.session.scalars(
        select(AuditEvent.event).distinct().order_by(AuditEvent.event)
    ).all()
    filters = {k: v for k, v in request.args.items() if k in ("event", "user", "from", "to") and v}
    return render(
        "console/audit.html",
        "console/_audit.html",
        status=422 if errors else 200,
        rows=rows,
        names=names,
        events=events,
        errors=errors,
        next_url=url_for("console.audit_log", before=rows[-1].id, **filters) if more else None,
        filters=filters,
    )


# --- tenant settings ------------------------------------------------------------------------

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ().-]{2,29}$")
MAX_PHONES = 5


def _settings_form() -> SettingsForm:
    tenant = current_tenant
    form = SettingsForm(
        data=None
        if request.method == "POST"
        else {
            "name": tenant.name,
            "primary_color": tenant.primary_color,
            "accent_color": tenant.accent_color or "",
            "locales": list(tenant.locales),
            "default_locale": tenant.default_locale,
            "login_methods": list(tenant.login_methods),
            "password_reset": tenant.password_reset,
            "onboarding": tenant.onboarding,
            "password_max_age_days": tenant.password_max_age_days,
        }
    )
    # All the platform's languages, not the tenant's: one removed can be chosen again.
    choices = [SelectChoice(code, LANGUAGE_NAMES[code]) for code in platform_locales()]
    form.locales.choices = choices
    form.default_locale.choices = choices
    return form


def _posted_phones(errors: list[str]) -> list[dict]:
    """The phone rows of the form; a row with an empty number is removed."""
    old = {p.get("number"): p for p in current_tenant.support_phones}
    phones = []
    labels, numbers = request.form.getlist("phone_label"), request.form.getlist("phone_number")
    for label, number in zip(labels, numbers, strict=False):
        label, number = label.strip()[:60], number.strip()
        if not number:
            continue
        if not PHONE_RE.match(number):
            errors.append(_("%(number)s is not a phone number.", number=number[:30]))
            continue
        kept = old.get(number)
        # A label in several languages (from the tenant file) stays as it is if untouched.
        if kept is not None and phone_label(kept) == label:
            label = kept.get("label", label)
        phones.append({"label": label, "number": number})
    if len(phones) > MAX_PHONES:
        errors.append(_("At most %(n)s support phones.", n=MAX_PHONES))
    return phones


@bp.route("/t/<tenant>/console/settings", methods=["GET", "POST"])
@requires("settings.manage")
def settings():
    tenant = current_tenant
    form = _settings_form()
    errors: list[str] = []
    phones = list(tenant.support_phones)
    if request.method == "POST":
        phones = _posted_phones(errors)
        valid = form.validate()
        if not form.login_methods.data:
            form.login_methods.errors = [_("Keep at least one sign-in method.")]
            valid = False
        if not form.locales.data:
            form.locales.errors = [_("Keep at least one language.")]
            valid = False
        elif form.default_locale.data not in form.locales.data:
            form.default_locale.errors = [_("The default language must be one of the languages.")]
            valid = False
        logo = None
        upload = request.files.get("logo")
        if upload is not None and upload.filename:
            ext = "." + upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
            data = upload.stream.read(LOGO_MAX_BYTES + 1)
            problem = (
                _("The logo must be an SVG or PNG file.")
                if ext not in LOGO_TYPES
                else check_logo(data, ext)
            )
            if problem:
                form.logo.errors = [_("This logo cannot be used: %(problem)s.", problem=problem)]
                valid = False
            else:
                logo = (data, LOGO_TYPES[ext], ext)
        if valid and form.primary_color.data:
            ratios = console.brand_contrast(form.primary_color.data, form.accent_color.data)
            if min(ratios.values()) < 4.5:
                form.primary_color.errors = [
                    _("These colours are hard to read: choose darker or lighter ones.")
                ]
                valid = False
        if valid and not errors:
            locales = [form.default_locale.data] + [
                code for code in form.locales.data if code != form.default_locale.data
            ]
            changed = console.update_settings(
                tenant,
                staff(),
                {
                    "name": form.name.data.strip(),
                    "primary_color": form.primary_color.data.lower(),
                    "accent_color": (form.accent_color.data or "").lower() or None,
                    "support_phones": phones,
                    "locales": locales,
                    "login_methods": [m for m in LOGIN_METHODS if m in form.login_methods.data],
                    "password_reset": form.password_reset.data,
                    "onboarding": form.onboarding.data,
                    "password_max_age_days": form.password_max_age_days.data,
                },
                logo=logo,
                remove_logo=form.remove_logo.data,
            )
            if changed:
                flash(_("Settings saved. They apply now."), "success")
            else:
                flash(_("Nothing changed."), "info")
            return redirect(url_for("console.settings"), 303)
    # The preview shows what was typed when it is a colour, else what is in use now.
    primary = form.primary_color.data or ""
    primary = primary if COLOR_RE.match(primary) else tenant.primary_color
    accent = form.accent_color.data or ""
    accent = accent if COLOR_RE.match(accent) else tenant.accent_color
    return render(
        "console/settings.html",
        status=422 if request.method == "POST" else 200,
        form=form,
        phones=phones,
        phone_errors=errors,
        primary=primary,
        accent=accent,
        ratios=console.brand_contrast(primary, accent),
    )


@bp.post("/t/<tenant>/console/settings/preview")
@requires("settings.manage")
def settings_preview():
    primary = request.form.get("primary_color", "")
    accent = request.form.get("accent_color") or None
    if not COLOR_RE.match(primary) or (accent and not COLOR_RE.match(accent)):
        return render("console/_preview.html", ratios={}, primary=None, accent=None)
    return render(
        "console/_preview.html",
        ratios=console.brand_contrast(primary, accent),
        primary=primary,
        accent=accent,
    )


from saas.console import people as _people  # noqa: E402, F401  Administrator pages, same blueprint

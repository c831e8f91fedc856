"""Console Settings (brand, languages, sign-in, phones) and the audit log."""

from __future__ import annotations

import re

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from saas.console import services as console
from saas.console.blueprint import bp, staff
from saas.console.forms import SettingsForm
from saas.htmx import render
from saas.i18n import LANGUAGE_NAMES, parse_day, phone_label, platform_locales
from saas.permissions import requires
from saas.routing import id_arg
from saas.tenancy import current_tenant
from saas.tenancy.files import LOGIN_METHODS, LOGO_MAX_BYTES, LOGO_TYPES, check_logo


@bp.get("/t/<tenant>/console/audit")
@requires("audit.view")
def audit_log():
    errors: dict[str, str] = {}
    event = (request.args.get("event") or "").strip()
    who = (request.args.get("user") or "").strip().lower()
    start, end = parse_day("from", errors), parse_day("to", errors)
    before = request.args.get("before", type=id_arg)
    page = console.audit_page(
        event=event, who=who, start=start, end=end, before=before, search=not errors
    )
    filters = {k: v for k, v in request.args.items() if k in ("event", "user", "from", "to") and v}
    return render(
        "console/audit.html",
        "console/_audit.html",
        status=422 if errors else 200,
        rows=page.rows,
        names=page.names,
        events=page.events,
        errors=errors,
        next_url=(
            url_for("console.audit_log", before=page.rows[-1].id, **filters) if page.more else None
        ),
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

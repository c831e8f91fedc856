"""Console Settings (brand, languages, sign-in, phones) and the audit log."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from saas.branding import brand_contrast, is_color
from saas.console import audit_texts
from saas.console import services as console
from saas.console.blueprint import bp, staff
from saas.console.forms import SettingsForm
from saas.htmx import is_htmx, render
from saas.i18n import LANGUAGE_NAMES, parse_day, platform_locales, too_long_message
from saas.permissions import requires
from saas.routing import id_arg
from saas.signup.forms import SlugForm
from saas.signup.services import SignupError, can_change_slug, change_slug
from saas.tenancy import current_tenant

MAX_USER_FILTER = 254  # the longest address


@bp.get("/t/<tenant>/console/audit")
@requires("audit.view")
def audit_log():
    errors: dict[str, str] = {}
    event = (request.args.get("event") or "").strip()
    who = (request.args.get("user") or "").strip().lower()
    if len(who) > MAX_USER_FILTER:  # refused, not cut
        errors["user"] = too_long_message(MAX_USER_FILTER)
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
        rows=[
            (row, audit_texts.describe(row, page.people), audit_texts.account(row, page.names))
            for row in page.rows
        ],
        names=page.names,
        events=[(name, audit_texts.event_name(name)) for name in page.events],
        event_names={name: audit_texts.event_name(name) for name in page.events},
        errors=errors,
        max_user=MAX_USER_FILTER,
        oob=is_htmx(),
        next_url=(
            url_for("console.audit_log", before=page.rows[-1].id, **filters) if page.more else None
        ),
        filters=filters,
    )


# --- tenant settings ------------------------------------------------------------------------


def _settings_form(posted: bool = True) -> SettingsForm:
    """The Settings form: what was posted to it, else what is saved now."""
    tenant = current_tenant
    posted = posted and request.method == "POST"
    form = SettingsForm(
        **({} if posted else {"formdata": None}),
        data=None
        if posted
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
            "notify_window_minutes": tenant.notify_window_minutes,
        },
        # Also when posted: a label in several languages is kept if left untouched.
        support_phones=list(tenant.support_phones),
        current_login_methods=list(tenant.login_methods),
    )
    # All the platform's languages, not the tenant's: one removed can be chosen again.
    choices = [SelectChoice(code, LANGUAGE_NAMES[code]) for code in platform_locales()]
    form.locales.choices = choices
    form.default_locale.choices = choices
    return form


@bp.route("/t/<tenant>/console/settings", methods=["GET", "POST"])
@requires("settings.manage")
def settings():
    tenant = current_tenant
    form = _settings_form()
    if form.validate_on_submit():
        changed = console.update_settings(
            tenant, staff(), form.values(), logo=form.logo_file, remove_logo=form.remove_logo.data
        )
        if changed:
            flash(_("Settings saved. They apply now."), "success")
        else:
            flash(_("Nothing changed."), "info")
        return redirect(url_for("console.settings"), 303)
    return _settings_page(form, status=422 if request.method == "POST" else 200)


def _settings_page(form: SettingsForm, slug_form: SlugForm | None = None, status: int = 200):
    tenant = current_tenant
    # The preview shows what was typed when it is a colour, else what is in use now.
    primary = form.primary_color.data
    primary = primary if is_color(primary) else tenant.primary_color
    accent = form.accent_color.data
    accent = accent if is_color(accent) else tenant.accent_color
    return render(
        "console/settings.html",
        status=status,
        form=form,
        slug_form=(slug_form or SlugForm(formdata=None)) if can_change_slug(tenant) else None,
        phones=form.support_phones.data,
        phone_errors=form.support_phones.errors,
        primary=primary,
        accent=accent,
        ratios=brand_contrast(primary, accent),
    )


SLUG_PROBLEMS = {
    "slug_invalid": lambda: _(
        "Use 3 to 63 lower-case letters, digits and hyphens, starting and ending with a "
        "letter or digit."
    ),
    "slug_taken": lambda: _("Another portal has this address."),
    "slug_same": lambda: _("This is the address the portal has now."),
}


@bp.post("/t/<tenant>/console/settings/address")
@requires("settings.manage")
def change_address():
    """A signed-up portal's one change of address (its first was made from its name)."""
    if not can_change_slug(current_tenant):
        flash(_("The portal's address can be changed only once."), "error")
        return redirect(url_for("console.settings"), 303)
    slug_form = SlugForm()
    if slug_form.validate():
        try:
            change_slug(current_tenant, slug_form.slug.data, staff())
        except SignupError as problem:
            slug_form.slug.errors = [SLUG_PROBLEMS[problem.code]()]
        else:
            flash(_("The portal's address is now %(slug)s.", slug=current_tenant.slug), "success")
            return redirect(url_for("console.settings", tenant=current_tenant.slug), 303)
    return _settings_page(_settings_form(posted=False), slug_form, 422)


@bp.post("/t/<tenant>/console/settings/preview")
@requires("settings.manage")
def settings_preview():
    primary = request.form.get("primary_color", "")
    accent = request.form.get("accent_color") or None
    if not is_color(primary) or (accent and not is_color(accent)):
        return render("console/_preview.html", ratios={}, primary=None, accent=None)
    return render(
        "console/_preview.html",
        ratios=brand_contrast(primary, accent),
        primary=primary,
        accent=accent,
    )

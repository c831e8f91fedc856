"""The lost-password pages: by tax id (a customer's recipients) or by email (anyone,
through their own address), and the reset link's page."""

from __future__ import annotations

from flask import request
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from saas.auth import recovery
from saas.auth.forms import (
    TAX_ID_HINTS,
    TAX_ID_PROBLEMS,
    LostPasswordForm,
    ResetPasswordForm,
    TaxIdForm,
)
from saas.auth.passwords import password_problem
from saas.auth.views import NO_STORE, bp, mail_sent, require_method, throttled
from saas.einvoice.taxids import InvalidTaxId
from saas.htmx import render
from saas.tenancy import current_tenant


@bp.route("/t/<tenant>/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """The "forgot your user and/or password?" page: by tax id or by email, per tenant;
    none where people do not sign in with a password."""
    require_method("password")
    # Staff, and anyone who prefers it, may always recover through their own address.
    by_email = request.args.get("by") == "email"
    if current_tenant.password_reset == "tax_id" and not by_email:  # noqa: S105 (a flow name)
        return forgot_by_tax_id()
    return forgot_by_email()


def forgot_by_tax_id():
    form = TaxIdForm()
    form.tax_id.label.text = f"{_('Tax ID')} ({current_tenant.tax_id_label})"
    hint = TAX_ID_HINTS[current_tenant.country]
    if request.method == "POST":
        if not form.validate():
            return render("auth/forgot_tax_id.html", status=422, form=form, hint=hint)
        try:
            tax_id = recovery.clean_tax_id(current_tenant, form.tax_id.data)
        except InvalidTaxId:
            form.tax_id.errors.append(str(TAX_ID_PROBLEMS[current_tenant.country]))
            return render("auth/forgot_tax_id.html", status=422, form=form, hint=hint)
        wait = recovery.request_reset_by_tax_id(
            current_tenant, tax_id, request.remote_addr, str(get_locale())
        )
        if wait:
            return throttled(wait)
        return render(
            "auth/forgot_tax_id_sent.html", hours=int(recovery.RESET_TTL.total_seconds() // 3600)
        )
    return render("auth/forgot_tax_id.html", form=form, hint=hint)


def forgot_by_email():
    form = LostPasswordForm()
    if request.method == "POST":
        if not form.validate():
            return render("auth/forgot_email.html", status=422, form=form)
        wait = recovery.request_reset_by_email(
            current_tenant, form.email.data, request.remote_addr, str(get_locale())
        )
        if wait:
            return throttled(wait)
        return mail_sent(
            "auth/forgot_email_sent.html",
            form.email.data,
            hours=int(recovery.RESET_TTL.total_seconds() // 3600),
        )
    return render("auth/forgot_email.html", form=form)


@bp.route("/t/<tenant>/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """A reset link: GET shows the form (never uses the link); the POST uses it once."""
    require_method("password")
    link = recovery.open_reset_link(token)
    if link is None:
        return render("auth/link_invalid.html", status=410, again="reset"), NO_STORE
    form = ResetPasswordForm()
    form.user.choices = [SelectChoice(u.id, f"{u.name} ({u.username})") for u in link.users]
    if len(link.users) == 1 and form.user.data is None:
        form.user.data = link.users[0].id
    if request.method == "POST":
        valid = form.validate()
        user = next((u for u in link.users if u.id == form.user.data), None)
        # The password's own rules are checked with the rest: every mistake at once.
        problem = None
        if user is not None and form.new_password.data and not form.new_password.errors:
            problem = password_problem(
                form.new_password.data, email=user.email, username=user.username
            )
            if problem:
                form.new_password.errors.append(problem)
        if valid and user is not None and not problem:
            done = recovery.reset_password(token, user.id, form.new_password.data)
            if done is None:
                return render("auth/link_invalid.html", status=410, again="reset"), NO_STORE
            return render("auth/reset_done.html", user=done), NO_STORE
    status = 422 if request.method == "POST" else 200
    return render("auth/reset.html", status=status, form=form, link=link), NO_STORE

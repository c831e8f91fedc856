"""The platform's sign-up pages, /signup: the form, "check your email", and the link that
creates the tenant. On the platform, not inside a tenant: no tenant exists yet."""

from __future__ import annotations

from flask import Blueprint, g, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from saas import transactions
from saas.auth.forms import ChoosePasswordForm
from saas.auth.passwords import password_problem
from saas.auth.sessions import start_session
from saas.auth.webmail import webmail_for
from saas.errors import too_many_attempts
from saas.htmx import render
from saas.plans import PLANS
from saas.signup import services
from saas.signup.forms import TAX_ID_LABELS, SignupForm

bp = Blueprint("signup", __name__, template_folder="templates")


def tax_id_taken_message() -> str:
    # Says that the tax id has a portal, and nothing else: not whose, where, or since when.
    return _(
        "This tax id already has a portal here. If it is your company's, ask its "
        "Administrator to invite you."
    )


@bp.app_template_filter()
def country_name(code: str) -> str:
    """A country in the page's language (CLDR): "IT" -> "Italia"."""
    return get_locale().territories.get(code, code)


def _invalid(status: int = 410, message: str | None = None):
    hours = int(services.LINK_LIFETIME.total_seconds() // 3600)
    return render("signup/invalid.html", status=status, message=message, hours=hours)


def _form_page(form, status=200):
    return render(
        "signup/start.html",
        status=status,
        form=form,
        plans=PLANS,
        tax_id_labels={code: str(label) for code, label in TAX_ID_LABELS.items()},
    )


@bp.route("/signup", methods=["GET", "POST"])
def start():
    form = SignupForm()
    if request.method != "POST":
        return _form_page(form)
    if not form.validate():
        return _form_page(form, 422)
    try:
        wait = services.request_signup(
            company_name=form.company_name.data,
            country=form.country.data,
            tax_id=form.normalized_tax_id,
            admin_name=form.admin_name.data,
            email=form.email.data,
            plan=form.plan.data,
            locale=str(get_locale()),
            ip=request.remote_addr,
        )
    except services.SignupError:
        form.tax_id.errors = [tax_id_taken_message()]
        return _form_page(form, 422)
    if wait:
        return too_many_attempts(
            wait, form=None, back_url=url_for("signup.start"), back_label=_("Back to sign-up")
        )
    # The same page whether the address is new here or not: it was never looked up.
    return render(
        "signup/sent.html",
        email=services.normalize_email(form.email.data),
        webmail=webmail_for(form.email.data),
        hours=int(services.LINK_LIFETIME.total_seconds() // 3600),
    )


@bp.route("/signup/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Opening the link shows the sign-up and asks for a password, spending nothing (mail
    scanners open links); choosing the password spends it and creates the tenant."""
    signup = services.pending_signup(token)
    if signup is None:
        return _invalid()
    form = ChoosePasswordForm()
    page = {
        "signup": signup,
        "plan": PLANS.get(signup.plan),
        "slug": services.free_slug(signup.company_name),
    }
    if request.method != "POST":
        return render("signup/confirm.html", form=form, **page)
    if form.validate():
        problem = password_problem(form.new_password.data, email=signup.email)
        if problem:
            form.new_password.errors.append(problem)
        else:
            try:
                made = services.complete(token, form.new_password.data)
            except services.SignupError as refused:
                transactions.doom()  # the link stays usable; nothing was created
                if refused.code != "tax_id_taken":
                    form.new_password.errors.append(refused.message or refused.code)
                    return render("signup/confirm.html", status=422, form=form, **page)
                return _invalid(409, tax_id_taken_message())
            if made is None:  # another request used it a moment ago
                return _invalid()
            tenant, owner = made
            g.tenant = tenant  # the session starts on the new tenant's pages
            start_session(owner, method="signup")
            return redirect(url_for("console.dashboard", tenant=tenant.slug), 303)
    return render("signup/confirm.html", status=422, form=form, **page)

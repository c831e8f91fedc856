"""Sign-in pages: password, magic link, Google; forced password change; account; sign-out.

The lost-password pages are in recovery_pages, on the same blueprint."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from authlib.integrations.base_client.errors import OAuthError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from joserfc.errors import JoseError
from requests import RequestException
from wtforms import SelectChoice

from saas import audit
from saas.auth import password_age, services, tokens
from saas.auth.forms import (
    ConfirmForm,
    LoginForm,
    MagicLinkForm,
    NewPasswordForm,
    PreferencesForm,
)
from saas.auth.google import google_available, google_client
from saas.auth.models import User
from saas.auth.passwords import password_problem
from saas.auth.sessions import current_device, landing, remember_device, safe_next, start_session
from saas.auth.webmail import webmail_for
from saas.errors import too_many_attempts
from saas.extensions import db, login_manager
from saas.htmx import render
from saas.i18n import LANGUAGE_NAMES, available_locales, set_language_cookie, without_lang
from saas.mail import absolute_url
from saas.security import verify_password
from saas.tenancy import current_tenant, enter_tenant, get_or_404, load_tenant

bp = Blueprint("auth", __name__, template_folder="templates")

# Pages a user who must change their password can still reach.
OPEN_WHILE_CHANGING = {
    "auth.change_password",
    "auth.logout",
    "auth.choose_language",
    "site.theme",
    "site.logo",
    "static",
}
# A reset link's page in its URL must stay out of caches and other sites' referrers.
NO_STORE = {"Cache-Control": "private, no-store"}


def require_method(method: str) -> None:
    """A login method the tenant has not enabled does not exist (404)."""
    if method not in current_tenant.login_methods:
        abort(404)


def login_options() -> dict:
    methods = current_tenant.login_methods
    return {
        "password_enabled": "password" in methods,
        "magic_enabled": "magic_link" in methods,
        "google_enabled": google_available(),
        # Recovery chooses a new password: no password sign-in, nothing to recover.
        "forgot_url": url_for("auth.forgot_password") if "password" in methods else None,
    }


@bp.route("/t/<tenant>/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(landing())
    form = LoginForm(next=request.args.get("next"), login=request.args.get("login"))
    options = login_options()
    status = 200
    if request.method == "POST":
        require_method("password")
        if not form.validate():
            status = 422
        else:
            result = services.authenticate(
                current_tenant,
                form.login.data,
                form.password.data,
                request.remote_addr,
                current_device(),
            )
            if result.user is not None:
                start_session(result.user, remember=form.remember.data, method="password")
                return remember_device(
                    redirect(safe_next(form.next.data) or landing()), result.user
                )
            if result.throttled_for:
                return throttled(result.throttled_for, form, locked=True)
            if result.deactivated:
                return deactivated_page(form)
            form.form_errors.append(_("The email, username or password is not correct."))
            if warning := services.pause_warning(result):
                form.form_errors.append(warning)
            status = 401
    return render("auth/login.html", status=status, form=form, **options)


def deactivated_page(form: LoginForm | None = None):
    """The sign-in page saying the account is deactivated and whom to call: only for
    someone who proved they own it (its password, its Google identity, its link)."""
    return render(
        "auth/login.html",
        status=403,
        form=form or LoginForm(),
        deactivated=True,
        **login_options(),
    )


@bp.route("/t/<tenant>/login/magic", methods=["GET", "POST"])
def magic_request():
    require_method("magic_link")
    form = MagicLinkForm(next=request.args.get("next"))
    if request.method == "POST":
        if not form.validate():
            return render("auth/magic_request.html", status=422, form=form)
        wait = services.request_magic_link(
            current_tenant, form.email.data, request.remote_addr, str(get_locale())
        )
        if wait:
            return throttled(wait)
        return mail_sent(
            "auth/magic_sent.html",
            form.email.data,
            wait=int(services.MAGIC_LINK_SPACING.window.total_seconds()),
            form=MagicLinkForm(email=form.email.data),
        )
    return render("auth/magic_request.html", form=form)


@bp.route("/t/<tenant>/login/magic/<token>", methods=["GET", "POST"])
def magic_link(token: str):
    """GET only shows a button (mail scanners open links); the POST uses the link."""
    require_method("magic_link")
    form = ConfirmForm()
    if request.method in ("GET", "HEAD"):
        if tokens.peek("magic_link", token) is None:
            return render("auth/link_invalid.html", status=410)
        return render("auth/magic_confirm.html", form=form)
    if not form.validate():
        abort(400)
    used = tokens.consume("magic_link", token)
    user = db.session.get(User, used.user_id) if used else None
    if user is None:
        return render("auth/link_invalid.html", status=410)
    if not user.active:  # deactivated since the link was sent to their mailbox
        return deactivated_page()
    audit.record("magic_link.used", user_id=user.id)
    start_session(user, method="magic_link")
    return remember_device(redirect(landing()), user)


@bp.get("/t/<tenant>/login/google")
def google_start():
    if not google_available():
        abort(404)
    start = absolute_url("auth.google_start")
    if urlsplit(start).netloc != request.host:
        # On a tenant's own domain: sign in on the platform host, where the callback is.
        return redirect(start)
    # The tenant travels in this sign-in's own state (`<slug>.<random>`, which authlib
    # still checks against the session), so two sign-ins started in two tabs at two
    # tenants each come back to their own tenant.
    state = f"{current_tenant.slug}.{secrets.token_urlsafe(24)}"
    return google_client().authorize_redirect(
        absolute_url("auth.google_callback"), prompt="select_account", state=state
    )


@bp.get("/auth/google/callback")
def google_callback():
    slug, dot, _random = request.args.get("state", "").partition(".")
    tenant = load_tenant(slug) if dot else None
    if tenant is None:
        abort(404)
    enter_tenant(tenant)
    if not google_available():
        abort(404)
    try:
        token = google_client().authorize_access_token()
    except (OAuthError, JoseError, RequestException, ValueError) as error:
        # Bad state or nonce, a forged or expired ID token, or the provider unreachable.
        current_app.logger.warning("google sign-in failed: %s", error)
        flash(_("Google sign-in did not complete. Please try again."), "error")
        return redirect(url_for("auth.login"))
    info = token.get("userinfo") or {}
    email = services.normalize_email(info.get("email", ""))
    user = services.find_user_by_email(email) if info.get("email_verified") else None
    if user is not None and not user.active:  # Google vouches for the address
        audit.record("google.deactivated", user_id=user.id)
        return deactivated_page()
    if user is None:
        audit.record("google.unknown", subject=f"email:{email}")
        flash(
            _(
                "There is no account for %(email)s at %(tenant)s. Sign in another way or "
                "ask %(tenant)s to invite this address.",
                email=email or "?",
                tenant=tenant.name,
            ),
            "error",
        )
        return redirect(url_for("auth.login"))
    audit.record("google.signin", user_id=user.id)
    start_session(user, method="google")
    return remember_device(redirect(landing()), user)


@bp.route("/t/<tenant>/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    user: User = current_user._get_current_object()
    form = NewPasswordForm()
    forced = user.must_change_password
    if request.method == "POST":
        if form.validate():
            problem = None
            check = None
            if not forced:
                # Throttled like the sign-in page: a stolen session is no way to guess.
                check = services.reauthenticate(
                    current_tenant,
                    user,
                    form.current_password.data or "",
                    request.remote_addr,
                    event="password.reauth_failed",
                    device=current_device(),
                )
            if check is not None and check.throttled_for:
                return throttled(check.throttled_for)
            if check is not None and check.user is None:
                form.current_password.errors.append(_("Your current password is not correct."))
                if warning := services.pause_warning(check):
                    form.current_password.errors.append(warning)
                problem = True
            else:
                problem = password_problem(
                    form.new_password.data, email=user.email, username=user.username
                )
                if not problem and verify_password(user.password_hash, form.new_password.data):
                    problem = _("Choose a password different from your current one.")
                if problem:
                    form.new_password.errors.append(problem)
            if not problem:
                services.change_password(user, form.new_password.data)
                # This session goes on with the new session token; all others ended.
                login_user(user, fresh=True)
                flash(_("Your password has been updated."), "success")
                return redirect(landing())
        status = 422
    else:
        status = 200
    expired = forced and password_age.password_expired(user, current_tenant)
    return render(
        "auth/change_password.html", status=status, form=form, forced=forced, expired=expired
    )


def mail_sent(template: str, email: str, **context):
    """The page after a request that emails a link: the address as it will be written
    to, and a button to the reader's webmail when we know it."""
    return render(
        template,
        email=services.normalize_email(email),
        webmail=webmail_for(email),
        **context,
    )


def throttled(wait: int, form=None, *, locked: bool = False):
    """The 429 page. `locked`: a paused password sign-in, which also names the ways the
    account's owner still gets in."""
    methods = current_tenant.login_methods
    return too_many_attempts(
        wait,
        form=form,
        locked=locked,
        magic_url=url_for("auth.magic_request") if "magic_link" in methods else None,
        google_url=url_for("auth.google_start") if google_available() else None,
        forgot_url=url_for("auth.forgot_password") if "password" in methods else None,
    )


@bp.route("/t/<tenant>/account", methods=["GET", "POST"])
@login_required
def account():
    user: User = current_user._get_current_object()
    form = PreferencesForm(locale=user.locale or current_tenant.default_locale)
    form.locale.choices = [SelectChoice(c, LANGUAGE_NAMES[c]) for c in available_locales()]
    if request.method == "POST":
        if not form.validate():
            return render("auth/account.html", status=422, form=form, user=user)
        user.locale = form.locale.data
        flash(_("Your preferences have been saved."), "success")
        response = redirect(url_for("auth.account"))
        response.delete_cookie("lang")  # the saved preference now decides
        return response
    return render("auth/account.html", form=form, user=user)


@bp.post("/t/<tenant>/language")
@login_required
def choose_language():
    """The header's language picker of a signed-in person (the layout posts it): their
    account's language from now on, so the emails they get follow it too
    (saas.mail.person_locale), and this browser's. Anyone else's picker is plain
    `?lang=` links, remembered in the cookie alone."""
    code = request.form.get("lang", "")
    back = without_lang(safe_next(request.form.get("next")) or landing())
    if code not in available_locales():
        return redirect(back, 303)
    get_or_404(User, current_user.id).locale = code
    return set_language_cookie(redirect(back, 303), code)


@bp.post("/t/<tenant>/logout")
def logout():
    if current_user.is_authenticated:
        user = get_or_404(User, current_user.id)
        # Ends this and every other session of the user, remember-me cookies included.
        services.end_other_sessions(user)
        audit.record("signout", user_id=user.id)
        logout_user()
        # Only when signed in here: the cookie is shared by every tenant on this host,
        # and a sign-out at one portal must not end a session at another.
        session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.app_context_processor
def password_age_banner():
    """The days left before the signed-in user's password expires, while a banner is due."""

    def password_days_left():
        if g.get("tenant") is None or not current_user.is_authenticated:
            return None
        if request.endpoint == "auth.change_password":
            return None
        return password_age.days_left(current_user, g.tenant)

    return {"password_days_left": password_days_left}


@bp.before_app_request
def force_password_change():
    if request.endpoint in OPEN_WHILE_CHANGING or g.get("tenant") is None:
        return None
    if request.blueprint == "api":  # keys, not sessions: the API answers for itself
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


@login_manager.unauthorized_handler
def sign_in_first():
    if g.get("tenant") is None:
        abort(404)
    flash(_("Please sign in to continue."), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

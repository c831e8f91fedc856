"""Console API page: a staff member's keys (created after re-entering the password,
shown once), a credentials check, and revocation."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from saas import audit
from saas.auth import apikeys
from saas.auth.models import ApiKey, User
from saas.auth.services import reauthenticate
from saas.auth.sessions import current_device
from saas.console.blueprint import bp, staff
from saas.extensions import db
from saas.htmx import render
from saas.permissions import requires
from saas.tenancy import current_tenant, get_or_404


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
    response = render("console/api.html", status=201, keys=_keys(user), new_key=raw, error=None)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/t/<tenant>/console/api/check")
@requires("api_keys.manage")
def check_api_key():
    # Wrong keys checked here count with the API's, against the same per-address limit:
    # the page is no back door for guessing keys.
    wait = apikeys.key_failures_wait(request.remote_addr)
    check = apikeys.check_api_key(request.form.get("key"))
    if check.error and wait:
        check = apikeys.KeyCheck(error="throttled", wait=wait)
    elif check.error:
        audit.record("api.key_rejected", user_id=staff().id, reason=check.error, where="console")
    # htmx swaps the result into the page; without JavaScript the whole page shows it.
    response = render(
        "console/api.html",
        "console/_check.html",
        keys=_keys(staff()),
        new_key=None,
        error=None,
        check=check,
    )
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
    flash(_("Key %(prefix)s… revoked: it no longer works.", prefix=key.prefix), "success")
    return redirect(url_for("console.api_keys"), 303)


# --- audit log ----------------------------------------------------------------------------

"""Console API page: a staff member's keys (created after re-entering the password,
shown once), a credentials check, and revocation."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlalchemy import select

from saas import audit, clock
from saas.auth import apikeys
from saas.auth.models import ApiKey, User
from saas.auth.services import pause_warning, reauthenticate
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


# The new key travels from the POST to the page that shows it inside the session,
# encrypted (the session cookie is signed, not secret) and bound to its user; the page
# takes it out as it shows it, so a refresh shows it no more and makes no other key.
NEW_KEY = "console.new_api_key"
NEW_KEY_MINUTES = 10  # a key not shown within this (a lost redirect) is not shown later


def _sealing_key() -> OctKey:
    secret = current_app.config["SECRET_KEY"].encode()
    return OctKey.import_key(hashlib.sha256(b"console.new_api_key\0" + secret).digest())


def _keep_for_display(user: User, key: ApiKey, raw: str) -> None:
    payload = json.dumps({"user": user.id, "key": key.id, "raw": raw}).encode()
    session[NEW_KEY] = jwe.encrypt_compact(
        {"alg": "dir", "enc": "A256GCM"}, payload, _sealing_key()
    )


def _take_for_display(user: User) -> str | None:
    """The raw key the last POST made, once; None if there is none (or it is not this
    user's, or no longer active)."""
    sealed = session.pop(NEW_KEY, None)
    if not sealed:
        return None
    try:
        kept = json.loads(jwe.decrypt_compact(sealed, _sealing_key()).plaintext or b"")
    except (JoseError, ValueError):
        return None
    key = db.session.get(ApiKey, kept.get("key"))
    fresh = key is not None and clock.now() - key.created_at < timedelta(minutes=NEW_KEY_MINUTES)
    if not fresh or key.user_id != user.id or kept.get("user") != user.id or not key.active:
        return None
    return kept.get("raw")


def _page(user: User, *, status: int = 200, new_key: str | None = None, **context):
    context = {"error": None, "password_error": None, "key_error": None, **context}
    response = render(
        "console/api.html", status=status, keys=_keys(user), new_key=new_key, **context
    )
    response.headers["Cache-Control"] = "private, no-store"  # it may hold a key
    return response


@bp.get("/t/<tenant>/console/api")
@requires("api_keys.manage")
def api_keys():
    return _page(staff(), new_key=_take_for_display(staff()))


@bp.post("/t/<tenant>/console/api/keys")
@requires("api_keys.manage")
def create_api_key():
    user = staff()
    password = request.form.get("password") or ""
    if not password:
        return _page(user, status=422, password_error=_("Enter your password."))
    # Re-authentication: a key acts with this user's rights, so the password is asked again,
    # throttled and counted like the sign-in page's.
    check = reauthenticate(
        current_tenant,
        user,
        password,
        request.remote_addr,
        event="api_key.reauth_failed",
        device=current_device(),
    )
    if check.user is None:
        if check.throttled_for:
            minutes = (check.throttled_for + 59) // 60
            error = ngettext(
                "Too many wrong passwords: please wait %(num)s minute before trying again.",
                "Too many wrong passwords: please wait %(num)s minutes before trying again.",
                minutes,
            )
            response = _page(user, status=429, error=error)
            response.headers["Retry-After"] = str(check.throttled_for)
            return response
        error, warning = _("Your password is not correct."), pause_warning(check)
        return _page(user, status=422, password_error=f"{error} {warning}" if warning else error)
    key, raw = apikeys.create_api_key(user)
    _keep_for_display(user, key, raw)
    return redirect(url_for("console.api_keys"), 303)


@bp.post("/t/<tenant>/console/api/check")
@requires("api_keys.manage")
def check_api_key():
    if not (request.form.get("key") or "").strip():
        message = _("Paste the API key to check.")
        # htmx swaps the result's place, right under the field; the page puts it under it.
        return render(
            "console/api.html",
            "console/_check.html",
            status=422,
            keys=_keys(staff()),
            new_key=None,
            error=None,
            password_error=None,
            key_error=message,
            check=None,
        )
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
        password_error=None,
        key_error=None,
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

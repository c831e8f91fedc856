"""Who may do what: the one table of staff permissions, used by every console page and API route.

Four profiles (README, "Users, seats and the platform"):
Administrator (everything), Biller (publish invoices, manage
customers, API keys), Accountant (read and download everything, reports), Support
(recipient access: resend, reset, unlock; invoice metadata). Recipients hold none of
these: they see their own companies' invoices through the portal.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from saas.auth.models import ROLES

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "biller": _l("Biller"),
    "accountant": _l("Accountant"),
    "support": _l("Support"),
}
ROLE_DESCRIPTIONS = {
    "admin": _l("Everything: users, seats, settings, API keys, invoices."),
    "biller": _l("Publishes invoices, manages customers and API keys."),
    "accountant": _l("Reads and downloads every invoice and report."),
    "support": _l("Helps recipients: resends access; sees invoice details."),
}

PERMISSIONS: dict[str, frozenset[str]] = {
    "dashboard.view": frozenset(ROLES),
    "invoices.view": frozenset(ROLES),  # the list and each invoice's metadata
    "invoices.download": frozenset({"admin", "biller", "accountant"}),
    "invoices.upload": frozenset({"admin", "biller"}),
    "customers.view": frozenset(ROLES),
    "customers.resend_access": frozenset({"admin", "biller", "support"}),
    "api_keys.manage": frozenset({"admin", "biller"}),
    "settings.manage": frozenset({"admin"}),
    "audit.view": frozenset({"admin"}),
    "users.manage": frozenset({"admin"}),
    "companies.manage": frozenset({"admin"}),
    "support.answer": frozenset({"admin", "support"}),  # the support requests' queue
    "support.open": frozenset(ROLES),  # any staff user asks Support, as recipients do
}


def can(user, permission: str) -> bool:
    """True when `user` is active staff whose role holds `permission`."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.kind == "staff"
        and user.active
        and user.role in PERMISSIONS[permission]
    )


def requires(permission: str):
    """A view decorator: sign-in first, then 403 unless the user holds `permission`."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorate

"""The audit log in words: each event's name and a sentence about each row ("María
signed in", "Access resent to x@y"), in the reader's language, its details formatted.

The trail itself (saas.audit) keeps codes and ids, which throttles and operators read;
only this page words them. An event without a sentence here (a new one) is still shown,
by its code, with its details as "name: value".
"""

from __future__ import annotations

from collections.abc import Callable

from babel.lists import format_list
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.audit import AuditEvent

# Short names, for the event filter.
EVENT_NAMES = {
    "access.sent": _l("Access sent"),
    "access.resent": _l("Access resent"),
    "access_link.used": _l("Access link used"),
    "api.key_rejected": _l("API key refused"),
    "api_key.created": _l("API key created"),
    "api_key.reauth_failed": _l("Wrong password for an API key"),
    "api_key.revoked": _l("API key revoked"),
    "company.saved": _l("Issuer company saved"),
    "export.abandoned": _l("Zip download abandoned"),
    "export.started": _l("Zip download started"),
    "google.deactivated": _l("Google sign-in of a deactivated user"),
    "google.signin": _l("Signed in with Google"),
    "google.unknown": _l("Unknown Google account"),
    "invoice.published": _l("Invoice published"),
    "invoice.recipient_refused": _l("Recipient refused"),
    "notice.dropped": _l("New-invoice email not sent"),
    "mail.refused": _l("Email refused"),
    "mail.given_up": _l("Email not delivered"),
    "mail.incident": _l("Administrators told that mail is failing"),
    "magic_link.requested": _l("Sign-in link requested"),
    "magic_link.sent": _l("Sign-in link sent"),
    "magic_link.throttled": _l("Sign-in link paused"),
    "magic_link.used": _l("Sign-in link used"),
    "password.changed": _l("Password changed"),
    "password.expired": _l("Password expired"),
    "password.reauth_failed": _l("Wrong current password"),
    "password.reminder_sent": _l("Password reminder sent"),
    "password.replaced": _l("Password replaced"),
    "password.reset": _l("Password reset"),
    "password_reset.requested": _l("Password reset requested"),
    "password_reset.sent": _l("Password reset link sent"),
    "password_reset.throttled": _l("Password reset paused"),
    "seat.assigned": _l("Seat assigned"),
    "seats.activated": _l("Extra users activated"),
    "seats.cancelled": _l("Extra users cancelled"),
    "seats.rejected": _l("Extra users rejected"),
    "seats.expired": _l("Extra users expired"),
    "seats.requested": _l("Extra users requested"),
    "signin.deactivated": _l("Sign-in of a deactivated user"),
    "signin.device_failed": _l("Failed sign-in on a known device"),
    "signin.failed": _l("Failed sign-in"),
    "signin.lock_notice": _l("Sign-in pause notice sent"),
    "signin.succeeded": _l("Signed in"),
    "signin.throttled": _l("Sign-in paused"),
    "signout": _l("Signed out"),
    "support.answered": _l("Support request answered"),
    "support.closed": _l("Support request closed"),
    "support.opened": _l("Support request opened"),
    "support.replied": _l("Support request: the requester wrote again"),
    "tenant.created": _l("Portal created"),
    "tenant.reactivated": _l("Portal reactivated"),
    "tenant.settings_changed": _l("Settings changed"),
    "tenant.signed_up": _l("Portal created by sign-up"),
    "tenant.slug_changed": _l("Portal address changed"),
    "tenant.suspended": _l("Portal suspended"),
    "tenant.updated": _l("Portal updated from its file"),
    "upload.finished": _l("Upload finished"),
    "upload.started": _l("Upload started"),
    "user.created": _l("User created"),
    "user.deactivated": _l("User deactivated"),
    "user.deleted": _l("User deleted"),
    "user.invitation_accepted": _l("Invitation accepted"),
    "user.invited": _l("User invited"),
    "user.reactivated": _l("User reactivated"),
    "user.unseated": _l("User left without a seat"),
    "user.updated": _l("User changed"),
}

# What a setting or a user's field is called on its page (tenant.settings_changed, user.updated).
FIELD_NAMES = {
    "name": _l("Name"),
    "primary_color": _l("Primary colour"),
    "accent_color": _l("Accent colour"),
    "support_phones": _l("Support phones"),
    "locales": _l("Languages"),
    "login_methods": _l("Sign-in methods"),
    "password_reset": _l("Password recovery"),
    "onboarding": _l("Access for new recipients"),
    "password_max_age_days": _l("Password expiry"),
    "logo": _l("Logo"),
    "email": _l("Email"),
    "role": _l("Profile"),
    "companies": _l("Companies"),
    "password": _l("Password"),
    "active": _l("Active"),
}


def event_name(code: str) -> str:
    """An event's name in the reader's language (its code when it has none)."""
    name = EVENT_NAMES.get(code)
    return str(name) if name is not None else code


class _Row:
    """One row's facts, with the names of the people it mentions."""

    def __init__(self, row: AuditEvent, people: dict):
        self.row, self.people, self.data = row, people, row.data or {}

    @property
    def actor(self) -> str:
        if self.row.user_id is not None:
            return self.people.get(self.row.user_id) or _("User #%(id)s", id=self.row.user_id)
        return self.subject or _("Someone")

    @property
    def subject(self) -> str:
        """The account typed or asked for, without its kind ("email:", "user:")."""
        subject = self.row.subject or ""
        kind, colon, rest = subject.partition(":")
        if not colon:
            return subject
        if kind == "user" and rest.isdigit():
            return self.people.get(int(rest)) or _("User #%(id)s", id=rest)
        return rest

    def person(self, key: str) -> str:
        ident = self.data.get(key)
        if not isinstance(ident, int):
            return _("a deleted user")
        return self.people.get(ident) or _("User #%(id)s", id=ident)

    def count(self, key: str) -> int:
        """A recorded count, for choosing the plural (0 when missing)."""
        value = self.data.get(key)
        return int(value) if isinstance(value, int | float) else 0

    def number(self, key: str) -> str:
        value = self.data.get(key)
        return format_decimal(value) if isinstance(value, int | float) else "—"

    def fields(self, key: str = "fields") -> str:
        names = [str(FIELD_NAMES.get(f, f)) for f in self.data.get(key) or ()]
        return format_list(names, locale=get_locale()) if names else "—"

    def text(self, key: str) -> str:
        value = self.data.get(key)
        return "—" if value is None else str(value)


def _signed_in(r: _Row) -> str:
    method = r.data.get("method")
    if method == "password":
        return _("%(who)s signed in with their password.", who=r.actor)
    if method == "magic_link":
        return _("%(who)s signed in with a sign-in link.", who=r.actor)
    if method == "google":
        return _("%(who)s signed in with Google.", who=r.actor)
    if method in ("set_password_link", "access_link"):
        return _("%(who)s signed in with their access link.", who=r.actor)
    return _("%(who)s signed in.", who=r.actor)


def _changed_password(r: _Row) -> str:
    if r.data.get("reason") == "expired":
        return _("%(who)s changed their expired password.", who=r.actor)
    return _("%(who)s changed their password.", who=r.actor)


def _key_rejected(r: _Row) -> str:
    prefix = r.data.get("prefix") or r.data.get("key")
    if prefix:
        return _("A request with API key %(key)s… was refused.", key=prefix)
    return _("A request with an unknown API key was refused.")


def _key_revoked(r: _Row) -> str:
    if r.data.get("key"):
        return _("%(who)s revoked API key %(key)s….", who=r.actor, key=r.data["key"])
    return ngettext(
        "%(count)s API key of %(who)s was revoked.",
        "%(count)s API keys of %(who)s were revoked.",
        r.count("count"),
        count=r.number("count"),
        who=r.actor,
    )


SENTENCES: dict[str, Callable[[_Row], str]] = {
    "access.sent": lambda r: _("Access sent to %(who)s.", who=r.actor),
    "access.resent": lambda r: _(
        "%(who)s resent access to %(target)s.", who=r.actor, target=r.person("target")
    ),
    "access_link.used": lambda r: _("%(who)s opened their access link.", who=r.actor),
    "api.key_rejected": _key_rejected,
    "api_key.created": lambda r: _(
        "%(who)s created API key %(key)s….", who=r.actor, key=r.text("key")
    ),
    "api_key.reauth_failed": lambda r: _(
        "%(who)s typed a wrong password to create an API key.", who=r.actor
    ),
    "api_key.revoked": _key_revoked,
    "company.saved": lambda r: _(
        "%(who)s saved the issuer company %(tax_id)s.", who=r.actor, tax_id=r.text("tax_id")
    ),
    "export.abandoned": lambda r: _("%(who)s left a zip download unfinished.", who=r.actor),
    "export.started": lambda r: ngettext(
        "%(who)s asked for a zip of %(count)s invoice.",
        "%(who)s asked for a zip of %(count)s invoices.",
        r.count("count"),
        who=r.actor,
        count=r.number("count"),
    ),
    "google.deactivated": lambda r: _(
        "%(who)s tried to sign in with Google, but their account is deactivated.", who=r.actor
    ),
    "google.signin": lambda r: _("%(who)s signed in with Google.", who=r.actor),
    "google.unknown": lambda r: _(
        "%(who)s tried to sign in with Google but has no account.", who=r.subject
    ),
    "invoice.published": lambda r: _("%(who)s published an invoice.", who=r.actor),
    "invoice.recipient_refused": lambda r: _(
        "An invoice's address was not made a recipient of %(who)s.", who=r.actor
    ),
    "magic_link.requested": lambda r: _("A sign-in link was asked for %(who)s.", who=r.subject),
    "magic_link.sent": lambda r: _("A sign-in link was sent to %(who)s.", who=r.actor),
    "magic_link.throttled": lambda r: _(
        "Too many sign-in links asked for %(who)s: paused.", who=r.subject
    ),
    "magic_link.used": lambda r: _("%(who)s used a sign-in link.", who=r.actor),
    "mail.refused": lambda r: _(
        "The mail server refused the email to %(who)s for good: %(reason)s",
        who=r.subject,
        reason=str(r.data.get("reason", "")),
    ),
    "mail.given_up": lambda r: ngettext(
        "The email to %(who)s was not delivered after %(num)s attempt.",
        "The email to %(who)s was not delivered after %(num)s attempts.",
        r.count("attempts"),
        who=r.subject,
    ),
    "mail.incident": lambda r: _("The Administrators were emailed that mail is not going out."),
    "notice.dropped": lambda r: _(
        "%(who)s was not emailed about new invoices: the account is inactive or the invoices "
        "are no longer theirs.",
        who=r.actor,
    ),
    "password.changed": _changed_password,
    "password.expired": lambda r: _("The password of %(who)s expired.", who=r.actor),
    "password.reauth_failed": lambda r: _("%(who)s typed a wrong current password.", who=r.actor),
    "password.reminder_sent": lambda r: _(
        "%(who)s was reminded that their password expires soon.", who=r.actor
    ),
    "password.replaced": lambda r: _(
        "The password of %(who)s was replaced by a new access email.", who=r.actor
    ),
    "password.reset": lambda r: _("%(who)s chose a new password with a reset link.", who=r.actor),
    "password_reset.requested": lambda r: _(
        "A password reset was asked for %(who)s.", who=r.subject
    ),
    "password_reset.sent": lambda r: _(
        "A password reset link was sent to %(address)s.", address=r.data.get("to") or r.actor
    ),
    "password_reset.throttled": lambda r: _(
        "Too many password resets asked for %(who)s: paused.", who=r.subject
    ),
    "seat.assigned": lambda r: _("%(target)s got a seat.", target=r.person("target")),
    "seats.activated": lambda r: ngettext(
        "%(count)s extra user was activated.",
        "%(count)s extra users were activated.",
        r.count("quantity"),
        count=r.number("quantity"),
    ),
    "seats.cancelled": lambda r: _("%(who)s cancelled a purchase of extra users.", who=r.actor),
    "seats.expired": lambda r: _("Extra users expired."),
    "seats.rejected": lambda r: _(
        "A purchase of extra users was rejected: %(reason)s", reason=r.text("reason")
    ),
    "seats.requested": lambda r: ngettext(
        "%(who)s asked for %(count)s extra user.",
        "%(who)s asked for %(count)s extra users.",
        r.count("quantity"),
        who=r.actor,
        count=r.number("quantity"),
    ),
    "signin.deactivated": lambda r: _(
        "%(who)s tried to sign in, but their account is deactivated.", who=r.actor
    ),
    "signin.device_failed": lambda r: _(
        "A wrong password was typed for %(who)s on a known device.", who=r.actor
    ),
    "signin.failed": lambda r: _("A wrong password was typed for %(who)s.", who=r.actor),
    "signin.lock_notice": lambda r: _(
        "%(who)s was told that sign-in is paused after wrong passwords.", who=r.actor
    ),
    "signin.succeeded": _signed_in,
    "signin.throttled": lambda r: _(
        "Sign-in for %(who)s is paused after too many wrong passwords.", who=r.actor
    ),
    "signout": lambda r: _("%(who)s signed out.", who=r.actor),
    "support.answered": lambda r: _("%(who)s answered a support request.", who=r.actor),
    "support.closed": lambda r: _("%(who)s closed a support request.", who=r.actor),
    "support.opened": lambda r: _("%(who)s opened a support request.", who=r.actor),
    "support.replied": lambda r: _("%(who)s wrote again on a support request.", who=r.actor),
    "tenant.created": lambda r: _("The portal was created."),
    "tenant.settings_changed": lambda r: _(
        "%(who)s changed the settings: %(fields)s.", who=r.actor, fields=r.fields()
    ),
    "tenant.updated": lambda r: _("The portal was updated from its file."),
    "tenant.signed_up": lambda r: _("%(who)s signed up and created the portal.", who=r.actor),
    "tenant.slug_changed": lambda r: _("%(who)s changed the portal's address.", who=r.actor),
    "tenant.suspended": lambda r: _("The platform suspended the portal."),
    "tenant.reactivated": lambda r: _("The platform reactivated the portal."),
    "upload.finished": lambda r: _(
        "An upload of %(who)s finished: %(imported)s imported, %(present)s already present, "
        "%(errors)s with errors.",
        who=r.actor,
        imported=r.number("imported"),
        present=r.number("present"),
        errors=r.number("errors"),
    ),
    "upload.started": lambda r: ngettext(
        "%(who)s uploaded %(count)s file.",
        "%(who)s uploaded %(count)s files.",
        r.count("files"),
        who=r.actor,
        count=r.number("files"),
    ),
    "user.created": lambda r: _("The user %(who)s was created.", who=r.actor),
    "user.deactivated": lambda r: _(
        "%(who)s deactivated %(target)s.", who=r.actor, target=r.person("target")
    ),
    "user.deleted": lambda r: _(
        "%(who)s deleted the user %(target)s.", who=r.actor, target=r.text("email")
    ),
    "user.invitation_accepted": lambda r: _("%(who)s accepted their invitation.", who=r.actor),
    "user.invited": lambda r: _(
        "%(who)s invited %(target)s.", who=r.actor, target=r.person("target")
    ),
    "user.reactivated": lambda r: _(
        "%(who)s reactivated %(target)s.", who=r.actor, target=r.person("target")
    ),
    "user.unseated": lambda r: _("%(target)s was left without a seat.", target=r.person("target")),
    "user.updated": lambda r: _(
        "%(who)s changed %(target)s: %(fields)s.",
        who=r.actor,
        target=r.person("target"),
        fields=r.fields(),
    ),
}


def describe(row: AuditEvent, people: dict) -> str:
    """A sentence about `row` in the reader's language; `people` maps user ids to names."""
    facts = _Row(row, people)
    sentence = SENTENCES.get(row.event)
    if sentence is not None:
        return sentence(facts)
    details = ", ".join(f"{k}: {v}" for k, v in facts.data.items())
    return f"{row.event} ({details})" if details else row.event


def account(row: AuditEvent, emails: dict) -> str:
    """The User column: the address of who did it, else the account typed or asked for."""
    if row.user_id is not None and row.user_id in emails:
        return emails[row.user_id]
    return _Row(row, emails).subject or "—"


def mentioned_users(rows) -> set[int]:
    """The user ids a page of rows names: who did it and whom it was done to."""
    ids: set[int] = set()
    for row in rows:
        if row.user_id:
            ids.add(row.user_id)
        target = (row.data or {}).get("target")
        if isinstance(target, int):
            ids.add(target)
        kind, _colon, rest = (row.subject or "").partition(":")
        if kind == "user" and rest.isdigit():
            ids.add(int(rest))
    return ids

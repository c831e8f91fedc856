"""Password rules: length and identity checks, and no common passwords. No composition rules."""

from __future__ import annotations

from functools import cache

from flask_babel import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 128


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, from the zxcvbn package's frequency lists."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", username: str = "") -> str | None:
    """Why `password` is refused, in the current language; None when it is fine."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(n)s characters.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(n)s characters.", n=MAX_LENGTH)
    lowered = password.strip().lower()
    identities = {email.lower(), username.lower(), email.lower().partition("@")[0]} - {""}
    if lowered in identities:
        return _("Your password must not be your email or username.")
    if lowered in common_passwords() or lowered.replace(" ", "") in common_passwords():
        return _("This password is too common. Choose one that is harder to guess.")
    return None

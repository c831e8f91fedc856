"""Password rules: length and identity checks, and no common passwords. No composition rules."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from flask_babel import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 128


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, from the zxcvbn package's frequency lists."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


# An identity this short is refused only as a word of its own ("ana2026", "soy ana"):
# anywhere, "ana" would also refuse "sabana" or "banana split". A shorter one only when
# it is the whole password.
SHORT_IDENTITY = 3
_WORDS = re.compile(r"[^\W\d_]+|\d+")  # runs of letters, runs of digits


def _folded(text: str) -> str:
    """Lower case, accents dropped: "Carlos.Ruíz" -> "carlos.ruiz"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _plain(text: str) -> str:
    """Letters and digits only: "Carlos.Ruíz" -> "carlosruiz"."""
    return "".join(c for c in _folded(text) if c.isalnum())


def contains_identity(password: str, *, email: str = "", username: str = "") -> bool:
    """The password holds the username, the email or the email's local part, whatever the
    case, accents or punctuation ("Carlos.Ruiz-2026" holds "carlos.ruiz")."""
    plain, words = _plain(password), set(_WORDS.findall(_folded(password)))
    for identity in {_plain(email), _plain(username), _plain(email.partition("@")[0])}:
        if len(identity) > SHORT_IDENTITY and identity in plain:
            return True
        if len(identity) == SHORT_IDENTITY and identity in words:
            return True
    return False


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
    if contains_identity(password, email=email, username=username):
        return _("Your password must not contain your username or your email address.")
    if lowered in common_passwords() or lowered.replace(" ", "") in common_passwords():
        return _("This password is too common. Choose one that is harder to guess.")
    return None

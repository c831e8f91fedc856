"""What may reach an email header: addresses and names; and support phone numbers.

An address is checked by email-validator (syntax only: no DNS lookup, so an upload or a
test never waits on the network). A name may hold any letter but no control character:
a CR or LF in a tenant's or a company's name would end up in a From or Subject header,
where the standard library refuses it and the message could never be built.
A support phone number (shown at the foot of every page and every email) has one rule,
`is_phone_number`, for the Settings page and the tenant files alike.
"""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

# Line and paragraph separators are not "Cc" but break a header line all the same.
_FORBIDDEN_CATEGORIES = {"Cc", "Zl", "Zp"}
_PHONE = re.compile(r"(?=.{3,30}\Z)\+?[0-9][0-9 ().-]{2,}")
MAX_SUPPORT_PHONES = 5  # a tenant's support phones, at most


class InvalidEmail(ValueError):
    """Not an address mail can be sent to; the message says why (English, for logs)."""


def email_address(value: str) -> str:
    """`value` as the portal stores addresses (ASCII, lower case), or InvalidEmail.

    SMTPUTF8 is not allowed: not every relay speaks it, and an address only some servers
    accept is a message that may never arrive. International domains become punycode.
    Reserved names (.local, localhost...) are refused, except .test, which the demo
    tenants and local setups use (RFC 6761: it never reaches the internet).
    """
    try:
        checked = validate_email(
            value.strip(), check_deliverability=False, allow_smtputf8=False, test_environment=True
        )
    except EmailNotValidError as error:
        raise InvalidEmail(f"{value!r} is not an email address: {error}") from None
    return (checked.ascii_email or checked.normalized).lower()


def is_phone_number(value) -> bool:
    """The one rule for a support phone number, on the Settings page and in tenant files
    alike: 3 to 30 characters in all, the `+` included (the Settings input's maxlength);
    an optional leading `+`, a digit, then at least two more of digits, spaces and
    `( ) . -`. Nothing around it: no leading or trailing space, no line break (the
    Settings page strips what was typed first; a tenant file's value is taken as written).
    """
    return isinstance(value, str) and _PHONE.fullmatch(value) is not None


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in value)


def one_line(value: str) -> str:
    """A name read from a file the portal does not control (an invoice's XML), on one
    line: runs of whitespace and control characters become one space."""
    cleaned = "".join(" " if unicodedata.category(c) in _FORBIDDEN_CATEGORIES else c for c in value)
    return " ".join(cleaned.split())


def plain_text(form, field) -> None:
    """WTForms validator: refuse control characters (line breaks, tabs, NUL...)."""
    if field.data and has_control_characters(field.data):
        raise ValidationError(_l("Use letters, digits and punctuation only, on one line."))


def valid_email(form, field) -> None:
    """WTForms validator: the address must be one mail can be sent to."""
    if field.data:
        try:
            email_address(field.data)
        except InvalidEmail:
            raise ValidationError(_l("This is not an email address.")) from None

"""One rule for the language of an email to a person (saas.mail.person_locale): their
account's language, else the page's that caused it, else the tenant's default, and
never a language the tenant does not offer."""

from types import SimpleNamespace

import pytest

from saas.mail import person_locale

TENANT = SimpleNamespace(locales=["es", "en"], default_locale="es")


@pytest.mark.parametrize(
    "account, page, expected",
    [
        ("en", "es", "en"),  # the account's own choice wins over the page
        (None, "en", "en"),  # no choice yet: the page the request came from
        (None, None, "es"),  # a job with no page: the tenant's default
        ("it", None, "es"),  # a language the tenant stopped offering
        (None, "it", "es"),  # a page language the tenant does not offer
    ],
)
def test_the_language_of_an_email_to_a_person(account, page, expected):
    assert person_locale(SimpleNamespace(locale=account), TENANT, page) == expected

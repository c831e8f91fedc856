"""The plain money formatter (saas.i18n._plain_money) writes exactly what Babel writes,
for every language, region, currency and number of decimals the portal shows."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from saas.i18n import _LETTER_THEN_DIGIT, _money_format

AMOUNTS = [
    Decimal(text)
    for text in (
        "0", "0.004", "0.005", "0.015", "0.025", "1", "12.5", "999.995", "1000", "1234567.891",
        "119000.00", "1000000000000.123456", "0.000001", "5.5", "6.5", "100.125", "100.135",
    )
]  # fmt: skip
rng = random.Random(17)
AMOUNTS += [Decimal(rng.randrange(10**12)) / Decimal(10 ** rng.randrange(7)) for _ in range(300)]


@pytest.mark.parametrize("language", ["es", "it", "en", "es_CO", "es_MX", "it_IT"])
@pytest.mark.parametrize("currency", ["COP", "EUR", "MXN", "USD", "JPY"])
@pytest.mark.parametrize("country", [None, "CO", "MX", "IT"])
def test_the_plain_formatter_writes_what_babel_writes(language, currency, country):
    checked = 0
    for decimals in (None, 0, 2, 3, 6):
        locale, pattern, plain = _money_format(language, currency, country, decimals)
        if plain is None:
            continue
        for amount in AMOUNTS:
            babel = pattern.apply(amount, locale, currency=currency, currency_digits=False)
            assert plain(amount) == _LETTER_THEN_DIGIT.sub("\xa0", babel), (amount, decimals)
            checked += 1
    assert checked  # the portal's own locales all take the plain path

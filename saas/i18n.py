"""Language choice and locale-aware formatting of dates and money.

Order: `?lang=` (then remembered in a cookie), the signed-in person's own language
(User.locale: the header's picker saves it for them, so their emails follow), that
cookie, the tenant's default, the browser's Accept-Language. Only the tenant's
languages are offered on its pages; outside a tenant, every language with a catalog.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from babel import Locale, UnknownLocaleError, numbers
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    get_locale,
    ngettext,
)
from flask_babel import gettext as _
from flask_login import current_user

from saas.extensions import babel

LANG_COOKIE = "lang"
LANGUAGE_NAMES = {"es": "Español", "it": "Italiano", "en": "English"}


def available_locales() -> list[str]:
    """The languages of this page: the tenant's, or every one the platform has."""
    tenant = g.get("tenant")
    return list(tenant.locales) if tenant is not None else platform_locales()


def platform_locales() -> list[str]:
    """Every language the platform is translated into: what a tenant may choose from."""
    return list(current_app.config["LOCALES"])


def select_locale() -> str:
    allowed = available_locales()
    tenant = g.get("tenant")
    if has_request_context():
        chosen = request.args.get("lang")
        if chosen in allowed:
            return chosen
        # Before the cookie: a cookie left from before signing in must not show pages in
        # one language while the person's emails come in another.
        user_locale = getattr(current_user, "locale", None) if current_user else None
        if user_locale in allowed:
            return user_locale
        remembered = request.cookies.get(LANG_COOKIE)
        if remembered in allowed:
            return remembered
    if tenant is not None:
        return tenant.default_locale
    if has_request_context():
        return request.accept_languages.best_match(allowed) or "en"
    return "en"


def select_timezone() -> str | None:
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else None


# Colombian invoices write "$ 1.234.567,89"; CLDR 47 (Babel 2.19) dropped that space from
# es_CO, so the country's own pattern is kept here.
REGIONAL_CURRENCY_PATTERNS = {"es_CO": "¤\xa0#,##0.00"}
_FRACTION = re.compile(r"(?<=0)\.0+")
# CLDR's currencySpacing rule, which Babel does not apply: a currency symbol that ends
# (or starts) with a letter is kept apart from the digits ("COP 1,234.00", not "COP1,234.00").
_LETTER_THEN_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def money(amount, currency: str | None = None, decimals: int | None = None) -> str:
    """An amount in the tenant's currency (or the given one), formatted for the locale.

    ``decimals`` is how many the amount's own document states: an invoice's amounts are
    shown exactly as the legal document gives them (COP 1234567.89 keeps its cents, although
    the peso's usual digits are 0). Without it, the currency's usual digits apply, for
    prices the platform itself sets. In the tenant's own currency the regional conventions
    apply: Spanish for a Colombian tenant writes "$ 1.234.567,89" (es_CO), for a Mexican
    one "$1,234,567.89" (es_MX).
    """
    tenant = g.get("tenant")
    if currency is None:
        currency = tenant.currency if tenant is not None else "EUR"
    regional = tenant.country if tenant is not None and currency == tenant.currency else None
    locale, pattern, plain = _money_format(str(get_locale()), currency, regional, decimals)
    amount = Decimal(amount)
    if plain is not None and amount >= 0:
        return plain(amount)
    text = pattern.apply(amount, locale, currency=currency, currency_digits=False)
    return _LETTER_THEN_DIGIT.sub("\xa0", text)


@functools.lru_cache(maxsize=256)
def _money_format(
    language: str, currency: str, country: str | None, decimals: int | None
) -> tuple[Locale, numbers.NumberPattern, Callable[[Decimal], str] | None]:
    """The locale, parsed pattern and plain formatter `money` formats with: one per
    language, currency, region and decimals, built once (a list formats every row's)."""
    locale = Locale.parse(language)
    if country is not None:
        with contextlib.suppress(UnknownLocaleError, ValueError):  # no such region: keep it
            locale = Locale.parse(f"{locale.language}_{country}")
    if decimals is None:
        decimals = numbers.get_currency_precision(currency)
    pattern = REGIONAL_CURRENCY_PATTERNS.get(str(locale))
    pattern = pattern or locale.currency_formats["standard"].pattern
    pattern = _FRACTION.sub("." + "0" * decimals if decimals > 0 else "", pattern)
    parsed = numbers.parse_pattern(pattern)
    return locale, parsed, _plain_money(parsed, locale, currency, decimals)


def _plain_money(pattern: numbers.NumberPattern, locale: Locale, currency: str, decimals: int):
    """`pattern.apply` for amounts of zero or more, as a format string and two string
    operations: Babel parses the pattern's parts on every call, which was a list page's
    largest single cost. Only for the plain patterns of the portal's locales (groups of
    three, no scaling, no quoted text); anything else, and negative amounts, go to Babel.
    tests/test_money_format.py checks both give the same text."""
    prefix, suffix = pattern.prefix[0], pattern.suffix[0]
    if pattern.grouping != (3, 3) or pattern.scale or pattern.exp_prec or "'" in prefix + suffix:
        return None
    symbol = numbers.get_currency_symbol(currency, locale)
    prefix, suffix = prefix.replace("¤", symbol), suffix.replace("¤", symbol)
    separators = str.maketrans(
        {",": numbers.get_group_symbol(locale), ".": numbers.get_decimal_symbol(locale)}
    )
    spec = f",.{decimals}f"

    def plain(amount: Decimal) -> str:
        text = f"{prefix}{format(amount, spec).translate(separators)}{suffix}"
        return _LETTER_THEN_DIGIT.sub("\xa0", text)

    return plain


def day(value, format: str = "medium") -> str:
    """A date for the locale (the `date` filter): a list shows many rows of the same
    days, each formatted once per page. Datetimes go to Flask-Babel as they are."""
    if type(value) is not date or not has_request_context():
        return format_date(value, format)
    cache = request.environ.setdefault("saas.formatted_days", {})  # this request's
    key = (value, format, str(get_locale()))
    if key not in cache:
        cache[key] = format_date(value, format)
    return cache[key]


def percent(value, decimals: int = 0) -> str:
    """A share (0.5) as the locale writes a percentage ("50 %" in Spanish, "50%" in English
    and Italian), with `decimals` digits after the separator: the locale's own pattern, so
    its spacing and sign stay."""
    pattern = get_locale().percent_formats[None].pattern
    if decimals > 0:
        head, zero, tail = pattern.rpartition("0")
        pattern = f"{head}{zero}.{'0' * decimals}{tail}"
    return format_percent(value, format=pattern)


def language_url(code: str) -> str:
    """This page in another language (other query arguments kept)."""
    from flask import url_for
    from werkzeug.routing import BuildError

    args = {**request.args.to_dict(), "lang": code}
    if request.endpoint and request.url_rule is not None:
        try:
            return url_for(request.endpoint, **(request.view_args or {}), **args)
        except BuildError:  # an error page for a URL that did not resolve
            pass
    return "?" + urlencode(args)


def phone_label(phone: dict) -> str:
    """A support phone's label: text, or a table of language = text."""
    label = phone.get("label", "")
    if isinstance(label, dict):
        return label.get(str(get_locale())) or next(iter(label.values()), "")
    return label


def policy_period(days: int) -> str:
    """How often a policy asks for something: "3 months" for 90 days, else in days."""
    if days % 30 == 0:
        return ngettext("%(num)s month", "%(num)s months", days // 30)
    return ngettext("%(num)s day", "%(num)s days", days)


def remember_language(response):
    lang = request.args.get("lang")
    if lang and lang in available_locales():
        set_language_cookie(response, lang)
    return response


def set_language_cookie(response, lang: str):
    """This browser's language from now on (also after signing out)."""
    if request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def without_lang(path: str) -> str:
    """`path` without its `?lang=`, which would outvote a language just chosen."""
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.after_request(remember_language)
    app.jinja_env.filters.update(
        money=money,
        date=day,
        datetime=format_datetime,
        percent=percent,
        number=format_decimal,
    )
    app.jinja_env.globals.update(
        available_locales=available_locales,
        language_url=language_url,
        phone_label=phone_label,
        policy_period=policy_period,
        language_names=LANGUAGE_NAMES,
        current_locale=lambda: str(get_locale()),
    )


def parse_day(name: str, errors: dict) -> date | None:
    """The query parameter `name` as a date (YYYY-MM-DD); a bad one is put in `errors`."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _("Use a date such as %(example)s.", example="2026-01-31")
        return None


def too_long_message(limit: int) -> str:
    """What a field says when more was typed than it takes (inputs are refused, never cut)."""
    return ngettext("Use at most %(num)s character.", "Use at most %(num)s characters.", limit)

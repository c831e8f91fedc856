"""A tenant's settings as pydantic models: the one set of rules for the tenant file
(`tenants/<slug>/tenant.toml`, saas.tenancy.files) and the Settings page
(saas.console.forms.SettingsForm).

Both models are built from the same field types below, so a value one accepts the other
accepts too. A broken rule raises `PydanticCustomError` with a stable code (`color`,
`phone`, `empty`...) and an English message for operators; the Settings page turns the
code into a sentence in the user's language, the tenant file prints the message.
The catalog languages are given as validation context (`{"locales": {...}}`), and the
sign-in methods this server can serve (`{"login_methods": {...}}`): a set of methods
none of which works here is refused.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from saas.branding import is_color
from saas.einvoice.taxids import InvalidTaxId, normalize_tax_id
from saas.plans import PLANS
from saas.tenancy.models import COUNTRIES
from saas.validation import MAX_SUPPORT_PHONES, has_control_characters, is_phone_number

HOST_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LOGIN_METHODS = ("password", "magic_link", "google")
PASSWORD_RESETS = ("tax_id", "email")
ONBOARDINGS = ("two_emails", "set_password_link")


def _broken(code: str, message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(code, message, context)


def _one_line(value: str) -> str:
    value = value.strip()
    if not value:
        raise _broken("blank", "must not be blank")
    if has_control_characters(value):
        # It may reach an email header (the tenant's name is the sender's name).
        raise _broken("control", "must be on one line, without control characters")
    return value


def _color(value: str) -> str:
    if not is_color(value):
        raise _broken("color", "{value} is not a colour; use #rrggbb", value=repr(value))
    return value.lower()


def _phone(value: str) -> str:
    if not is_phone_number(value):
        raise _broken("phone", "{value} is not a phone number", value=repr(value))
    return value


def _distinct(values: list) -> list:
    if not values:
        raise _broken("empty", "must not be empty")
    if len(set(values)) != len(values):
        raise _broken("twice", "has the same entry twice")
    return values


def _a_way_in(values: list[str], info: ValidationInfo) -> list[str]:
    """At least one of the methods works on this server (the context's `login_methods`,
    saas.config.configured_login_methods): else the portal's sign-in page is empty and
    nobody, its Administrators included, can get in to fix it."""
    served = (info.context or {}).get("login_methods")
    if served is not None and values and not set(values) & set(served):
        raise _broken(
            "no_way_in",
            "{value} leaves no way to sign in: this server has no Google sign-in "
            "(GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set); add password or "
            "magic_link",
            value=repr(values),
        )
    return values


def _catalog_locales(values: list[str], info: ValidationInfo) -> list[str]:
    known = (info.context or {}).get("locales")
    for code in values:
        if known is not None and code not in known:
            raise _broken("no_catalog", "{value} has no translation catalog", value=repr(code))
    return values


def _phone_label(value: Any, info: ValidationInfo) -> Any:
    """Text, or a table of language = text (languages with a catalog)."""
    if isinstance(value, dict):
        known = (info.context or {}).get("locales") or set(value)
        if set(value) - set(known) or not all(
            isinstance(v, str) and v.strip() for v in value.values()
        ):
            raise _broken("label", "must map languages with catalogs to text")
    elif not (isinstance(value, str) and value.strip()):
        raise _broken("label", "must be text, or a table of language = text")
    return value


def _at_most_phones(phones: list) -> list:
    if len(phones) > MAX_SUPPORT_PHONES:
        raise _broken(
            "too_many",
            "has {count} phones; at most {limit}",
            count=len(phones),
            limit=MAX_SUPPORT_PHONES,
        )
    return phones


def _one_of(options) -> AfterValidator:
    def check(value: str) -> str:
        if value not in options:
            raise _broken(
                "choice",
                "{value} is not one of {options}",
                value=repr(value),
                options=", ".join(options),
            )
        return value

    return AfterValidator(check)


def _host(value: str) -> str:
    value = value.lower()
    if not HOST_RE.match(value):
        raise _broken("host", "{value} is not a host name", value=repr(value))
    return value


def _timezone(value: str) -> str:
    if value not in available_timezones():
        raise _broken(
            "timezone", "{value} is not a time zone such as Europe/Rome", value=repr(value)
        )
    return value


def _between(low: int, high: int) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise _broken(
                "range", "{value} is not between {low} and {high}", value=value, low=low, high=high
            )
        return value

    return AfterValidator(check)


Name = Annotated[str, Field(max_length=200), AfterValidator(_one_line)]
Color = Annotated[str, AfterValidator(_color)]
Locales = Annotated[list[str], AfterValidator(_distinct), AfterValidator(_catalog_locales)]
LoginMethods = Annotated[
    list[Annotated[str, _one_of(LOGIN_METHODS)]],
    AfterValidator(_distinct),
    AfterValidator(_a_way_in),
]
PasswordReset = Annotated[str, _one_of(PASSWORD_RESETS)]
Onboarding = Annotated[str, _one_of(ONBOARDINGS)]
PasswordMaxAge = Annotated[int, _between(0, 3650)]
MagicLinkMinutes = Annotated[int, _between(1, 1440)]
NotifyWindowMinutes = Annotated[int, _between(0, 1440)]  # 0: every invoice at once


class _Strict(BaseModel):
    # Strict: a TOML `true` is not the number 1 and 42 is not the text "42".
    model_config = ConfigDict(extra="forbid", strict=True)


class SupportPhone(_Strict):
    label: Annotated[Any, AfterValidator(_phone_label)]
    number: Annotated[str, AfterValidator(_phone)]


SupportPhones = Annotated[list[SupportPhone], AfterValidator(_at_most_phones)]


class TenantSettings(_Strict):
    """What the Settings page saves (SettingsForm.values())."""

    name: Name
    primary_color: Color
    accent_color: Color | None = None
    support_phones: SupportPhones = []
    locales: Locales
    login_methods: LoginMethods
    password_reset: PasswordReset
    onboarding: Onboarding
    password_max_age_days: PasswordMaxAge
    notify_window_minutes: NotifyWindowMinutes = 5


class Branding(_Strict):
    primary_color: Color
    accent_color: Color | None = None
    logo: Annotated[str, AfterValidator(_one_line)] | None = None


class TenantFile(_Strict):
    """A tenant file as written: the same settings, the colours under [branding], and
    what only an operator sets (country, plan, domains, time zone, link lifetime)."""

    name: Name
    country: Annotated[str, _one_of(tuple(COUNTRIES))]
    locales: Locales
    login_methods: LoginMethods = ["password"]
    password_reset: PasswordReset = "email"  # noqa: S105 (a recovery flow, not a secret)
    onboarding: Onboarding = "two_emails"
    password_max_age_days: PasswordMaxAge = 0
    magic_link_minutes: MagicLinkMinutes = 30
    notify_window_minutes: NotifyWindowMinutes = 5
    plan: Annotated[str, _one_of(tuple(PLANS))] = "basic"
    domains: list[Annotated[str, AfterValidator(_host)]] = []
    timezone: Annotated[str, AfterValidator(_timezone)] | None = None
    branding: Branding
    support_phones: SupportPhones = []
    # The company's own tax id: one portal per tax id and country, sign-ups included.
    tax_id: Annotated[str, AfterValidator(_one_line)] | None = None

    @model_validator(mode="after")
    def _tax_id_of_its_country(self) -> TenantFile:
        if self.tax_id is not None:
            try:
                self.tax_id = normalize_tax_id(self.country, self.tax_id)
            except InvalidTaxId as error:
                raise _broken("tax_id", "tax_id: {reason}", reason=str(error)) from None
        return self

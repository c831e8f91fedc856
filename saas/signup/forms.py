"""The sign-up form and the console's one change of slug."""

from __future__ import annotations

import re

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Length

from saas.einvoice.taxids import InvalidTaxId, normalize_tax_id
from saas.plans import PLANS
from saas.tenancy.models import COUNTRIES
from saas.validation import has_control_characters, valid_email

TAX_ID_PROBLEMS = {
    "CO": _l("This is not a valid NIT: check the number and its check digit (e.g. 900123456-8)."),
    "IT": _l("This is not a valid Partita IVA (11 digits) or codice fiscale."),
    "MX": _l("This is not a valid RFC (12 characters for a company, 13 for a person)."),
}
TAX_ID_LABELS = {"CO": _l("NIT"), "IT": _l("Partita IVA"), "MX": _l("RFC")}


def one_line(form, field) -> None:
    if field.data and has_control_characters(field.data):
        raise ValidationError(_l("Use letters, digits and punctuation only, on one line."))


def country_choices() -> list[tuple[str, str]]:
    """The countries the portal reads invoices of, named in the page's language (CLDR)."""
    names = get_locale().territories
    return [(code, names.get(code, code)) for code in COUNTRIES]


class SignupForm(FlaskForm):
    company_name = StringField(
        _l("Company name"),
        validators=[
            DataRequired(message=_l("Write your company's name.")),
            Length(max=200),
            one_line,
        ],
    )
    country = SelectField(_l("Country"), choices=[], validate_choice=True)
    tax_id = StringField(
        _l("Company tax id"),
        validators=[DataRequired(message=_l("Write your company's tax id.")), Length(max=40)],
    )
    admin_name = StringField(
        _l("Your full name"),
        validators=[DataRequired(message=_l("Write your full name.")), Length(max=200), one_line],
    )
    email = EmailField(
        _l("Your work email"),
        validators=[
            DataRequired(message=_l("Write your email address.")),
            Length(max=254),
            valid_email,
        ],
    )
    plan = RadioField(_l("Plan"), choices=[], default="basic", validate_choice=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.plan.choices = [(code, plan.name) for code, plan in PLANS.items()]
        self.normalized_tax_id: str | None = None

    def validate_tax_id(self, field) -> None:
        country = self.country.data
        if country not in COUNTRIES or not field.data:
            return
        try:
            normalized = normalize_tax_id(country, field.data)
        except InvalidTaxId:
            raise ValidationError(TAX_ID_PROBLEMS[country]) from None
        # A NIT must come with its check digit: the taxids module would work it out from
        # the bare number, but a company registering its own NIT writes it whole.
        if country == "CO" and re.sub(r"[^0-9]", "", field.data) != normalized.replace("-", ""):
            raise ValidationError(TAX_ID_PROBLEMS["CO"])
        self.normalized_tax_id = normalized


class SlugForm(FlaskForm):
    slug = StringField(
        _l("Portal address"),
        validators=[DataRequired(message=_l("Write the new address.")), Length(max=63)],
    )

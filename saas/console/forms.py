"""Console forms. Labels are translated when the form is built, in the page's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    ColorField,
    EmailField,
    FileField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from saas.validation import plain_text, valid_email

COLOR = Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Use a colour such as #0b5394."))


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SettingsForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200), plain_text])
    logo = FileField(
        _l("Logo (SVG or PNG, at most 512 KB)"),
        render_kw={"accept": ".svg,.png,image/svg+xml,image/png"},
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    primary_color = ColorField(_l("Primary colour"), validators=[DataRequired(), COLOR])
    accent_color = ColorField(_l("Accent colour"), validators=[Optional(), COLOR])
    locales = CheckboxList(_l("Languages"), choices=[])
    default_locale = SelectField(_l("Default language"), choices=[])
    login_methods = CheckboxList(
        _l("Sign-in methods"),
        choices=[
            SelectChoice("password", _l("Email or username and password")),
            SelectChoice("magic_link", _l("Magic link by email")),
            SelectChoice("google", _l("Google")),
        ],
    )
    password_reset = RadioField(
        _l("Account recovery"),
        choices=[
            SelectChoice("tax_id", _l("By the company's tax ID (link to the registered address)")),
            SelectChoice("email", _l("By email (link to the user's address)")),
        ],
    )
    onboarding = RadioField(
        _l("First access of a new recipient"),
        choices=[
            SelectChoice(
                "two_emails", _l("Two emails: access link with the username, then the password")
            ),
            SelectChoice("set_password_link", _l("One email with a link to choose a password")),
        ],
    )
    password_max_age_days = IntegerField(
        _l("Password age in days (0 = no limit)"),
        validators=[NumberRange(min=0, max=3650)],
        default=0,
    )


class StaffUserForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200), plain_text])
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254), valid_email])
    password = PasswordField(_l("Password"), validators=[Length(max=128)])
    role = RadioField(_l("Profile"), choices=[], validators=[DataRequired()])
    companies = CheckboxList(_l("Companies"), coerce=int, choices=[])


class BuySeatsForm(FlaskForm):
    quantity = IntegerField(
        _l("Extra users"), validators=[DataRequired(), NumberRange(min=1, max=100)], default=1
    )


class CompanyForm(FlaskForm):
    tax_id = StringField(_l("Tax ID"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300), plain_text])
    email = EmailField(
        _l("Registered email"), validators=[Optional(), Length(max=254), valid_email]
    )

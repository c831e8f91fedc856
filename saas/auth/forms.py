"""Sign-in forms. Labels are translated when the form is built, in the page's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length

from saas.auth.passwords import MAX_LENGTH
from saas.validation import valid_email


class LoginForm(FlaskForm):
    login = StringField(_l("Email or username"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember = BooleanField(_l("Remember me"))
    next = HiddenField()


class MagicLinkForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    next = HiddenField()


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the button that turns a link into a session."""

    next = HiddenField()


class ChoosePasswordForm(FlaskForm):
    """A new password typed twice: the base of every form that sets one."""

    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    confirm_password = PasswordField(
        _l("Confirm password"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two passwords do not match.")),
        ],
    )


class NewPasswordForm(ChoosePasswordForm):
    current_password = PasswordField(_l("Current password"))


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[])


class TaxIdForm(FlaskForm):
    """The tax-id recovery request; the label and hint name the country's tax id."""

    tax_id = StringField(_l("Tax ID"), validators=[DataRequired(), Length(max=40)])


class LostPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254), valid_email])


class ResetPasswordForm(ChoosePasswordForm):
    """A reset link's form: which user (tax-id links list a company's users) and the password."""

    user = RadioField(
        _l("User"),
        coerce=int,
        choices=[],
        validators=[DataRequired(message=_l("Choose the user whose password you are restoring."))],
    )


# Per country: what the tax id is called, a hint, and what is wrong when it does not check.
TAX_ID_HINTS = {
    "CO": _l("Your company's NIT, with or without the check digit, for example 900123456-8."),
    "IT": _l("Your company's Partita IVA (11 digits) or Codice fiscale (16 characters)."),
    "MX": _l("Your company's RFC: 12 characters for a company, 13 for a person."),
}
TAX_ID_PROBLEMS = {
    "CO": _l(
        "This is not a valid NIT: check the number and its check digit (for example 900123456-8)."
    ),
    "IT": _l(
        "This is not a valid Partita IVA or Codice fiscale: check every character, the last "
        "one is a check character."
    ),
    "MX": _l(
        "This is not a valid RFC: it has 3 or 4 letters, the 6 digits of a date and 3 letters "
        "or digits (for example ABC010203XY9)."
    ),
}

"""Sign-in forms. Labels are translated when the form is built, in the page's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from saas.auth.passwords import MAX_LENGTH


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


class NewPasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"))
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


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[])

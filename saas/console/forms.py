"""Console forms. Labels are translated when the form is built, in the page's language."""

from __future__ import annotations

import pydantic
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    ColorField,
    EmailField,
    Field,
    FileField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from saas.branding import MIN_TEXT_CONTRAST, brand_contrast
from saas.config import configured_login_methods
from saas.i18n import phone_label
from saas.tenancy.files import LOGO_MAX_BYTES, LOGO_TYPES, check_logo
from saas.tenancy.settings_model import LOGIN_METHODS, TenantSettings
from saas.validation import MAX_SUPPORT_PHONES, plain_text, valid_email


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


MAX_PHONE_LABEL = 60  # characters (the Settings input's maxlength)


class SupportPhonesField(Field):
    """The Settings page's support phones: rows of the inputs `phone_label` and
    `phone_number` that the template writes, not one input named like the field.

    `data` is the list of {"label", "number"} to keep: the tenant's current phones (given
    as `support_phones=` when the form is built) until a form is posted, then the posted
    rows, as typed (SettingsForm.validate checks them). A row with an empty number is
    removed. A label in several languages (from the tenant file) stays as it is if left
    untouched.
    """

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        current = [] if data is unset_value or data is None else list(data)
        self.object_data, self.data, self.raw_data = current, current, None
        if formdata is None:
            return
        old = {p.get("number"): p for p in current}
        labels, numbers = formdata.getlist("phone_label"), formdata.getlist("phone_number")
        self.raw_data, self.data = numbers, []
        for label, number in zip(labels, numbers, strict=False):
            label, number = label.strip(), number.strip()  # too long: refused, not cut
            if not number:
                continue
            kept = old.get(number)
            if kept is not None and phone_label(kept) == label:
                label = kept.get("label", label)
            self.data.append({"label": label, "number": number})

    def pre_validate(self, form):
        if any(len(p["label"]) > MAX_PHONE_LABEL for p in self.data if isinstance(p["label"], str)):
            raise ValidationError(
                _("A support phone's label may have at most %(n)s characters.", n=MAX_PHONE_LABEL)
            )


class SettingsForm(FlaskForm):
    """A tenant's Settings. Once `validate()` is true, `values()` is what to save and
    `logo_file` the new logo as (data, content type, extension), or None."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    logo = FileField(
        _l("Logo (SVG or PNG, at most 512 KB)"),
        render_kw={"accept": ".svg,.png,image/svg+xml,image/png"},
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    primary_color = ColorField(_l("Primary colour"), validators=[DataRequired()])
    accent_color = ColorField(_l("Accent colour"), validators=[Optional()])
    support_phones = SupportPhonesField()
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
        default=0,
    )
    notify_window_minutes = IntegerField(
        _l("Minutes to gather new invoices into one email (0 = an email at once)"),
        default=5,
    )
    logo_file = None

    def __init__(self, *args, current_login_methods=(), **kwargs):
        super().__init__(*args, **kwargs)
        # A method this server cannot serve (Google without its client) is never offered:
        # its box is disabled, whatever is posted for it, and the tenant's own choice of
        # it is kept as it was, so that it works once the server is configured for it.
        self.served_login_methods = configured_login_methods(current_app.config)
        kept = [m for m in current_login_methods if m not in self.served_login_methods]
        chosen = [m for m in self.login_methods.data or () if m in self.served_login_methods]
        self.login_methods.data = [m for m in LOGIN_METHODS if m in chosen or m in kept]

    def validate_logo(self, field):
        """Read the uploaded logo (at most one byte over the limit) and check it."""
        self.logo_file = None
        upload = field.data
        if not isinstance(upload, FileStorage) or not upload.filename:
            return
        name = upload.filename
        ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        data = upload.stream.read(LOGO_MAX_BYTES + 1)
        problem = (
            _("The logo must be an SVG or PNG file.")
            if ext not in LOGO_TYPES
            else check_logo(data, ext)
        )
        if problem:
            raise ValidationError(_("This logo cannot be used: %(problem)s.", problem=problem))
        self.logo_file = (data, LOGO_TYPES[ext], ext)

    def validate_default_locale(self, field):
        if self.locales.data and field.data not in self.locales.data:
            raise ValidationError(_("The default language must be one of the languages."))

    def validate(self, extra_validators=None) -> bool:
        """The form's own checks (a value for each field, the logo), then the tenant's
        rules (saas.tenancy.settings_model.TenantSettings, the tenant file's rules too),
        then, when both colours are colours, their contrast: the theme's text must stay
        readable (saas.branding.MIN_TEXT_CONTRAST)."""
        valid = super().validate(extra_validators)
        answered = {name for name, field in self._fields.items() if field.errors}
        try:
            TenantSettings.model_validate(
                self.values(), context={"login_methods": self.served_login_methods}
            )
        except pydantic.ValidationError as error:
            for problem in error.errors(include_url=False):
                field = self._fields[str(problem["loc"][0])]
                message = _rule_message(problem)
                if field.name not in answered and message not in field.errors:
                    field.errors = [*field.errors, message]
            valid = False
        primary, accent = self.primary_color, self.accent_color
        if primary.data and not primary.errors and not accent.errors:
            ratios = brand_contrast(primary.data, accent.data)
            if min(ratios.values()) < MIN_TEXT_CONTRAST:
                primary.errors.append(
                    _("These colours are hard to read: choose darker or lighter ones.")
                )
                valid = False
        return valid

    def values(self) -> dict:
        """The settings to save (services.update_settings), from a validated form: the
        default language first, sign-in methods in their usual order, colours in lower
        case."""
        default = self.default_locale.data
        return {
            "name": (self.name.data or "").strip(),
            "primary_color": (self.primary_color.data or "").lower(),
            "accent_color": (self.accent_color.data or "").lower() or None,
            "support_phones": self.support_phones.data,
            "locales": [code for code in [default] if code in self.locales.data]
            + [code for code in self.locales.data if code != default],
            "login_methods": [m for m in LOGIN_METHODS if m in self.login_methods.data],
            "password_reset": self.password_reset.data,
            "onboarding": self.onboarding.data,
            "password_max_age_days": self.password_max_age_days.data,
            "notify_window_minutes": self.notify_window_minutes.data,
        }


def _rule_message(problem) -> str:
    """A broken rule of TenantSettings as the Settings page says it, in the user's
    language (the rules' codes: saas.tenancy.settings_model)."""
    code, field = problem["type"], problem["loc"][0]
    if code == "phone":
        return _("%(number)s is not a phone number.", number=str(problem["input"])[:30])
    if code == "label":
        return _("Give each support phone a label.")
    if code == "too_many":
        return _("At most %(n)s support phones.", n=MAX_SUPPORT_PHONES)
    if code == "color":
        return _("Use a colour such as #0b5394.")
    if code == "control":
        return _("Use letters, digits and punctuation only, on one line.")
    if code == "empty" and field == "locales":
        return _("Keep at least one language.")
    if code in ("empty", "no_way_in") and field == "login_methods":
        # no_way_in: only Google, which this server cannot serve (its box says so).
        return _("Keep at least one sign-in method.")
    if code == "range":
        return _("Choose a number from %(low)s to %(high)s.", **problem["ctx"])
    return _("This value cannot be used.")


class StaffUserForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200), plain_text])
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254), valid_email])
    # A new user: invited by email to choose a password (nobody else knows it), or, if
    # the Administrator prefers, given one that they change at their first sign-in.
    password_mode = RadioField(
        _l("Password"),
        choices=[
            SelectChoice("invite", _l("Email them a link to choose their own password")),
            SelectChoice("set", _l("Set a password myself")),
        ],
        default="invite",
    )
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

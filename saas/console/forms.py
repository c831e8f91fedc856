"""Console forms. Labels are translated when the form is built, in the page's language."""

from __future__ import annotations

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

from saas.branding import MIN_TEXT_CONTRAST, brand_contrast, is_color
from saas.i18n import phone_label
from saas.tenancy.files import LOGIN_METHODS, LOGO_MAX_BYTES, LOGO_TYPES, check_logo
from saas.validation import MAX_SUPPORT_PHONES, is_phone_number, plain_text, valid_email


def color(form, field) -> None:
    """WTForms validator: a colour by the one rule (saas.branding.is_color)."""
    if field.data and not is_color(field.data):
        raise ValidationError(_l("Use a colour such as #0b5394."))


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SupportPhonesField(Field):
    """The Settings page's support phones: rows of the inputs `phone_label` and
    `phone_number` that the template writes, not one input named like the field.

    `data` is the list of {"label", "number"} to keep: the tenant's current phones (given
    as `support_phones=` when the form is built) until a form is posted, then the posted
    rows. A row with an empty number is removed; one whose number is not a phone number
    (saas.validation.is_phone_number) is left out and says so in `errors`. A label in
    several languages (from the tenant file) stays as it is if left untouched.
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
            label, number = label.strip()[:60], number.strip()
            if not number:
                continue
            if not is_phone_number(number):
                self.process_errors.append(
                    _("%(number)s is not a phone number.", number=number[:30])
                )
                continue
            kept = old.get(number)
            if kept is not None and phone_label(kept) == label:
                label = kept.get("label", label)
            self.data.append({"label": label, "number": number})

    def pre_validate(self, form):
        if len(self.data) > MAX_SUPPORT_PHONES:
            raise ValidationError(_("At most %(n)s support phones.", n=MAX_SUPPORT_PHONES))


class SettingsForm(FlaskForm):
    """A tenant's Settings. Once `validate()` is true, `values()` is what to save and
    `logo_file` the new logo as (data, content type, extension), or None."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200), plain_text])
    logo = FileField(
        _l("Logo (SVG or PNG, at most 512 KB)"),
        render_kw={"accept": ".svg,.png,image/svg+xml,image/png"},
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    primary_color = ColorField(_l("Primary colour"), validators=[DataRequired(), color])
    accent_color = ColorField(_l("Accent colour"), validators=[Optional(), color])
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
        validators=[NumberRange(min=0, max=3650)],
        default=0,
    )
    logo_file = None

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

    def validate_locales(self, field):
        if not field.data:
            raise ValidationError(_("Keep at least one language."))

    def validate_default_locale(self, field):
        if self.locales.data and field.data not in self.locales.data:
            raise ValidationError(_("The default language must be one of the languages."))

    def validate_login_methods(self, field):
        if not field.data:
            raise ValidationError(_("Keep at least one sign-in method."))

    def validate(self, extra_validators=None) -> bool:
        """Every field's checks, then, when both colours are colours, their contrast: the
        theme's text must stay readable (saas.branding.MIN_TEXT_CONTRAST)."""
        valid = super().validate(extra_validators)
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
            "name": self.name.data.strip(),
            "primary_color": self.primary_color.data.lower(),
            "accent_color": (self.accent_color.data or "").lower() or None,
            "support_phones": self.support_phones.data,
            "locales": [default] + [code for code in self.locales.data if code != default],
            "login_methods": [m for m in LOGIN_METHODS if m in self.login_methods.data],
            "password_reset": self.password_reset.data,
            "onboarding": self.onboarding.data,
            "password_max_age_days": self.password_max_age_days.data,
        }


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

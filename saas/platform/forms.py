"""The platform console's forms: the decision on a seat purchase, a tenant's suspension."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from saas.seats.purchases import MAX_REASON, MAX_REFERENCE


class ActivatePurchaseForm(FlaskForm):
    payment_reference = StringField(
        _l("Payment reference"),
        validators=[
            DataRequired(message=_l("Write the reference of the payment you received.")),
            Length(max=MAX_REFERENCE),
        ],
    )


class RejectPurchaseForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason, for the tenant's Administrators"),
        validators=[
            DataRequired(message=_l("Say why: the tenant's Administrators are emailed it.")),
            Length(max=MAX_REASON),
        ],
    )


class SuspendTenantForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason, for the platform's records"),
        validators=[
            DataRequired(message=_l("Say why the tenant is suspended.")),
            Length(max=500),
        ],
    )

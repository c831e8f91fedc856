"""The Settings page checks what it saves by the tenant's rules (TenantSettings, the
rules of the tenant files too) and says what is wrong in the user's language, next to
the field, keeping what was typed."""

import pydantic

from saas.tenancy.settings_model import TenantSettings
from tests.console.test_console import settings_data, staff_client
from tests.html import doc, texts

URL = "/t/intertec/console/settings"


def post(client, lang="en", **changes):
    page = client.get(f"{URL}?lang={lang}")
    return client.post(f"{URL}?lang={lang}", data=settings_data(page.text, **changes))


def field_errors(answer) -> list[str]:
    return texts(doc(answer), "//small[contains(@class, 'field-error')]")


def test_a_phone_needs_a_label_like_in_a_tenant_file(app, tenants):
    client = staff_client(app, tenants, "admin")
    refused = post(client, phone_label=["", ""], phone_number=["+57 300 3292", ""])
    assert refused.status_code == 422
    page = doc(refused)
    assert texts(page, "//*[contains(@class, 'alert-error')]") == [
        "Give each support phone a label."
    ]
    # What was typed is still there to correct.
    assert page.xpath("//input[@name='phone_number']/@value")[0] == "+57 300 3292"
    italian = post(client, lang="it", phone_label=["", ""], phone_number=["+57 300 3292", ""])
    assert texts(doc(italian), "//*[contains(@class, 'alert-error')]") == [
        "Dai un'etichetta a ogni telefono di assistenza."
    ]


def test_a_wrong_number_is_kept_in_its_row_and_named(app, tenants):
    client = staff_client(app, tenants, "admin")
    refused = post(client, phone_label=["Soporte", ""], phone_number=["call me", ""])
    assert refused.status_code == 422
    page = doc(refused)
    assert texts(page, "//*[contains(@class, 'alert-error')]") == ["call me is not a phone number."]
    assert page.xpath("//input[@name='phone_number']/@value")[0] == "call me"


def test_a_name_on_two_lines_is_refused_in_the_users_language(app, tenants):
    client = staff_client(app, tenants, "admin")
    refused = post(client, lang="es", name="Intertec\nBcc: x@example.com")
    assert refused.status_code == 422
    assert field_errors(refused) == [
        "Usa solo letras, números y signos de puntuación, en una sola línea."
    ]


def test_the_password_age_range_is_the_rules_range(app, tenants):
    client = staff_client(app, tenants, "admin")
    refused = post(client, password_max_age_days="3651")
    assert refused.status_code == 422
    assert field_errors(refused) == ["Choose a number from 0 to 3650."]
    assert post(client, password_max_age_days="3650").status_code == 303


def test_the_rules_refuse_what_the_form_could_not_stop():
    # The model is the rule, whatever sends the values: an empty list of languages or
    # sign-in methods, a sign-in method that does not exist, a sixth phone.
    good = {
        "name": "Intertec",
        "primary_color": "#0b5394",
        "locales": ["es"],
        "login_methods": ["password"],
        "password_reset": "email",
        "onboarding": "two_emails",
        "password_max_age_days": 0,
    }
    assert TenantSettings.model_validate(good).primary_color == "#0b5394"
    for change, code in [
        ({"locales": []}, "empty"),
        ({"login_methods": []}, "empty"),
        ({"login_methods": ["sms"]}, "choice"),
        ({"primary_color": "#abc"}, "color"),
        (
            {"support_phones": [{"label": "L", "number": f"300 329{i}"} for i in range(6)]},
            "too_many",
        ),
        ({"password_max_age_days": True}, "int_type"),
    ]:
        try:
            TenantSettings.model_validate(good | change)
        except pydantic.ValidationError as error:
            assert [e["type"] for e in error.errors()] == [code], change
        else:
            raise AssertionError(f"{change} was accepted")

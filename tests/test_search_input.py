"""What people type: searches that ignore accents and case and find a tax id however it
is written, inputs that are refused when too long (never cut), an invalid address on the
lost-password form, every mistake of a form at once, and a bad date said once.
Runs on SQLite and on PostgreSQL alike (the folding is in the query, not a stored column).
"""

from datetime import timedelta

from saas.audit import AuditEvent
from saas.auth import tokens
from saas.auth.passwords import MIN_LENGTH
from saas.demo_invoices import ubl_invoice as make_ubl
from saas.einvoice.taxids import nit_check_digit
from saas.extensions import db
from saas.textsearch import fold
from tests import html
from tests.auth.conftest import csrf_from, post_form, sign_in
from tests.console.test_console import settings_data, staff_client
from tests.factories import PASSWORD, make_company, make_user
from tests.invoices import ISSUERS, ubl_invoice
from tests.portal.conftest import publish_for

FERRETERIA = ("860512780", str(nit_check_digit("860512780")), "FERRETERÍA Núñez & Cía. S.A.S.")


def invoice_for(number, customer):
    return make_ubl(number, issuer=ISSUERS["intertec"], customer=customer, email=None)


def search(client, query, **headers):
    return client.get(
        "/t/intertec/console/invoices", query_string={"lang": "en", **query}, headers=headers
    )


def found(client, text):
    answer = search(client, {"q": text})
    assert answer.status_code == 200, text
    return sorted(html.invoice_numbers(html.doc(answer)))


def test_fold_drops_accents_and_case():
    assert fold("FERRETERÍA Núñez") == "ferreteria nunez"
    assert fold("Perché È così") == "perche e cosi"


def test_search_ignores_accents_and_case(app, tenants):
    publish_for(app, "intertec", invoice_for("FE-100", FERRETERIA))
    publish_for(app, "intertec", ubl_invoice("FE-200"))  # Distribuidora Andina
    client = staff_client(app, tenants, "support")
    for text in ("ferreteria", "Ferretería", "FERRETERIA", "núñez", "nunez", "NUÑEZ", "cía"):
        assert found(client, text) == ["FE-100"], text
    assert found(client, "fe-100") == ["FE-100"]  # the number, in any case
    assert found(client, "andina") == ["FE-200"]
    assert found(client, "ferreterias") == []


def test_a_tax_id_is_found_however_it_is_written(app, tenants):
    publish_for(app, "intertec", ubl_invoice("FE-1"))  # Andina, NIT 800765432-3
    publish_for(app, "intertec", ubl_invoice("FE-2", customer="cafetera"))  # 901234567-7
    client = staff_client(app, tenants, "support")
    for text in (
        "800.765.432-3",
        "800765432-3",
        "8007654323",
        "800 765 432",
        "800765432",
        "765.432",
    ):
        assert found(client, text) == ["FE-1"], text
    assert found(client, "800.765.432-9") == []  # a wrong check digit is another NIT
    assert found(client, "901.234.567") == ["FE-2"]


def test_wildcards_typed_are_taken_literally(app, tenants):
    publish_for(app, "intertec", ubl_invoice("FE-1"))
    client = staff_client(app, tenants, "support")
    assert found(client, "%") == []
    assert found(client, "_") == []
    assert found(client, "FE_1") == []


def test_an_over_long_search_is_refused_with_a_message_not_cut(app, tenants):
    publish_for(app, "intertec", ubl_invoice("FE-1"))
    client = staff_client(app, tenants, "support")
    page = html.doc(search(client, {}))
    assert page.xpath("//input[@id='q']/@maxlength") == ["100"]
    assert search(client, {"q": "F" * 100}).status_code == 200
    # "FE-1" followed by more than fits: cut to 100 characters it would still find FE-1.
    refused = search(client, {"q": "FE-1" + " " * 50 + "x" * 50})
    assert refused.status_code == 422
    assert html.field_error(refused, "q") == "Use at most 100 characters."
    assert html.problems(refused) == [
        "Use at most 100 characters.",
        "Correct the filter above to see the invoices.",
    ]
    assert html.invoice_numbers(html.doc(refused)) == []


def test_an_over_long_user_filter_on_the_audit_log_is_refused(app, tenants):
    client = staff_client(app, tenants, "admin")
    url = "/t/intertec/console/audit?lang=en"
    assert html.doc(client.get(url)).xpath("//input[@id='user']/@maxlength") == ["254"]
    refused = client.get(url + "&user=" + "a" * 255)
    assert refused.status_code == 422
    assert html.problems(refused) == [
        "Use at most 254 characters.",
        "Correct the filter above to see the events.",
    ]


def test_the_audit_user_filter_takes_wildcards_literally(app, tenants):
    client = staff_client(app, tenants, "admin")
    page = html.doc(client.get("/t/intertec/console/audit?lang=en&user=%25"))
    assert page.xpath("//table[contains(@class, 'audit')]/tbody/tr") == []


def test_a_bad_date_is_said_once_on_every_list(app, tenants):
    staff = staff_client(app, tenants, "admin")
    message = "Use a date such as 2026-01-31."
    for url in ("/t/intertec/console/invoices", "/t/intertec/console/audit"):
        answer = staff.get(url + "?lang=en&from=yesterday")
        assert answer.status_code == 422
        assert html.problems(answer).count(message) == 1, url
        assert html.field_error(answer, "from") == message
        assert html.alerts(html.doc(answer)) == ["Check the dates of the filter."]


def test_a_bad_date_is_said_once_on_the_recipients_list(app, tenants):
    with app.app_context():
        tenant = tenants["intertec"].load()
        company = make_company(tenant)
        person = make_user(tenant, kind="recipient", role=None, companies=[company])
        login = person.username
    client = app.test_client()
    assert sign_in(client, "intertec", login, PASSWORD).status_code == 302
    answer = client.get("/t/intertec/invoices?lang=en&to=31/01/2026")
    assert answer.status_code == 422
    assert html.problems(answer) == [
        "Use a date such as 2026-01-31.",
        "Check the dates of the filter.",
    ]


def test_htmx_updates_carry_the_fields_messages_out_of_band(app, tenants):
    """htmx swaps only the list: the fields' messages come along, and go when fixed."""
    client = staff_client(app, tenants, "admin")
    hx = {"HX-Request": "true", "HX-Target": "console-invoices"}
    bad = search(client, {"from": "yesterday"}, **hx)
    assert bad.status_code == 422
    [error] = html.doc(bad).xpath("//small[@id='from-error'][@hx-swap-oob='true']")
    assert html.text(error) == "Use a date such as 2026-01-31." and error.get("hidden") is None
    good = html.doc(search(client, {"from": "2026-01-01"}, **hx))
    [cleared] = good.xpath("//small[@id='from-error'][@hx-swap-oob='true']")
    assert cleared.get("hidden") is not None and html.text(cleared) == ""
    # a full page has each message once, in its field
    assert len(html.doc(search(client, {"from": "x"})).xpath("//small[@id='from-error']")) == 1


def test_an_invalid_address_on_the_lost_password_form_is_said(app, tenants):
    client = app.test_client()
    with app.app_context():
        before = db.session.query(AuditEvent).count()
    answer = post_form(client, "/t/adriatica/password/forgot?lang=en", {"email": "not an address"})
    assert answer.status_code == 422
    assert html.field_error(answer, "email") == "This is not an email address."
    with app.app_context():  # nothing was asked for
        assert db.session.query(AuditEvent).count() == before
    spanish = post_form(client, "/t/intertec/password/forgot?by=email&lang=es", {"email": "x@"})
    assert html.field_error(spanish, "email") == "Esta no es una dirección de correo electrónico."


def test_a_phone_label_too_long_is_refused_not_cut(app, tenants):
    client = staff_client(app, tenants, "admin")
    url = "/t/intertec/console/settings?lang=en"
    page = client.get(url)
    assert html.doc(page).xpath("//input[@name='phone_label']/@maxlength")[0] == "60"
    refused = client.post(
        url, data=settings_data(page.text, phone_label=["L" * 61], phone_number=["300 3292"])
    )
    assert refused.status_code == 422
    assert "A support phone's label may have at most 60 characters." in html.problems(refused)
    page = client.get(url)
    accepted = client.post(
        url, data=settings_data(page.text, phone_label=["L" * 60], phone_number=["300 3292"])
    )
    assert accepted.status_code == 303
    with app.app_context():
        assert tenants["intertec"].load().support_phones == [
            {"label": "L" * 60, "number": "300 3292"}
        ]


def test_the_companies_form_shows_all_its_mistakes_at_once(app, tenants):
    client = staff_client(app, tenants, "admin")
    url = "/t/intertec/console/companies?lang=en"
    token = csrf_from(client.get(url).text)
    answer = client.post(
        url, data={"csrf_token": token, "tax_id": "12-34", "name": "", "email": "nope"}
    )
    assert answer.status_code == 422
    assert html.field_error(answer, "tax_id") == "This is not a valid NIT."
    assert html.field_error(answer, "email") == "This is not an email address."
    assert html.field_error(answer, "name")


def test_the_new_user_form_shows_all_its_mistakes_at_once(app, tenants):
    client = staff_client(app, tenants, "admin")
    url = "/t/intertec/console/users?lang=en"
    page = client.get(url)
    token = csrf_from(page.text)
    assert "set" in html.doc(page).xpath("//input[@name='password_mode']/@value")
    answer = client.post(
        url,
        data={
            "csrf_token": token,
            "name": "Ana",
            "email": "not an address",
            "role": "biller",
            "password_mode": "set",
            "password": "",
        },
    )
    assert answer.status_code == 422
    # Both at once: before, the missing password hid the address's mistake.
    assert html.field_error(answer, "email") == "This is not an email address."
    assert html.field_error(answer, "password") == "Choose a password for the new user."


def two_mistakes(client, url, **extra):
    token = csrf_from(client.get(url).text)
    data = {"csrf_token": token, "new_password": "short", "confirm_password": "other", **extra}
    answer = client.post(url, data=data)
    assert answer.status_code == 422
    return html.field_error(answer, "new_password"), html.field_error(answer, "confirm_password")


def test_the_password_forms_show_the_passwords_rule_with_the_other_mistakes(app, tenants):
    """A too-short password was said only once the two copies matched."""
    with app.app_context():
        tenant = tenants["intertec"].load()
        company = make_company(tenant)
        person = make_user(tenant, kind="recipient", role=None, companies=[company])
        first = tokens.issue("set_password", timedelta(days=1), user_id=person.id)
        reset = tokens.issue("reset_email", timedelta(hours=1), user_id=person.id)
        db.session.commit()
        person_id = person.id
    client = app.test_client()
    short = f"Use at least {MIN_LENGTH} characters."
    mismatch = "The two passwords do not match."
    assert two_mistakes(client, f"/t/intertec/welcome/{first}?lang=en") == (short, mismatch)
    assert two_mistakes(
        client, f"/t/intertec/password/reset/{reset}?lang=en", user=str(person_id)
    ) == (short, mismatch)

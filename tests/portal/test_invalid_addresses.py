"""An address an XML names that mail cannot reach: published anyway, staff are told."""

import io

import lxml.html
import pytest
from sqlalchemy import select

from saas.companies import Company
from saas.extensions import db
from saas.mail import OutboxMessage
from saas.tenancy import all_tenants
from tests.api.test_api import key_for, staff, upload
from tests.auth.conftest import csrf_from
from tests.console.test_console import staff_client
from tests.invoices import ubl_invoice
from tests.portal.conftest import mails, publish_for

BAD = [
    "compras@andina.example\nBcc: spy@evil.example",  # a header injection attempt
    "compras at andina",
    "compras\t@andina.example",
    '"compras"@andina.example',
]


def customer(app, tax_id="900123456"):
    with app.app_context(), all_tenants():
        return db.session.scalars(select(Company).filter_by(kind="customer")).one()


@pytest.mark.parametrize("address", BAD)
def test_invoice_is_published_and_its_customer_row_says_why_no_one_was_told(app, tenants, address):
    [invoice_id] = publish_for(app, "intertec", ubl_invoice("FE-1", email=address))
    assert invoice_id
    assert mails(app) == []  # no message to anyone, none stuck
    company = customer(app)
    assert company.mail_problem == "invalid_address"
    assert company.email is None  # never registered
    page = staff_client(app, tenants, "support").get("/t/intertec/console/customers?lang=en")
    [row] = lxml.html.fromstring(page.text).xpath("//tbody/tr")
    [problem] = row.xpath(".//small[contains(@class, 'field-error')]")
    assert problem.text_content().startswith("Invalid address in the latest invoice:")
    assert address.split("\n")[0][:10] in problem.text_content()


def test_a_later_invoice_with_a_good_address_clears_the_problem(app, tenants):
    publish_for(app, "intertec", ubl_invoice("FE-1", email="not an address"))
    publish_for(app, "intertec", ubl_invoice("FE-2", email="compras@andina.example"))
    company = customer(app)
    assert company.mail_problem is None and company.email == "compras@andina.example"
    assert [m["to"] for m in mails(app)][:1] == ["compras@andina.example"]


def test_a_good_address_given_with_the_upload_wins_over_a_bad_one_in_the_xml(app, tenants):
    publish_for(app, "intertec", ubl_invoice("FE-1", email="bad address"), email="ana@andina.co")
    assert customer(app).mail_problem is None
    assert {m["to"] for m in mails(app)} == {"ana@andina.co"}


def test_the_console_upload_says_so_and_the_api_returns_a_warning(app, tenants):
    client = staff_client(app, tenants, "biller")
    page = client.get("/t/intertec/console/upload?lang=en")
    response = client.post(
        "/t/intertec/console/upload?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "xml": (io.BytesIO(ubl_invoice("FE-1", email="compras at andina")), "fe-1.xml"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    alerts = lxml.html.fromstring(response.text).xpath("//p[contains(@class, 'alert-warning')]")
    assert [a.text_content() for a in alerts] == [
        "The email address compras at andina in the invoice is not valid: the invoice is "
        "published, but no one was told."
    ]

    key = key_for(app, staff(app, tenants, email="api@intertec.test")[0])
    answer = upload(app.test_client(), key, ubl_invoice("FE-2", email="x@@y"))
    assert answer.status_code == 201
    assert answer.json["warnings"] == [
        {
            "code": "invalid_customer_email",
            "detail": "'x@@y' in the XML is not an email address: no one was told",
        }
    ]
    with app.app_context(), all_tenants():
        assert db.session.scalars(select(OutboxMessage)).all() == []


def test_an_invalid_address_given_with_the_upload_is_refused(app, tenants):
    client = staff_client(app, tenants, "biller")
    page = client.get("/t/intertec/console/upload?lang=en")
    response = client.post(
        "/t/intertec/console/upload?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "xml": (io.BytesIO(ubl_invoice("FE-1")), "fe-1.xml"),
            "email": "ana@andina.co\r\nBcc: spy@evil.example",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    with app.app_context(), all_tenants():
        assert db.session.scalars(select(OutboxMessage)).all() == []

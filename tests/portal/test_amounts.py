"""An invoice's amounts as its document states them: 1234567.89 COP keeps its cents on the
list, the invoice page, the email, the console and the API (the peso's usual digits are 0)."""

import base64
from datetime import date
from decimal import Decimal

import lxml.html
import pytest

from saas.einvoice.records import EInvoiceError, parse_amount
from saas.extensions import db
from saas.portal.models import Invoice
from saas.tenancy import load_tenant
from tests.auth.conftest import sign_in
from tests.factories import PASSWORD, make_user
from tests.invoices import ubl_invoice
from tests.portal.conftest import activate, mails, publish_for, send_digests

EMAIL = "compras@andina.example"
BIG = ubl_invoice("FE-9", issue_date=date(2026, 2, 1), total="1234567.89", tax="197117.89")


def nbsp(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


def test_cents_on_the_list_the_page_and_the_email(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    client = portal_app.test_client()
    activate(client, portal_app, EMAIL)
    [big] = publish_for(portal_app, "intertec", BIG)

    listing = lxml.html.document_fromstring(client.get("/t/intertec/invoices?lang=es").text)
    amounts = [nbsp(td.text_content()) for td in listing.xpath("//td[@class='amount']")]
    assert amounts[0] == "$ 1.234.567,89"
    page = lxml.html.document_fromstring(client.get(f"/t/intertec/invoices/{big}?lang=es").text)
    shown = [nbsp(dd.text_content()) for dd in page.xpath("//dd")]
    assert "$ 1.234.567,89" in shown and "$ 197.117,89" in shown
    english = client.get(f"/t/intertec/invoices/{big}?lang=en").text
    assert "COP 1,234,567.89" in nbsp(lxml.html.document_fromstring(english).text_content())

    send_digests(portal_app)
    [email] = [m for m in mails(portal_app, EMAIL) if m["template"] == "invoices_published"]
    assert "1.234.567,89" in email["text"] and "1.234.568" not in email["text"]


def test_cents_in_the_console_and_the_api(portal_app):
    publish_for(portal_app, "intertec", BIG)
    with portal_app.app_context():
        staff = make_user(load_tenant("intertec"), role="biller")
        login = staff.username
        stored = db.session.scalars(db.select(Invoice)).one()
        assert stored.amount_decimals == 2
    console = portal_app.test_client()
    assert sign_in(console, "intertec", login, PASSWORD, lang="es").status_code == 302
    found = console.get("/t/intertec/console/invoices?q=FE-9&lang=es").text
    cells = lxml.html.document_fromstring(found).xpath("//td[@class='amount']")
    assert [nbsp(td.text_content()) for td in cells] == ["$ 1.234.567,89"]

    auth = "Basic " + base64.b64encode(f"{login}:{PASSWORD}".encode()).decode()
    key = console.post("/t/intertec/api/v1/api-keys", headers={"Authorization": auth}).json["key"]
    listed = console.get("/t/intertec/api/v1/invoices", headers={"Authorization": f"Bearer {key}"})
    [row] = listed.json["invoices"]
    assert (row["total"], row["tax_total"]) == ("1234567.89", "197117.89")


def test_an_amount_with_more_decimals_than_stored_is_refused():
    assert parse_amount("ubl21-co", "x", "0.123456") == Decimal("0.123456")
    with pytest.raises(EInvoiceError, match="at most 6 decimals"):
        parse_amount("ubl21-co", "x", "0.1234567")

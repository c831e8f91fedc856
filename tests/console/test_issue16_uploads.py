"""An upload the tenant cannot publish says why in the uploader's language (console page,
bulk results) and in plain English on the API, never naming the uploader's address."""

from __future__ import annotations

import io

from sqlalchemy import select

from saas.companies import Company
from saas.demo_invoices import fatturapa_invoice
from saas.extensions import db
from tests import html
from tests.auth.conftest import csrf_from
from tests.console.test_console import zip_of
from tests.factories import PASSWORD, make_user
from tests.invoices import ubl_invoice
from tests.portal.conftest import publish_for

SUCURSAL = "800197268-4"


def uploader(app, tenants, companies=()):
    """A Biller signed in (and their address), limited to `companies` (tax ids) if any."""
    publish_for(app, "intertec", ubl_invoice("SN-0", issuer="sucursal", email=None))
    with app.app_context():
        tenant = tenants["intertec"].load()
        chosen = list(db.session.scalars(select(Company).where(Company.tax_id.in_(companies))))
        user = make_user(tenant, role="biller", email="fact@intertec.co", companies=chosen)
        login = user.username
    client = app.test_client()
    from tests.auth.conftest import sign_in

    assert sign_in(client, "intertec", login, PASSWORD).status_code == 302
    return client


def upload_one(client, xml: bytes, lang: str):
    page = client.get(f"/t/intertec/console/upload?lang={lang}")
    return client.post(
        f"/t/intertec/console/upload?lang={lang}",
        data={"csrf_token": csrf_from(page.text), "xml": (io.BytesIO(xml), "factura.xml")},
        content_type="multipart/form-data",
    )


def test_an_invoice_of_another_country_says_so_in_the_users_language(app, tenants):
    client = uploader(app, tenants)
    italian = fatturapa_invoice("FA-1")
    for lang, said in [
        ("en", "FatturaPA 1.2: an Italian invoice cannot be published by a Colombian portal."),
        ("es", "FatturaPA 1.2: una factura italiana no puede publicarse en un portal colombiano."),
        (
            "it",
            "FatturaPA 1.2: una fattura italiana non può essere pubblicata da un portale "
            "colombiano.",
        ),
    ]:
        answer = upload_one(client, italian, lang)
        assert answer.status_code == 422
        assert html.problems(answer) == [said], lang


def test_an_issuer_not_of_the_users_companies_says_which_are(app, tenants):
    client = uploader(app, tenants, companies=(SUCURSAL,))
    answer = upload_one(client, ubl_invoice("FE-9", email=None), "en")
    assert answer.status_code == 422
    assert html.problems(answer) == [
        "This issuer's tax id, 900123456-8, is not one of your companies (you "
        "publish for Intertec Sucursal Norte S.A.S.)."
    ]
    assert "fact@intertec.co" not in answer.text
    spanish = upload_one(client, ubl_invoice("FE-9", email=None), "es")
    assert html.problems(spanish) == [
        "El NIT o identificación fiscal de este emisor, 900123456-8, no es de "
        "ninguna de sus empresas (usted publica para Intertec Sucursal Norte S.A.S.)."
    ]


def test_bulk_results_say_why_in_the_readers_language(app, tenants):
    client = uploader(app, tenants, companies=(SUCURSAL,))
    page = client.get("/t/intertec/console/uploads?lang=es")
    files = {"it.xml": fatturapa_invoice("FA-1"), "fe.xml": ubl_invoice("FE-9", email=None)}
    response = client.post(
        "/t/intertec/console/uploads?lang=es",
        data={"csrf_token": csrf_from(page.text), "files": [(io.BytesIO(zip_of(files)), "x.zip")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    for lang, italian, issuer in [
        (
            "es",
            "FatturaPA 1.2: una factura italiana no puede publicarse en un portal colombiano.",
            "El NIT o identificación fiscal de este emisor, 900123456-8, no es "
            "de ninguna de sus empresas (usted publica para Intertec Sucursal Norte S.A.S.).",
        ),
        (
            "en",
            "FatturaPA 1.2: an Italian invoice cannot be published by a Colombian portal.",
            "This issuer's tax id, 900123456-8, is not one of your companies "
            "(you publish for Intertec Sucursal Norte S.A.S.).",
        ),
    ]:
        status = html.doc(client.get(response.headers["Location"] + f"?lang={lang}"))
        details = {
            html.text(row, "td[1]"): html.text(row, "td[3]")
            for row in status.xpath("//table[contains(@class, 'upload-results')]/tbody/tr")
        }
        assert details == {"it.xml": italian, "fe.xml": issuer}, lang


def test_the_api_says_it_in_english_without_the_users_address(app, tenants):
    from saas.auth import apikeys
    from saas.auth.models import User

    uploader(app, tenants, companies=(SUCURSAL,))
    client = app.test_client()
    with app.app_context():
        tenants["intertec"].load()
        user = db.session.scalars(select(User).where(User.email == "fact@intertec.co")).one()
        _key, raw = apikeys.create_api_key(user)
        db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}

    def post(xml):
        return client.post(
            "/t/intertec/api/v1/invoices",
            data={"xml": (io.BytesIO(xml), "f.xml")},
            headers=headers,
            content_type="multipart/form-data",
        )

    refused = post(ubl_invoice("FE-9", email=None))
    assert refused.status_code == 403
    assert refused.get_json() == {
        "error": "issuer_not_assigned",
        "message": "the issuer's tax id 900123456-8 is not one of the companies assigned to you",
    }
    foreign = post(fatturapa_invoice("FA-1"))
    assert foreign.status_code == 422
    assert foreign.get_json()["message"] == (
        "an Italian invoice cannot be published by a Colombian portal"
    )


def test_an_upload_without_its_xml_says_so_under_the_field(app, tenants):
    client = uploader(app, tenants)
    page = client.get("/t/intertec/console/upload?lang=en")
    answer = client.post(
        "/t/intertec/console/upload?lang=en",
        data={"csrf_token": csrf_from(page.text), "email": "a@b.example"},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    assert html.field_error(answer, "xml") == "Choose the invoice's XML file."
    assert html.problems(answer) == ["Choose the invoice's XML file."]
    [field] = html.doc(answer).xpath("//input[@id='xml']")
    assert field.get("aria-invalid") == "true"
    assert html.doc(answer).xpath("//input[@id='email']/@value") == ["a@b.example"]

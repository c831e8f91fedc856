"""Staff limited to one issuer company cannot read another issuer's invoices through a
recipient address they choose, nor take over another issuer's invoice identity."""

import base64
import io

import pytest
from flask import g
from sqlalchemy import select

from saas.auth.models import User
from saas.companies import Company
from saas.extensions import db
from saas.portal.models import Invoice
from saas.portal.publishing import NationalIdTaken, publish
from saas.tenancy import all_tenants, load_tenant
from tests import html
from tests.factories import PASSWORD, make_company, make_user
from tests.invoices import ubl_invoice
from tests.portal.conftest import activate, publish_for

GENUINE = "compras@andina.example"
ATTACKER = "mallory@evil.example"


def scoped_biller(app) -> int:
    with app.app_context():
        tenant = g.tenant = load_tenant("intertec")
        company_a = db.session.scalars(
            select(Company).where(Company.tenant_id == tenant.id, Company.tax_id == "900123456-8")
        ).first() or make_company(
            tenant, tax_id="900123456-8", name="Intertec S.A.S.", kind="issuer"
        )
        return make_user(tenant, role="biller", companies=[company_a]).id


def publish_as(app, user_id, xml, email=None):
    with app.app_context():
        tenant = g.tenant = load_tenant("intertec")
        return [i.id for i in publish(tenant, xml, email=email, user_id=user_id).invoices]


def test_an_address_chosen_by_a_scoped_biller_sees_only_that_issuers_invoices(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-A1"))  # issuer A, creates A
    [theirs] = publish_for(portal_app, "intertec", ubl_invoice("SN-1", issuer="sucursal"))
    biller = scoped_biller(portal_app)
    [own] = publish_as(portal_app, biller, ubl_invoice("FE-A2", email=None), email=ATTACKER)

    mallory = portal_app.test_client()
    activate(mallory, portal_app, ATTACKER)
    listing = mallory.get("/t/intertec/invoices?lang=en").text
    # Issuer A's, which the biller may publish; none of the other issuer's.
    assert sorted(html.invoice_numbers(html.doc(listing))) == ["FE-A1", "FE-A2"]
    assert "SN-1" not in listing
    assert mallory.get(f"/t/intertec/invoices/{theirs}").status_code == 404
    assert mallory.get(f"/t/intertec/invoices/{theirs}/xml").status_code == 404
    assert mallory.get(f"/t/intertec/invoices/{own}/xml").status_code == 200

    # The genuine recipient still sees everything, and SN-1 is still pending for them.
    genuine = portal_app.test_client()
    activate(genuine, portal_app, GENUINE)
    mine = html.doc(genuine.get("/t/intertec/invoices?lang=en"))
    assert {"SN-1", "FE-A2"} <= set(html.invoice_numbers(mine))
    with portal_app.app_context(), all_tenants():
        assert not db.session.get(Invoice, theirs).downloaded


def test_a_scoped_upload_never_sets_the_companys_registered_address(portal_app):
    biller = scoped_biller(portal_app)
    publish_as(portal_app, biller, ubl_invoice("FE-A1", customer="cafetera", email=ATTACKER))
    with portal_app.app_context(), all_tenants():
        company = db.session.scalars(select(Company).where(Company.tax_id == "901234567-7")).one()
        assert company.email is None


def test_the_same_cufe_from_another_issuer_is_a_conflict(portal_app):
    [genuine] = publish_for(portal_app, "intertec", ubl_invoice("SN-7", issuer="sucursal"))
    biller = scoped_biller(portal_app)
    with pytest.raises(NationalIdTaken, match="another issuer"):
        publish_as(portal_app, biller, ubl_invoice("SN-7"))  # issuer A, SN-7's CUFE
    # The owner of the id still gets their own invoice back, idempotently.
    assert publish_for(portal_app, "intertec", ubl_invoice("SN-7", issuer="sucursal")) == [genuine]


def test_the_api_answers_409_for_another_issuers_national_id(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("SN-8", issuer="sucursal"))
    biller = scoped_biller(portal_app)
    with portal_app.app_context(), all_tenants():
        login = db.session.get(User, biller).username
    client = portal_app.test_client()
    auth = "Basic " + base64.b64encode(f"{login}:{PASSWORD}".encode()).decode()
    key = client.post("/t/intertec/api/v1/api-keys", headers={"Authorization": auth}).json["key"]
    answer = client.post(
        "/t/intertec/api/v1/invoices",
        headers={"Authorization": f"Bearer {key}"},
        data={"xml": (io.BytesIO(ubl_invoice("SN-8")), "sn-8.xml")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 409 and answer.json["error"] == "national_id_taken"
    assert "number" not in answer.json  # never the other issuer's invoice

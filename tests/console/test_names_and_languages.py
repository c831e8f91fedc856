"""Names stay on one line wherever they are written; a removed language comes back;
a long file name is still a file of its kind."""

import io

import lxml.html
import pytest
from sqlalchemy import select

from saas.auth.models import User
from saas.auth.services import UserError
from saas.companies import Company
from saas.console.models import UploadBatch
from saas.console.upload_files import MAX_NAME, file_name
from saas.extensions import db
from saas.portal.models import Invoice
from saas.seats.staff_accounts import create_user
from saas.tenancy import all_tenants
from tests.auth.conftest import csrf_from
from tests.console.test_console import settings_data, staff_client, zip_of
from tests.factories import PASSWORD
from tests.invoices import fake_pdf, ubl_invoice
from tests.test_tenant_files import GOOD, sync, write_tenant

BROKEN_NAMES = ["Intertec\r\nBcc: spy@evil.example", "Intertec\x00", "Inter\u2028tec", "A\tB"]


def errors_of(page: str, field: str) -> list[str]:
    root = lxml.html.fromstring(page)
    [control] = root.xpath(f"//*[@name='{field}']")
    described = control.get("aria-describedby") or ""
    return [root.get_element_by_id(i).text_content().strip() for i in described.split() if i]


@pytest.mark.parametrize("name", BROKEN_NAMES)
def test_settings_refuse_a_name_with_control_characters(app, tenants, name):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/settings?lang=en")
    response = client.post(
        "/t/intertec/console/settings?lang=en", data=settings_data(page.text, name=name)
    )
    assert response.status_code == 422
    assert "Use letters, digits and punctuation only, on one line." in " ".join(
        errors_of(response.text, "name")
    )
    with app.app_context():
        assert tenants["intertec"].load().name == "Intertec"


def test_staff_and_company_names_must_be_on_one_line(app, tenants):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/users?lang=en")
    created = client.post(
        "/t/intertec/console/users?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Eve\r\nBcc: spy@evil.example",
            "email": "eve@intertec.test",
            "password": PASSWORD,
            "role": "biller",
        },
    )
    assert created.status_code == 422
    page = client.get("/t/intertec/console/companies?lang=en")
    saved = client.post(
        "/t/intertec/console/companies?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "tax_id": "800197268",
            "name": "Sucursal\nNorte",
            "email": "a@b.co\nBcc: spy@evil.example",
        },
    )
    assert saved.status_code == 422
    assert errors_of(saved.text, "email") == ["This is not an email address."]
    with app.app_context():
        tenants["intertec"].load()
        assert db.session.scalars(select(User).filter_by(email="eve@intertec.test")).all() == []
        assert db.session.scalars(select(Company).filter_by(name="Sucursal\nNorte")).all() == []
        with pytest.raises(UserError) as refused:
            create_user(
                tenants["intertec"].load(),
                None,
                email="eve@intertec.test",
                name="Eve\nX",
                role="biller",
                password=PASSWORD,
            )
        assert refused.value.code == "invalid_name"


def test_a_tenant_file_with_a_line_break_in_its_name_is_refused(app, ctx, tmp_path):
    folder = tmp_path / "tenants"
    write_tenant(folder, "broken", GOOD.replace('"Good One"', '"Good\\r\\nBcc: x@y.z"'))
    result = sync(app, folder)
    assert result.exit_code != 0
    assert "name: must be on one line, without control characters" in result.output


def test_names_from_an_xml_are_kept_on_one_line(app, tenants):
    from tests.portal.conftest import publish_for

    xml = ubl_invoice("FE-1").replace(b"Distribuidora Andina", b"Distribuidora\n    Andina")
    assert b"Distribuidora\n" in xml
    publish_for(app, "intertec", xml)
    with app.app_context(), all_tenants():
        customer = db.session.scalars(select(Company).filter_by(kind="customer")).one()
        assert customer.name == "Distribuidora Andina S.A.S."


def test_a_language_removed_in_settings_can_be_chosen_again(app, tenants):
    client = staff_client(app, tenants, "admin")
    page = client.get("/t/intertec/console/settings?lang=en")
    removed = client.post(
        "/t/intertec/console/settings?lang=en", data=settings_data(page.text, locales=["es", "en"])
    )
    assert removed.status_code == 303
    page = client.get("/t/intertec/console/settings?lang=en")
    offered = lxml.html.fromstring(page.text).xpath("//input[@name='locales']/@value")
    assert sorted(offered) == ["en", "es", "it"]
    added = client.post(
        "/t/intertec/console/settings?lang=en",
        data=settings_data(page.text, locales=["es", "en", "it"]),
    )
    assert added.status_code == 303
    with app.app_context():
        assert set(tenants["intertec"].load().locales) == {"es", "en", "it"}
    italian = lxml.html.fromstring(client.get("/t/intertec/console/?lang=it").text)
    assert italian.get("lang") == "it"


def test_file_names_are_shortened_keeping_what_they_are():
    long = "a" * 250
    assert file_name(f"folder\\{long}.xml").endswith(".xml")
    assert file_name(f"folder\\{long}.xml").startswith("aaaa")
    assert len(file_name(f"{long}.xml")) == MAX_NAME
    assert file_name(f"{long}.pdf")[:-4] == file_name(f"{long}.xml")[:-4]  # still a pair
    assert file_name(f"{long}-2.xml") != file_name(f"{long}.xml")  # never a false pair
    assert len(file_name("x" * 300)) == MAX_NAME
    assert file_name("short.xml") == "short.xml"


def test_a_bulk_upload_with_file_names_over_200_characters(app, tenants):
    long = "factura-electronica-" * 13  # 260 characters
    client = staff_client(app, tenants, "biller")
    page = client.get("/t/intertec/console/uploads?lang=en")
    archive = zip_of({f"{long}.xml": ubl_invoice("FE-1"), f"{long}.pdf": fake_pdf("FE-1")})
    response = client.post(
        "/t/intertec/console/uploads?lang=en",
        data={
            "csrf_token": csrf_from(page.text),
            "files": [
                (io.BytesIO(archive), f"{long}.zip"),
                (io.BytesIO(ubl_invoice("FE-2")), f"{long}-2.xml"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    with app.app_context(), all_tenants():
        batch = db.session.scalars(select(UploadBatch)).one()
        assert [r["status"] for r in batch.results] == ["imported", "imported"]
        invoices = db.session.scalars(select(Invoice).order_by(Invoice.number)).all()
        assert [(i.number, i.pdf_key is not None) for i in invoices] == [
            ("FE-1", True),
            ("FE-2", False),
        ]

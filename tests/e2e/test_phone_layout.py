"""The recipient's and the administrator's journeys on a 390 px phone, in Spanish, in real
Chromium. At every page, on the phone and at 768, 1024 and 1280 px (tests/e2e/layout.py):
no page scrolls sideways, no list hides columns in a box that scrolls, and no English UI
text is left. Names of 500 characters in the invoices (kept to the columns' 300 for a
company, 200 for a person) and a 300-character file name, all one word, must not break
it; the Content-Security-Policy refuses nothing on the way."""

import re
import zipfile
from datetime import date

import pytest
from flask import g
from playwright.sync_api import expect

from saas.demo_invoices import ubl_invoice as make_ubl
from saas.extensions import db
from tests.conftest import ROOT, LiveServer, wait_until
from tests.e2e.layout import PHONE, LayoutLog
from tests.factories import PASSWORD, make_user
from tests.invoices import ISSUERS, fake_pdf, ubl_invoice
from tests.portal.conftest import credentials, publish_for

pytestmark = pytest.mark.browser

# One word each: nothing to break a line at but overflow-wrap. The XML's 500 characters
# are kept to the column's 300 (the recipient's name to 200).
LONG_CUSTOMER = ("Distribuidora" + "Andinaaaaaaaaaaa" * 40)[:500]
LONG_ISSUER = ("Intertec" + "Sucursaaaaaaal" * 40)[:500]
LONG_PERSON = ("Ana" + "Administradoraaaa" * 12)[:200]
LONG_FILE = "factura-" + "x" * 290 + ".xml"


def text_of(message):
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def phone_page(browser, request):
    """A phone's page; what the Content-Security-Policy refused is in `csp_violations`."""
    context = browser.new_context(viewport=PHONE, locale="es-CO", accept_downloads=True)
    page = context.new_page()
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.csp_violations = violations
    yield page
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "test-artifacts" / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_recipient_journey_on_a_phone(make_app, smtp, tenants, phone_page):
    page, log = phone_page, LayoutLog()
    app = make_app(MAIL_URL=smtp.url)
    with LiveServer(app) as server:
        app.config["BASE_URL"] = server.url
        long_issuer = ("800197268", "4", LONG_ISSUER)
        for n, day in ((1, 5), (2, 15), (3, 25)):
            publish_for(
                app,
                "intertec",
                make_ubl(
                    f"FE-{n}",
                    issuer=long_issuer if n == 3 else ISSUERS["intertec"],
                    customer=("800765432", "3", LONG_CUSTOMER),
                    issue_date=date(2026, 3, day),
                    total="1234567890.00",
                ),
                fake_pdf(f"FE-{n}"),
            )

        def sent(subject):
            return next(
                (text_of(m) for m in smtp.messages if m["Subject"].startswith(subject)), None
            )

        activation = wait_until(lambda: sent("Active su acceso"))
        _, password = credentials(wait_until(lambda: sent("Su contraseña")))

        page.goto(f"{server.url}/t/intertec/")
        log.check(page, "home")
        page.goto(re.search(r"https?://\S+/access/\S+", activation).group(0))
        log.check(page, "access link")
        page.get_by_role("button", name="Continuar").click()
        page.get_by_label("Contraseña").wait_for()
        log.check(page, "sign-in")
        page.get_by_label("Contraseña").fill(password)
        page.get_by_role("button", name="Iniciar sesión").click()

        page.wait_for_url("**/account/password")
        log.check(page, "choose password")
        page.get_by_label("Nueva contraseña").fill("montañas del eje cafetero")
        page.get_by_label("Confirmar contraseña").fill("montañas del eje cafetero")
        page.get_by_role("button", name="Actualizar").click()
        page.wait_for_url("**/t/intertec/invoices")
        log.check(page, "invoice list")

        page.get_by_label("Desde").fill("2026-03-10")
        page.get_by_label("Hasta").fill("2026-03-30")
        page.get_by_role("button", name="Filtrar").click()
        page.wait_for_url(re.compile(r".*from=2026-03-10"))
        expect(page.locator("#invoice-rows tr")).to_have_count(2)  # FE-2 and FE-3
        log.check(page, "invoice list, filtered")

        with page.expect_download() as download:
            page.get_by_role("button", name="PDF de FE-2").click()
        assert download.value.suggested_filename == "2026-03-15_FE-2.pdf"

        page.get_by_role("link", name="FE-3").click()
        log.check(page, "invoice")

        page.goto(f"{server.url}/t/intertec/invoices")
        page.get_by_role("button", name=re.compile("Descargas pendientes")).click()
        page.get_by_role("button", name="Descargar zip").wait_for()
        log.check(page, "pending zip")
        with page.expect_download() as download:
            page.get_by_role("button", name="Descargar zip").click()
        assert "2026-03-25_FE-3.pdf" in zipfile.ZipFile(download.value.path()).namelist()

        page.get_by_role("link", name="Su cuenta").click()
        log.check(page, "account")

    print(log.report())
    assert not log.problems, "\n".join(log.problems)
    assert not page.csp_violations


def test_admin_journey_on_a_phone(make_app, tenants, phone_page, tmp_path):
    page, log = phone_page, LayoutLog()
    app = make_app()
    with app.app_context():
        tenant = g.tenant = tenants["intertec"].load()
        make_user(
            tenant,
            email="ana@intertec.co",
            username="ana",
            role="admin",
            name=LONG_PERSON,
        )
        db.session.commit()
    for n in range(3):
        publish_for(
            app,
            "intertec",
            ubl_invoice(f"FE-{n}", issue_date=date(2026, 2, 1 + n)),
            fake_pdf(f"FE-{n}"),
        )
    publish_for(
        app,
        "intertec",
        make_ubl(
            "FE-9", customer=("901234567", "7", LONG_CUSTOMER), email="x" * 60 + "@cafetera.example"
        ),
    )
    archive = tmp_path / "invoices.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(LONG_FILE, b"<not an invoice/>")
        bundle.writestr("fe-20.xml", ubl_invoice("FE-20"))

    with LiveServer(app) as server:
        page.goto(f"{server.url}/t/intertec/login")
        page.get_by_label("Correo electrónico o usuario").fill("ana")
        page.get_by_label("Contraseña").fill(PASSWORD)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.wait_for_url("**/console/**")
        log.check(page, "dashboard")
        for link, name in (
            ("Facturas", "console invoices"),
            ("Clientes", "customers"),
            ("Usuarios", "users"),
            ("Empresas", "companies"),
            ("Configuración", "settings"),
            ("Registro de auditoría", "audit log"),
        ):
            page.locator(".console-nav").get_by_role("link", name=link, exact=True).click()
            page.wait_for_load_state("load")
            log.check(page, name)

        page.locator(".console-nav").get_by_role("link", name="API", exact=True).click()
        page.get_by_label("Contraseña").fill(PASSWORD)
        page.get_by_role("button", name="Obtener clave de API").click()
        page.locator("#new-key").wait_for()
        log.check(page, "API key")

        page.locator(".console-nav").get_by_role("link", name="Subir", exact=True).click()
        page.get_by_label("Archivos").set_input_files(str(archive))
        page.get_by_role("button", name="Subir", exact=True).click()
        page.locator("table.upload-results tbody tr").nth(1).wait_for()
        page.get_by_text(re.compile("1 con errores")).wait_for()
        log.check(page, "upload results")

    print(log.report())
    assert not log.problems, "\n".join(log.problems)
    assert not page.csp_violations


def test_platform_console_on_a_phone(make_app, tenants, phone_page):
    """The operators' console: the pending purchases and the tenants, one named at length."""
    from saas.platform.views import create_platform_admin
    from saas.seats import purchases, staff_accounts

    page, log = phone_page, LayoutLog()
    app = make_app()
    with app.app_context():
        tenant = g.tenant = tenants["azteca"].load()
        tenant.name = ("Comercializadora" + "Aztecaaaaaaaa" * 20)[:200]
        db.session.commit()
        owner = staff_accounts.create_user(
            tenant, None, name="Olga", email="olga@azteca.mx", password=PASSWORD, role="admin"
        )
        purchases.request_purchase(tenant, owner, 3)
        create_platform_admin(email="ops@platform.test", name="Ops", password=PASSWORD)
        db.session.commit()
    with LiveServer(app) as server:
        page.goto(f"{server.url}/platform/login")
        log.check(page, "platform sign-in")
        page.get_by_label("Correo electrónico").fill("ops@platform.test")
        page.get_by_label("Contraseña").fill(PASSWORD)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.get_by_role("heading", name="Compras pendientes").wait_for()
        log.check(page, "platform console")

    print(log.report())
    assert not log.problems, "\n".join(log.problems)
    assert not page.csp_violations

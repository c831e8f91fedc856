"""The finish of every page: favicon, focus ring colours, the tenant home page's words and
buttons, the account link, list captions for phones, and no inline styles (the CSP)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from saas.branding import contrast, theme_variables
from tests.auth.conftest import sign_in
from tests.factories import PASSWORD, make_company, make_tenant, make_user
from tests.html import doc, text, texts
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import activate, publish_for

ROOT = Path(__file__).resolve().parents[1]


# --- favicon ---------------------------------------------------------------------


def test_the_tenants_logo_is_its_favicon(client, tenants):
    page = doc(client.get("/t/intertec/"))
    assert page.xpath("//head/link[@rel='icon']/@href") == ["/t/intertec/logo"]
    assert page.xpath("//head/link[@rel='icon']/@type") == ["image/svg+xml"]
    assert client.get("/t/intertec/logo").status_code == 200


def test_without_a_logo_the_portals_own_favicon(app, client):
    with app.app_context():
        make_tenant("nologo")
    for url in ("/t/nologo/", "/"):
        icons = doc(client.get(url)).xpath("//head/link[@rel='icon']/@href")
        assert icons == ["/static/favicon.svg"], url
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.data.startswith(b"<svg")


# --- focus ring ------------------------------------------------------------------

COLOURS = ["#ffffff", "#ffff00", "#f1c232", "#00ff00", "#0b5394", "#777777", "#000000"]


@pytest.mark.parametrize("primary", COLOURS)
def test_the_focus_ring_stands_out_whatever_the_colours(primary):
    """WCAG 2.4.13 asks 3:1 between the ring and what is around it: the white page (and
    its near-white cards) for --brand-focus, the brand bar for --brand-on-primary."""
    variables = theme_variables(primary)
    assert contrast(variables["--brand-focus"], "#ffffff") >= 4.5
    assert contrast(variables["--brand-focus"], "#fdecea") >= 3  # the error alert
    assert contrast(variables["--brand-on-primary"], primary) >= 4.5


def test_the_focus_ring_uses_the_themes_colour(client, tenants):
    theme = client.get("/t/intertec/theme.css").text
    assert "--brand-focus: #0b5394;" in theme
    css = (ROOT / "saas/static/app.css").read_text()
    assert re.search(r":focus-visible,[^{]*\{\s*outline: 3px solid var\(--brand-focus\);", css)


# --- the tenant's home page --------------------------------------------------------


def test_home_page_explains_the_two_emails(client, tenants):
    page = doc(client.get("/t/intertec/?lang=en"))
    onboarding = text(page, "//p[@class='onboarding']")
    assert onboarding.startswith(
        "When Intertec publishes your first invoice you receive two emails"
    )
    assert "sign in with that password" in onboarding
    assert "Open it to choose your password" not in onboarding


def test_home_page_explains_the_set_password_link(client, tenants):
    page = doc(client.get("/t/adriatica/?lang=en"))
    onboarding = text(page, "//p[@class='onboarding']")
    assert "an email with your username and a one-time link" in onboarding
    assert onboarding.endswith("Open it to choose your password.")
    italian = doc(client.get("/t/adriatica/?lang=it"))
    assert text(italian, "//p[@class='onboarding']").endswith(
        "Aprilo per scegliere la tua password."
    )


def test_home_page_has_a_sign_in_button_in_its_body(client, tenants):
    page = doc(client.get("/t/intertec/"))
    buttons = page.xpath("//main//a[@role='button']")
    assert [(b.get("href"), b.text_content().strip()) for b in buttons] == [
        ("/t/intertec/login", "Iniciar sesión")
    ]


def test_signed_in_the_home_button_leads_to_the_invoices_or_the_console(app, client):
    with app.app_context():
        tenant = make_tenant("casa")
        company = make_company(tenant)
        make_user(tenant, username="rita", kind="recipient", role=None, companies=[company])
        make_user(tenant, username="sara", role="admin")
    sign_in(client, "casa", "rita", PASSWORD)
    page = doc(client.get("/t/casa/?lang=en"))
    assert page.xpath("//main//a[@role='button']/@href") == ["/t/casa/invoices"]
    assert text(page, "//main//a[@role='button']") == "Your invoices"
    staff = app.test_client()
    sign_in(staff, "casa", "sara", PASSWORD)
    page = doc(staff.get("/t/casa/?lang=en"))
    assert page.xpath("//main//a[@role='button']/@href") == ["/t/casa/console/"]
    assert text(page, "//main//a[@role='button']") == "Console"


# --- the account link --------------------------------------------------------------


def test_signed_in_people_have_an_account_link_in_the_header(app, client):
    with app.app_context():
        make_user(make_tenant("cuenta"), username="lia", name="Lía Gómez", role="admin")
    signed_out = doc(client.get("/t/cuenta/"))
    assert not signed_out.xpath("//header//a[@href='/t/cuenta/account']")
    sign_in(client, "cuenta", "lia", PASSWORD, lang="es")
    for url in ("/t/cuenta/", "/t/cuenta/console/"):
        page = doc(client.get(url))
        assert texts(page, "//header//a[@href='/t/cuenta/account']") == ["Su cuenta"], url
        assert text(page, "//header//*[@class='account-name']") == "Lía Gómez"
    assert client.get("/t/cuenta/account").status_code == 200


# --- lists on phones -----------------------------------------------------------------


def captions_match_headers(page) -> int:
    """Every captioned cell of a "stack" table is captioned with its column's heading
    (translated like it); returns how many cells were checked."""
    checked = 0
    for table in page.xpath("//table[contains(concat(' ', @class, ' '), ' stack ')]"):
        heads = [th.text_content().strip() for th in table.xpath("./thead/tr/th")]
        for row in table.xpath("./tbody/tr[not(@id='load-more')]"):
            cells = row.xpath("./td")
            assert len(cells) == len(heads)
            for head, cell in zip(heads, cells, strict=True):
                if cell.get("data-label") is not None:
                    assert cell.get("data-label") == head
                    checked += 1
                else:
                    assert head in ("", "Archivos", "Files")  # the buttons' column
    return checked


def test_list_captions_are_the_translated_column_headings(app, client, tenants):
    for n in range(2):
        publish_for(app, "intertec", ubl_invoice(f"FE-{n}"), fake_pdf(f"FE-{n}"))
    with app.app_context():
        make_user(tenants["intertec"].load(), username="admin", role="admin")
    sign_in(client, "intertec", "admin", PASSWORD, lang="es")
    pages = ("console/", "console/invoices", "console/customers", "console/users")
    pages += ("console/companies", "console/audit")
    for path in pages:
        page = doc(client.get(f"/t/intertec/{path}"))
        assert captions_match_headers(page) > 0, path
    invoices = doc(client.get("/t/intertec/console/invoices"))
    assert invoices.xpath("//tbody[@id='invoice-rows']/tr[1]/td[1]/@data-label") == ["Número"]


def test_the_recipients_list_has_captions(app, client, tenants):
    publish_for(app, "intertec", ubl_invoice("FE-1"), fake_pdf("FE-1"))
    activate(client, app, "compras@andina.example")
    page = doc(client.get("/t/intertec/invoices"))
    assert captions_match_headers(page) == 5
    assert page.xpath("//tbody[@id='invoice-rows']/tr[1]/td/@data-label") == [
        "Número",
        "Fecha de emisión",
        "Emisor",
        "Total",
        "Estado",
    ]


# --- the Content-Security-Policy: no inline styles -----------------------------------


def test_no_page_template_has_an_inline_style():
    """style-src 'self' ignores style="" (and <style>): pages use app.css classes. Only
    emails, never served under the CSP, keep inline styles (macros email_*)."""
    offenders = []
    for path in sorted((ROOT / "saas").rglob("templates/**/*.html")):
        if "emails" in path.parts:
            continue
        source = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.DOTALL)  # comments
        if path.name == "macros.html":
            macros = re.split(r"\{%-?\s*macro\s+", source)
            source = "".join(m for m in macros[1:] if not m.startswith("email_"))
        if re.search(r"\sstyle\s*=|<style[\s>]", source):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# --- long names ------------------------------------------------------------------------


def test_a_500_character_name_in_an_xml_is_kept_to_its_columns(app, tenants):
    """PostgreSQL refuses a value longer than its column: the invoice is still published."""
    from saas.auth.models import User
    from saas.companies import Company
    from saas.demo_invoices import ubl_invoice as make_ubl
    from saas.extensions import db

    long = "Distribuidora" + "a" * 487
    publish_for(app, "intertec", make_ubl("FE-500", customer=("800765432", "3", long)))
    with app.app_context():
        tenants["intertec"].load()
        company = db.session.scalars(db.select(Company).where(Company.tax_id == "800765432-3"))
        assert company.one().name == long[:300]
        user = db.session.scalars(db.select(User).where(User.email == "compras@andina.example"))
        assert user.one().name == long[:200]

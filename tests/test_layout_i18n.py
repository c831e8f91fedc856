"""The branded layout, language choice, locale formatting and htmx responses."""

from datetime import date
from decimal import Decimal

import pytest
from flask import g
from flask_babel import force_locale, format_date

from saas.branding import contrast, readable_on_white, theme_variables
from saas.htmx import render
from saas.i18n import money, select_locale
from tests.factories import make_tenant, make_user
from tests.html import doc, text


def test_layout_shows_name_logo_colours_and_support_phones(client, tenants):
    page = client.get("/t/intertec/").text
    assert '<html lang="es"' in page
    assert 'class="brand-name">Intertec<' in page
    assert 'src="/t/intertec/logo"' in page
    assert "/t/intertec/theme.css" in page
    assert 'Línea de servicio: <a href="tel:3003292">300 3292</a>' in page
    assert 'name="csrf-token"' in page
    assert "/static/vendor/htmx.min.js" in page
    theme = client.get("/t/intertec/theme.css")
    assert theme.mimetype == "text/css"
    assert "--pico-primary-background: #0b5394;" in theme.text
    logo = client.get("/t/intertec/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
    assert logo.data.startswith(b"<svg")


def test_support_phones_in_every_language(client, tenants):
    assert "Service line: " in client.get("/t/intertec/?lang=en").text
    assert "Assistenza: " in client.get("/t/intertec/?lang=it").text


def test_lang_parameter_switches_and_is_remembered(client, tenants):
    response = client.get("/t/intertec/?lang=it")
    assert '<html lang="it"' in response.text
    assert "Le tue fatture elettroniche" in response.text
    cookie = response.headers["Set-Cookie"]
    assert "lang=it" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The cookie is remembered on the next page, without the parameter.
    assert '<html lang="it"' in client.get("/t/intertec/").text


def test_language_not_offered_by_the_tenant_is_ignored(client, tenants):
    # Comercializadora Azteca offers es and en only.
    page = client.get("/t/azteca/?lang=it").text
    assert '<html lang="es"' in page
    assert "Italiano" not in page


def test_locale_order(app, ctx):
    tenant = make_tenant(locales=["es", "it", "en"])
    user = make_user(tenant, locale="it")

    def locale_for(url="/", tenant=None, user=None, **headers):
        with app.test_request_context(url, headers=headers):
            g.pop("tenant", None)
            g.pop("_login_user", None)
            if tenant is not None:
                g.tenant = tenant
            if user is not None:
                g._login_user = user
            return select_locale()

    assert locale_for(tenant=tenant, **{"Accept-Language": "en"}) == "es"  # tenant default
    assert locale_for(**{"Accept-Language": "it"}) == "it"  # no tenant: the browser's choice
    assert locale_for(tenant=tenant, user=user) == "it"  # the user's preference
    assert locale_for("/?lang=en", tenant=tenant, user=user) == "en"  # ?lang beats it
    cookie = {"Cookie": "lang=en"}
    assert locale_for(tenant=tenant, **cookie) == "en"  # so does the cookie
    # ...but not over a signed-in person's own language, which their emails follow.
    assert locale_for(tenant=tenant, user=user, **cookie) == "it"


# An invoice's amount as the document states it (2 decimals), in each tenant's country
# and each language: (country, currency, locale) -> text (no-break spaces written as " ").
INVOICE_AMOUNTS = {
    ("CO", "COP", "es"): "$ 1.234.567,89",
    ("CO", "COP", "en"): "COP 1,234,567.89",
    ("CO", "COP", "it"): "1.234.567,89 COP",
    ("IT", "EUR", "es"): "1.234.567,89 €",
    ("IT", "EUR", "en"): "1.234.567,89 €",  # CLDR's en_IT
    ("IT", "EUR", "it"): "1.234.567,89 €",
    ("MX", "MXN", "es"): "$1,234,567.89",
    ("MX", "MXN", "en"): "MX$1,234,567.89",
    ("MX", "MXN", "it"): "1.234.567,89 MXN",
}


@pytest.mark.parametrize("country, currency, locale", list(INVOICE_AMOUNTS))
def test_invoice_amounts_keep_their_decimals(app, ctx, country, currency, locale):
    with app.test_request_context("/"):
        g.tenant = make_tenant(country=country, currency=currency)
        with force_locale(locale):
            shown = money(Decimal("1234567.89"), currency, decimals=2)
    assert shown.replace("\xa0", " ") == INVOICE_AMOUNTS[country, currency, locale]


def test_amounts_follow_the_document_or_the_currency(app, ctx):
    with app.test_request_context("/"):
        g.tenant = make_tenant(currency="COP")
        with force_locale("es"):
            # An invoice's own decimals, whatever they are...
            assert money(Decimal("1234567.5"), decimals=2) == "$\xa01.234.567,50"
            assert money(Decimal("100"), decimals=0) == "$\xa0100"
            assert money(Decimal("10.125"), decimals=3) == "$\xa010,125"
            assert money(Decimal("-15.00"), decimals=2) == "-$\xa015,00"  # a credit note
            # ...and the currency's usual digits for prices the platform sets.
            assert money(Decimal("119000")) == "$\xa0119.000"
            assert money(Decimal("1234.5"), "EUR") == "1.234,50\xa0€"
        with force_locale("it"):
            assert money(Decimal("1234.5"), "EUR") == "1.234,50\xa0€"
            assert format_date(date(2026, 1, 31), "long") == "31 gennaio 2026"
        with force_locale("es"):
            assert format_date(date(2026, 1, 31), "long") == "31 de enero de 2026"
        with force_locale("en"):
            assert money(Decimal("1234.5"), "EUR") == "€1,234.50"


def test_error_pages_are_branded_and_translated(app, client, tenants):
    response = client.get("/t/intertec/no-such-page?lang=it")
    assert response.status_code == 404
    page = doc(response)
    assert text(page, "//article[@class='error-page']//h1") == "Pagina non trovata"
    assert text(page, "//*[@class='brand-name']") == "Intertec"
    plain = app.test_client().get("/nothing-here", headers={"Accept-Language": "es"})
    assert plain.status_code == 404
    assert text(doc(plain), "//article[@class='error-page']//h1") == "Página no encontrada"


def test_500_page_is_branded_and_translated(make_app):
    app = make_app(TESTING=False)

    @app.get("/t/<tenant>/boom")
    def boom():
        raise RuntimeError("kaboom")

    with app.app_context():
        from saas.extensions import db
        from saas.tenancy.services import sync_tenants

        sync_tenants()
        db.session.commit()  # the test owns its transaction
    response = app.test_client().get("/t/intertec/boom?lang=it")
    assert response.status_code == 500
    page = doc(response)
    assert text(page, "//article[@class='error-page']//h1") == "Qualcosa è andato storto"
    assert text(page, "//*[@class='brand-name']") == "Intertec"
    assert "kaboom" not in response.text


def test_render_answers_htmx_with_the_partial(app, tenants, tmp_path):
    app.jinja_loader.searchpath.append(str(tmp_path))
    (tmp_path / "_part.html").write_text('<div id="part">partial</div>')
    with app.test_request_context("/", headers={"HX-Request": "true"}):
        assert render("site/index.html", "_part.html").get_data(as_text=True) == (
            '<div id="part">partial</div>'
        )
    with app.test_request_context("/"):
        assert "<!doctype html>" in render("site/index.html", "_part.html").get_data(as_text=True)


def test_every_response_varies_on_hx_request(client, tenants):
    assert "HX-Request" in client.get("/t/intertec/").headers["Vary"]


def test_security_headers(client, tenants):
    headers = client.get("/t/intertec/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_brand_colours_keep_text_readable():
    pale = "#f1c232"
    assert contrast(readable_on_white(pale), "#ffffff") >= 4.5
    variables = theme_variables(pale)
    assert contrast(variables["--pico-primary-inverse"], pale) >= 4.5

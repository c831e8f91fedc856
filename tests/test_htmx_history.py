"""htmx's history restore: when the user goes Back to a page htmx has no cache of, it asks
for it again with HX-Request *and* HX-History-Restore-Request and swaps the whole body, so
the answer is the full page; a plain HX-Request still gets the fragment."""

from datetime import date

import lxml.html
import pytest

from tests.auth.conftest import sign_in
from tests.factories import PASSWORD, make_user
from tests.invoices import ubl_invoice
from tests.portal.conftest import activate, publish_for

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/"}
RESTORE = {**HTMX, "HX-History-Restore-Request": "true"}


def parse(response):
    return lxml.html.document_fromstring(response.text)


def is_full_page(doc) -> bool:
    """The layout: a doctype, <html> with its <head> and title, the main nav, <main>."""
    return (
        doc.getroottree().docinfo.doctype.lower() == "<!doctype html>"
        and doc.tag == "html"
        and bool(doc.xpath("/html/head/title"))
        and bool(doc.xpath("/html/body/header/nav[@aria-label='Main']"))
        and bool(doc.xpath("/html/body/main[@id='main']"))
    )


def root_elements(response):
    """The top-level elements of a fragment (lxml wraps them in <html><body>)."""
    return lxml.html.fragments_fromstring(response.text)


@pytest.fixture
def recipient(app, tenants):
    for n, day in ((1, 10), (2, 20), (3, 31)):
        publish_for(app, "intertec", ubl_invoice(f"FE-{n}", issue_date=date(2026, 1, day)))
    client = app.test_client()
    activate(client, app, "compras@andina.example")
    return client


@pytest.fixture
def staff(app, tenants):
    for n, day in ((1, 10), (2, 20), (3, 31)):
        publish_for(app, "intertec", ubl_invoice(f"FE-{n}", issue_date=date(2026, 1, day)))
    with app.app_context():
        login = make_user(tenants["intertec"].load(), role="support").username
    client = app.test_client()
    assert sign_in(client, "intertec", login, PASSWORD).status_code == 302
    return client


def numbers(doc):
    return sorted(n.strip() for n in doc.xpath("//tbody[@id='invoice-rows']/tr/td[1]//text()"))


def test_portal_filtered_list_htmx_gets_the_fragment(recipient):
    url = "/t/intertec/invoices?from=2026-01-15&lang=en"
    response = recipient.get(url, headers={**HTMX, "HX-Target": "invoice-list"})
    assert response.status_code == 200
    roots = root_elements(response)
    assert [(e.tag, e.get("id")) for e in roots] == [
        ("section", "invoice-list"),
        ("form", "pending-form"),  # the header's button, out of band
        ("small", "from-error"),  # the dates' messages (none here), out of band
        ("small", "to-error"),
    ]
    assert {e.get("hx-swap-oob") for e in roots[1:]} == {"true"}
    assert not is_full_page(parse(response))
    assert "FE-2" in roots[0].text_content() and "FE-1" not in roots[0].text_content()


def test_portal_filtered_list_history_restore_gets_the_full_page(recipient):
    url = "/t/intertec/invoices?from=2026-01-15&lang=en"
    response = recipient.get(url, headers=RESTORE)
    assert response.status_code == 200
    doc = parse(response)
    assert is_full_page(doc)
    (section,) = doc.xpath("/html/body/main//section[@id='invoice-list']")
    assert "FE-2" in section.text_content() and "FE-1" not in section.text_content()
    # The filter form shows the filter of the restored URL, and the pending button is
    # the page header's own (not an out-of-band copy).
    assert doc.xpath("//form[contains(@class, 'filters')]//input[@name='from']/@value") == [
        "2026-01-15"
    ]
    (pending,) = doc.xpath("//form[@id='pending-form']")
    assert pending.get("hx-swap-oob") is None
    # Even with the target htmx had, a restore is a whole page.
    also = parse(recipient.get(url, headers={**RESTORE, "HX-Target": "invoice-list"}))
    assert is_full_page(also)


def test_console_filtered_list_history_restore_gets_the_full_page(staff):
    url = "/t/intertec/console/invoices?from=2026-01-15&lang=en"
    fragment = staff.get(url, headers={**HTMX, "HX-Target": "console-invoices"})
    assert [(e.tag, e.get("id")) for e in root_elements(fragment)] == [
        ("section", "console-invoices"),
        ("small", "q-error"),  # the filter's messages (none here), out of band
        ("small", "from-error"),
        ("small", "to-error"),
    ]
    assert not is_full_page(parse(fragment))

    page = staff.get(url, headers=RESTORE)
    doc = parse(page)
    assert is_full_page(doc)
    assert doc.xpath("//nav[@aria-label='Console']//a[@aria-current='page']/@href") == [
        "/t/intertec/console/invoices"
    ]
    assert numbers(doc) == ["FE-2", "FE-3"]


def test_load_more_restored_from_history_is_a_full_page(staff, app):
    for n in range(4, 56):
        publish_for(app, "intertec", ubl_invoice(f"FE-{n}", issue_date=date(2026, 2, 1)))
    first = parse(staff.get("/t/intertec/console/invoices?lang=en"))
    (more,) = first.xpath("//tr[@id='load-more']//a/@hx-get")
    rows = staff.get(more, headers={**HTMX, "HX-Target": "load-more"})
    assert {e.tag for e in root_elements(rows)} == {"tr"}
    restored = parse(staff.get(more, headers={**RESTORE, "HX-Target": "load-more"}))
    assert is_full_page(restored)
    assert restored.xpath("//table[contains(@class, 'invoices')]/tbody[@id='invoice-rows']/tr")


@pytest.mark.parametrize("headers", [{}, HTMX, RESTORE])
def test_responses_vary_on_the_headers_that_choose_them(recipient, headers):
    response = recipient.get("/t/intertec/invoices?lang=en", headers=headers)
    vary = {v.strip().lower() for v in response.headers["Vary"].split(",")}
    assert {"hx-request", "hx-history-restore-request", "hx-target", "hx-boosted"} <= vary

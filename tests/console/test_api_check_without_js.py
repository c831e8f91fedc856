"""The API page's "Check credentials" works without JavaScript: a plain POST gets the
whole page with the result in it; htmx's POST gets the result alone, to swap in."""

import re

import lxml.html

from tests.auth.conftest import csrf_from
from tests.console.test_console import staff_client
from tests.factories import PASSWORD

CHECK = "/t/intertec/console/api/check?lang=en"


def new_key(client) -> tuple[str, str]:
    page = client.get("/t/intertec/console/api?lang=en").text
    made = client.post(
        "/t/intertec/console/api/keys?lang=en",
        data={"csrf_token": csrf_from(page), "password": PASSWORD},
    )
    assert made.status_code == 303
    shown = client.get(made.headers["Location"]).text
    return csrf_from(page), re.search(r'<code id="new-key">([^<]+)</code>', shown).group(1)


def test_a_plain_post_gets_the_whole_page_with_the_result(app, tenants):
    client = staff_client(app, tenants, "biller")
    token, raw = new_key(client)
    for key, words in [(raw, "The credentials work"), (raw + "x", "is not valid for Intertec")]:
        response = client.post(CHECK, data={"csrf_token": token, "key": key})
        assert response.status_code == 200
        doc = lxml.html.document_fromstring(response.text)
        assert doc.tag == "html" and doc.find("body") is not None
        assert doc.xpath("//nav[@class='console-nav']"), "the console's navigation"
        assert doc.xpath("string(//h1)") == "API"
        results = doc.xpath("//*[@id='check-result']")
        assert len(results) == 1 and words in results[0].text_content()
        # The rest of the page is there too: the key form and the list of keys.
        assert doc.xpath("//form[contains(@action, '/console/api/keys')]")
        assert raw[:12] + "…" in doc.xpath("string(//table)")


def test_an_htmx_post_gets_the_result_alone(app, tenants):
    client = staff_client(app, tenants, "biller")
    token, raw = new_key(client)
    response = client.post(
        CHECK, data={"csrf_token": token, "key": raw}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert "<html" not in response.text and "<nav" not in response.text
    fragment = lxml.html.fragment_fromstring(response.text)
    assert fragment.get("id") == "check-result"
    assert "The credentials work" in fragment.text_content()


def test_the_page_without_a_check_has_an_empty_result(app, tenants):
    client = staff_client(app, tenants, "biller")
    doc = lxml.html.document_fromstring(client.get("/t/intertec/console/api?lang=en").text)
    (result,) = doc.xpath("//*[@id='check-result']")
    assert result.text_content().strip() == ""

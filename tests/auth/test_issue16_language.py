"""Issue 16, item 7: the language picked in the header is the signed-in person's own.

Signed in, the header's picker posts (auth.choose_language): it saves User.locale, which
their emails follow (saas.mail.person_locale), and their pages show it even over a
`lang` cookie left from before; a `?lang=` link shows one page, and writes nothing.
Anyone not signed in keeps the plain `?lang=` links.
"""

from __future__ import annotations

import pytest

from saas.auth.models import User
from saas.extensions import db
from saas.tenancy import all_tenants
from tests.auth.conftest import csrf_from, outbox, sign_in
from tests.factories import PASSWORD, make_user
from tests.html import doc, text

NEW = "otoño en la sabana de bogotá"
PICKER = "//header//form[@action='/t/intertec/language']"


@pytest.fixture
def rosa(app, tenants):
    """A recipient of Intertec (Spanish first) who has never chosen a language."""
    with app.app_context():
        return make_user(
            tenants["intertec"].load(),
            email="rosa@example.com",
            username="rosa",
            kind="recipient",
            role=None,
        ).id


def locale_of(app, user_id):
    with app.app_context(), all_tenants():
        return db.session.get(User, user_id).locale


def pick(client, lang, page="/t/intertec/invoices"):
    """Press a language in the header of `page`, as the browser would post it."""
    shown = doc(client.get(page))
    [form] = shown.xpath(PICKER)
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
    assert form.xpath(f".//button[@name='lang'][@value='{lang}']"), "no such language"
    return client.post(form.get("action"), data={**fields, "lang": lang})


def signed_in(app, login="rosa"):
    client = app.test_client()
    assert sign_in(client, "intertec", login, PASSWORD, lang="es").status_code == 302
    return client


def test_signed_out_the_picker_is_links(app, tenants):
    page = doc(app.test_client().get("/t/intertec/login"))
    assert page.xpath(PICKER) == []
    assert page.xpath("//ul[@class='language-switcher']//a/@href") == [
        "/t/intertec/login?lang=es",
        "/t/intertec/login?lang=en",
        "/t/intertec/login?lang=it",
    ]


def test_picking_saves_the_persons_language(app, tenants, rosa):
    client = signed_in(app)
    page = doc(client.get("/t/intertec/invoices?x=1"))
    [form] = page.xpath(PICKER)
    assert [b.get("value") for b in form.xpath(".//button[@name='lang']")] == ["es", "en", "it"]
    assert form.xpath(".//button[@aria-current='true']/@value") == ["es"]
    answer = pick(client, "en", "/t/intertec/invoices?x=1&lang=es")
    assert answer.status_code == 303
    # Back to the same page, without the `lang` that would outvote the choice.
    assert answer.headers["Location"] == "/t/intertec/invoices?x=1"
    assert "lang=en" in answer.headers["Set-Cookie"]
    assert locale_of(app, rosa) == "en"
    shown = doc(client.get("/t/intertec/invoices"))
    assert shown.xpath("/html/@lang") == ["en"]
    assert shown.xpath(f"{PICKER}//button[@aria-current='true']/@value") == ["en"]


def test_the_password_changed_email_follows_the_header(app, tenants, rosa):
    client = signed_in(app)
    pick(client, "en")
    url = "/t/intertec/account/password"
    page = client.get(url)
    assert text(doc(page), "//h1") == "Change your password"  # the page in English too
    changed = client.post(
        url,
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": PASSWORD,
            "new_password": NEW,
            "confirm_password": NEW,
        },
    )
    assert changed.status_code == 302
    with app.app_context(), all_tenants():
        [mail] = outbox("password_changed")
        assert mail.to_addr == "rosa@example.com"
        assert (mail.locale, mail.subject) == ("en", "Your Intertec password was changed")


def test_staff_too_and_the_cookie_of_before_does_not_outvote_it(app, tenants):
    with app.app_context():
        staff = make_user(tenants["intertec"].load(), username="ugo", role="admin").id
    client = signed_in(app, "ugo")
    pick(client, "it", "/t/intertec/console/")
    assert locale_of(app, staff) == "it"
    client.set_cookie("lang", "en")  # as a `?lang=en` page before signing in left it
    assert doc(client.get("/t/intertec/console/")).xpath("/html/@lang") == ["it"]


def test_a_lang_link_shows_one_page_and_saves_nothing(app, tenants, rosa):
    client = signed_in(app)
    pick(client, "it")
    assert doc(client.get("/t/intertec/invoices?lang=en")).xpath("/html/@lang") == ["en"]
    assert locale_of(app, rosa) == "it"  # a GET writes nothing
    assert doc(client.get("/t/intertec/invoices")).xpath("/html/@lang") == ["it"]


def test_what_the_picker_refuses(app, tenants, rosa):
    client = signed_in(app)
    page = client.get("/t/intertec/invoices")
    token = csrf_from(page.text)
    # A language the tenant does not offer, or none: nothing changes.
    for lang in ("fr", ""):
        answer = client.post("/t/intertec/language", data={"csrf_token": token, "lang": lang})
        assert answer.status_code == 303
    assert locale_of(app, rosa) is None
    # Never back to another site.
    away = client.post(
        "/t/intertec/language",
        data={"csrf_token": token, "lang": "en", "next": "https://evil.example/x"},
    )
    assert away.headers["Location"] == "/t/intertec/invoices"
    # Without the CSRF token, nothing.
    assert client.post("/t/intertec/language", data={"lang": "it"}).status_code == 400
    assert locale_of(app, rosa) == "en"


def test_a_session_of_another_tenant_saves_nothing_there(app, tenants, rosa, other_tenant):
    client = signed_in(app)
    page = client.get(f"/t/{other_tenant.slug}/login")
    answer = client.post(
        f"/t/{other_tenant.slug}/language",
        data={"csrf_token": csrf_from(page.text), "lang": "en"},
    )
    assert answer.status_code == 302  # not signed in there: to its sign-in page
    assert answer.headers["Location"].startswith(f"/t/{other_tenant.slug}/login")
    assert "lang=" not in answer.headers.get("Set-Cookie", "")
    assert locale_of(app, rosa) is None


def test_open_while_a_password_change_is_due(app, tenants):
    with app.app_context():
        forced = make_user(
            tenants["intertec"].load(),
            username="tomas",
            kind="recipient",
            role=None,
            must_change_password=True,
        ).id
    client = signed_in(app, "tomas")
    answer = pick(client, "it", "/t/intertec/account/password")
    assert answer.headers["Location"] == "/t/intertec/account/password"
    assert locale_of(app, forced) == "it"

"""Issue 16, item 11: "Open your mail" after we emailed a link.

A known provider's webmail by the address's domain (a new tab); any other address gets
no button, only the words to open the inbox: a mailto: to one's own address opened a
blank new email.
"""

from __future__ import annotations

import pytest

from saas.auth.webmail import BY_DOMAIN, webmail_for
from tests.auth.conftest import post_form
from tests.html import doc, text

WEBMAILS = [
    ("bea@gmail.com", "Gmail", "https://mail.google.com/"),
    ("bea@googlemail.com", "Gmail", "https://mail.google.com/"),
    ("bea@hotmail.com", "Outlook", "https://outlook.live.com/mail/"),
    ("bea@hotmail.it", "Outlook", "https://outlook.live.com/mail/"),
    ("bea@live.com.mx", "Outlook", "https://outlook.live.com/mail/"),
    ("bea@outlook.es", "Outlook", "https://outlook.live.com/mail/"),
    ("bea@yahoo.com", "Yahoo Mail", "https://mail.yahoo.com/"),
    ("bea@yahoo.com.mx", "Yahoo Mail", "https://mail.yahoo.com/"),
    ("bea@yahoo.es", "Yahoo Mail", "https://mail.yahoo.com/"),
    ("bea@icloud.com", "iCloud Mail", "https://www.icloud.com/mail/"),
    ("bea@me.com", "iCloud Mail", "https://www.icloud.com/mail/"),
    ("bea@proton.me", "Proton Mail", "https://mail.proton.me/"),
    ("bea@protonmail.com", "Proton Mail", "https://mail.proton.me/"),
    ("bea@zoho.com", "Zoho Mail", "https://mail.zoho.com/"),
    ("bea@libero.it", "Libero Mail", "https://mail.libero.it/"),
    ("bea@virgilio.it", "Virgilio Mail", "https://mail.virgilio.it/"),
    ("bea@alice.it", "TIM Mail", "https://mail.tim.it/"),
    ("bea@tiscali.it", "Tiscali Mail", "https://mail.tiscali.it/"),
    ("Bea@GMAIL.COM ", "Gmail", "https://mail.google.com/"),  # as typed
]


@pytest.mark.parametrize("email, name, url", WEBMAILS)
def test_known_providers_by_domain(email, name, url):
    webmail = webmail_for(email)
    assert webmail is not None and (webmail.name, webmail.url) == (name, url)


@pytest.mark.parametrize(
    "email", ["bea@empresa.com.co", "bea@intertec.com.co", "bea@gmail.com.co", "bea@mail.libero"]
)
def test_any_other_address_has_no_webmail(email):
    assert webmail_for(email) is None


def test_every_webmail_is_https():
    assert all(webmail.url.startswith("https://") for webmail in BY_DOMAIN.values())


def ask_for_link(client, email, lang="en"):
    return post_form(client, f"/t/intertec/login/magic?lang={lang}", {"email": email})


def mailbox_of(response):
    """The button to the mailbox (href, text, target), or the words instead of one."""
    page = doc(response)
    buttons = page.xpath("//article//a[contains(@class, 'open-mail')]")
    words = page.xpath("//article//span[contains(@class, 'open-mail')]")
    assert len(buttons) + len(words) == 1
    if buttons:
        return buttons[0].get("href"), text(buttons[0]), buttons[0].get("target")
    return text(words[0])


def test_the_magic_link_page_goes_to_yahoo(app, tenants):
    response = ask_for_link(app.test_client(), "bea@yahoo.com.mx")
    assert mailbox_of(response) == ("https://mail.yahoo.com/", "Go to Yahoo Mail", "_blank")


def test_a_company_address_gets_words_and_no_mailto(app, tenants):
    response = ask_for_link(app.test_client(), "bea@empresa.com.co")
    assert mailbox_of(response) == (
        "Open your inbox and look for our email; if it is not there, look in the spam folder."
    )
    assert doc(response).xpath("//a[starts-with(@href, 'mailto:')]") == []


def test_in_spanish_and_italian(app, tenants):
    client = app.test_client()
    assert mailbox_of(ask_for_link(client, "bea@libero.it", lang="it"))[1] == "Vai a Libero Mail"
    assert mailbox_of(ask_for_link(client, "bea@icloud.com", lang="es"))[1] == "Ir a iCloud Mail"
    assert mailbox_of(ask_for_link(client, "bea@empresa.it", lang="it")).startswith(
        "Apri la tua casella"
    )


def test_the_lost_password_page_too(app, tenants):
    client = app.test_client()
    by_email = post_form(client, "/t/adriatica/password/forgot?lang=en", {"email": "x@virgilio.it"})
    assert mailbox_of(by_email) == ("https://mail.virgilio.it/", "Go to Virgilio Mail", "_blank")
    other = post_form(client, "/t/adriatica/password/forgot?lang=en", {"email": "x@studio.it"})
    assert isinstance(mailbox_of(other), str)
    assert doc(other).xpath("//a[starts-with(@href, 'mailto:')]") == []

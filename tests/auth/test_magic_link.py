"""Magic links: same answer for everyone, rate limits, once only, 30 minutes, no prefetch."""

import re
import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from saas import clock
from saas.audit import AuditEvent
from saas.extensions import db
from saas.tenancy import all_tenants
from tests.auth.conftest import csrf_from, link_in, post_form
from tests.conftest import LiveServer, wait_until
from tests.factories import make_user
from tests.html import doc, problems, text


@pytest.fixture
def smtp_app(make_app, smtp, tenants):
    return make_app(MAIL_URL=smtp.url)


@pytest.fixture
def bea(smtp_app, tenants):
    with smtp_app.app_context():
        return make_user(
            tenants["intertec"].load(),
            email="bea@gmail.com",
            username="bea",
            name="Bea Ruiz",
            kind="recipient",
            role=None,
        ).id


def ask_for_link(client, email, lang="en"):
    return post_form(client, f"/t/intertec/login/magic?lang={lang}", {"email": email})


def mailed_link(smtp, n=1):
    messages = wait_until(lambda: len(smtp.messages) >= n and smtp.messages, message="the email")
    return link_in(messages[n - 1].get_body(("plain",)).get_content())


def path_of(link):
    return re.sub(r"^https?://[^/]+", "", link)


def test_request_page(smtp_app):
    page = smtp_app.test_client().get("/t/intertec/login/magic?lang=en").text
    assert '<label for="email">Email</label>' in page and "Send magic link" in page


def test_same_answer_whether_or_not_the_address_has_an_account(smtp_app, smtp, bea):
    known = ask_for_link(smtp_app.test_client(), "bea@gmail.com")
    unknown = ask_for_link(smtp_app.test_client(), "nobody@gmail.com")
    assert known.status_code == unknown.status_code == 200

    def strip(response):
        page = re.sub(r'(value|content)="[^"]*"', "", response.text)
        return page.replace("bea@gmail.com", "X").replace("nobody@gmail.com", "X")

    assert strip(known) == strip(unknown)
    assert "If bea@gmail.com has an account, we have sent a sign-in link to it." in known.text
    wait_until(lambda: smtp.messages)
    assert [m["To"] for m in smtp.messages] == ["bea@gmail.com"]
    with smtp_app.app_context(), all_tenants():
        events = db.session.scalars(select(AuditEvent.event).order_by(AuditEvent.id)).all()
        assert events.count("magic_link.requested") == 2
        assert events.count("magic_link.sent") == 1


@pytest.mark.parametrize(
    "email, button",
    [
        ("bea@gmail.com", "Go to Gmail"),
        ("bea@hotmail.com", "Go to Outlook"),
        ("bea@outlook.com", "Go to Outlook"),
        ("bea@empresa.com.co", "Open your inbox"),  # no button (tests/auth/test_issue16_mailbox.py)
    ],
)
def test_mail_button_follows_the_domain(smtp_app, email, button):
    page = ask_for_link(smtp_app.test_client(), email).text
    assert button in page
    # "Send again" is disabled, with a countdown, for the first 60 seconds.
    assert re.search(r'data-countdown="60"\s+disabled', page)
    assert "Send again" in page and "(60 s)" in page


def test_one_link_a_minute_and_five_an_hour(smtp_app, bea, frozen_clock):
    client = smtp_app.test_client()
    assert ask_for_link(client, "bea@gmail.com").status_code == 200
    too_soon = ask_for_link(client, "BEA@gmail.com ")
    assert too_soon.status_code == 429 and too_soon.headers["Retry-After"] == "60"
    assert "Please wait 60 seconds before trying again." in problems(too_soon)
    for _ in range(4):
        clock.travel(timedelta(seconds=61))
        assert ask_for_link(client, "bea@gmail.com").status_code == 200
    clock.travel(timedelta(seconds=61))
    sixth = ask_for_link(client, "bea@gmail.com")
    assert sixth.status_code == 429
    wait = int(sixth.headers["Retry-After"])
    assert 3600 - 5 * 61 - 1 <= wait <= 3600 - 5 * 61 + 1
    assert "Please wait 55 minutes before trying again." in problems(sixth)
    # An unknown address is limited in exactly the same way.
    assert ask_for_link(client, "ghost@gmail.com").status_code == 200
    assert ask_for_link(client, "ghost@gmail.com").status_code == 429


def test_link_signs_in_once_and_get_never_uses_it(smtp_app, smtp, bea):
    client = smtp_app.test_client()
    ask_for_link(client, "bea@gmail.com", lang="it")
    message = wait_until(lambda: smtp.messages)[0]
    # Bea has chosen no language: the email is in the page's (saas.mail.person_locale).
    assert message["Subject"] == "Il tuo link di accesso a Intertec"
    link = mailed_link(smtp)
    assert link.startswith("http://portal.test/t/intertec/login/magic/")
    path = path_of(link)
    # Scanners prefetch links: GET and HEAD show a button and use nothing.
    assert smtp_app.test_client().head(path).status_code == 200
    for _ in range(2):
        page = smtp_app.test_client().get(path)
        assert page.status_code == 200 and "Iniciar sesión" in page.text
    response = client.post(path, data={"csrf_token": csrf_from(client.get(path).text)})
    assert response.status_code == 302 and response.headers["Location"] == "/t/intertec/invoices"
    assert "Bea Ruiz" in client.get("/t/intertec/account").text
    # Used: GET and POST now say so, with a way to ask for a new link.
    other = smtp_app.test_client()
    again = other.get(path)
    assert again.status_code == 410
    assert text(doc(again), "//h1") == "Este enlace ya no funciona"
    assert doc(again).xpath("//a[@href='/t/intertec/login/magic']")
    token = csrf_from(other.get("/t/intertec/login").text)
    assert other.post(path, data={"csrf_token": token}).status_code == 410
    with smtp_app.app_context(), all_tenants():
        assert "magic_link.used" in db.session.scalars(select(AuditEvent.event)).all()


def test_link_expires_after_thirty_minutes(smtp_app, smtp, bea, frozen_clock):
    client = smtp_app.test_client()
    ask_for_link(client, "bea@gmail.com")
    path = path_of(mailed_link(smtp))
    clock.travel(timedelta(minutes=29, seconds=59))
    assert client.get(path).status_code == 200
    clock.travel(timedelta(seconds=2))
    assert client.get(path).status_code == 410


def test_a_newer_link_kills_the_older_one(smtp_app, smtp, bea):
    client = smtp_app.test_client()
    ask_for_link(client, "bea@gmail.com")
    first = path_of(mailed_link(smtp))
    clock.travel(timedelta(seconds=61))
    ask_for_link(client, "bea@gmail.com")
    second = path_of(mailed_link(smtp, 2))
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_unknown_or_mangled_links_show_a_page_not_a_traceback(smtp_app):
    client = smtp_app.test_client()
    for token in ("nope", "x" * 500, "%00%ff"):
        response = client.get(f"/t/intertec/login/magic/{token}")
        assert response.status_code == 410


def test_links_of_one_tenant_do_not_work_at_another(smtp_app, smtp, bea):
    client = smtp_app.test_client()
    ask_for_link(client, "bea@gmail.com")
    token = mailed_link(smtp).rsplit("/", 1)[1]
    assert client.get(f"/t/adriatica/login/magic/{token}").status_code == 410


def test_disabled_method_is_404(smtp_app):
    client = smtp_app.test_client()  # Azteca signs in with password and Google only
    assert client.get("/t/azteca/login/magic").status_code == 404
    assert client.get("/t/azteca/login/magic/whatever").status_code == 404


@pytest.mark.committed  # the live server's threads
def test_twenty_concurrent_posts_sign_in_exactly_once(smtp_app, smtp, bea):
    ask_for_link(smtp_app.test_client(), "bea@gmail.com")
    path = path_of(mailed_link(smtp))
    with LiveServer(smtp_app) as server:
        sessions = []
        for _ in range(20):
            s = requests.Session()
            token = csrf_from(s.get(server.url + path, timeout=10).text)
            sessions.append((s, token))
        barrier = threading.Barrier(len(sessions))
        results = []

        def post(s, token):
            barrier.wait()
            r = s.post(
                server.url + path, data={"csrf_token": token}, allow_redirects=False, timeout=30
            )
            results.append(r.status_code)

        threads = [threading.Thread(target=post, args=pair) for pair in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [302] + [410] * 19
    with smtp_app.app_context(), all_tenants():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "signin.succeeded")
        ).all()
        assert len(events) == 1

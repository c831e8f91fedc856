"""Ids in URLs never give a 500; private answers are never cached; the outbox is local only."""

from __future__ import annotations

import re

import pytest
from flask import g

from saas.auth import apikeys
from saas.auth.models import User
from saas.extensions import db
from saas.platform.views import create_platform_admin
from tests.auth.conftest import sign_in
from tests.factories import PASSWORD, make_user

ARGUMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")
ID_CONVERTERS = {"int", "id"}


def id_routes(app):
    """Every rule with an id in its path, as (rule, path template, method)."""
    found = []
    for rule in app.url_map.iter_rules():
        if not any(c in ID_CONVERTERS for c, _a, _n in ARGUMENT.findall(rule.rule)):
            continue
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
        found.append((rule, method))
    return found


def path_for(rule, number: int) -> str:
    def value(match):
        converter, args, name = match.groups()
        if converter in ID_CONVERTERS:
            return str(number)
        if converter == "any":
            return args.split(",")[0].strip()
        return "intertec" if name == "tenant" else "x"

    return ARGUMENT.sub(value, rule.rule)


@pytest.fixture
def no_csrf_app(make_app):
    # Without CSRF, a POST reaches its view (or its URL converter) as a real one would.
    return make_app(WTF_CSRF_ENABLED=False)


@pytest.fixture
def signed_in_clients(no_csrf_app, tenants):
    app = no_csrf_app
    with app.app_context():
        tenant = tenants["intertec"].load()
        make_user(tenant, email="admin@example.com", username="admin", role="admin")
        make_user(tenant, email="reader@example.com", username="reader", kind="recipient")
        create_platform_admin(email="ops@p.test", name="Ops", password=PASSWORD)
    staff, recipient, anonymous, operator = (app.test_client() for _ in range(4))
    for client, login in ((staff, "admin"), (recipient, "reader")):
        response = client.post("/t/intertec/login", data={"login": login, "password": PASSWORD})
        assert response.status_code == 302
    assert (
        operator.post(
            "/platform/login", data={"email": "ops@p.test", "password": PASSWORD}
        ).status_code
        == 302
    )
    return {"staff": staff, "recipient": recipient, "anonymous": anonymous, "operator": operator}


@pytest.mark.parametrize("number", [2**31, 2**63])
def test_huge_ids_are_404_on_every_route(no_csrf_app, signed_in_clients, number):
    routes = id_routes(no_csrf_app)
    assert len(routes) >= 14, [r.rule for r, _m in routes]
    failures = []
    for rule, method in routes:
        path = path_for(rule, number)
        for who, client in signed_in_clients.items():
            response = client.open(path, method=method)
            location = response.headers.get("Location", "")
            to_sign_in = response.status_code in (302, 303) and "login" in location
            if not (response.status_code == 404 or to_sign_in):
                failures.append((who, method, path, response.status_code))
    assert failures == []


@pytest.mark.parametrize("before", [str(2**31), str(2**63), "-1", "0", "x"])
def test_the_audit_logs_before_is_an_id_or_ignored(signed_in_clients, before):
    response = signed_in_clients["staff"].get(f"/t/intertec/console/audit?before={before}")
    assert response.status_code == 200


def test_ids_in_range_still_route(no_csrf_app):
    adapter = no_csrf_app.url_map.bind("portal.test")
    endpoint, args = adapter.match("/t/intertec/invoices/2147483647")
    assert endpoint == "portal.invoice" and args["invoice_id"] == 2**31 - 1
    for bad in ("0", "2147483648", "-1", "1x"):
        with pytest.raises(Exception) as raised:
            adapter.match(f"/t/intertec/invoices/{bad}")
        assert getattr(raised.value, "code", None) == 404


# --- D. Cache-Control -----------------------------------------------------------------------


def test_signed_in_pages_downloads_and_the_api_are_not_stored(app, tenants):
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        user = make_user(g.tenant, email="admin@example.com", username="admin", role="admin")
        _key, raw = apikeys.create_api_key(db.session.get(User, user.id))
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "intertec", "admin", PASSWORD).status_code == 302
    for path in (
        "/t/intertec/console/",
        "/t/intertec/account",
        "/t/intertec/console/audit",
        "/t/intertec/console/users",
        "/t/intertec/",
        "/t/intertec/console/nothing-here",  # an error page, to a signed-in person
    ):
        response = client.get(path)
        assert "no-store" in response.headers.get("Cache-Control", ""), path
    api = app.test_client()
    for headers in ({}, {"Authorization": f"Bearer {raw}"}):
        for path in ("/t/intertec/api/v1/credentials", "/t/intertec/api/v1/openapi.json"):
            response = api.get(path, headers=headers)
            assert "no-store" in response.headers.get("Cache-Control", ""), path


def test_public_assets_keep_their_caching_even_when_signed_in(app, tenants):
    with app.app_context():
        make_user(tenants["intertec"].load(), email="a@example.com", username="a", role="admin")
    client = app.test_client()
    assert sign_in(client, "intertec", "a", PASSWORD).status_code == 302
    theme = client.get("/t/intertec/theme.css")
    assert theme.status_code == 200
    assert "no-store" not in theme.headers.get("Cache-Control", "")
    assert "max-age=300" in theme.headers["Cache-Control"]
    logo = client.get("/t/intertec/logo")
    if logo.status_code == 200:
        assert "max-age=3600" in logo.headers["Cache-Control"]
    static = client.get("/static/" + next(iter_static(app)))
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
    # Public pages to anonymous visitors are not touched either.
    login = app.test_client().get("/t/intertec/login")
    assert "no-store" not in login.headers.get("Cache-Control", "")


def iter_static(app):
    from pathlib import Path

    root = Path(app.static_folder)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path.relative_to(root).as_posix()


# --- F. the dev outbox behind a proxy --------------------------------------------------------


def test_the_outbox_refuses_requests_that_came_through_a_proxy(make_app, tenants):
    direct = make_app()
    assert direct.test_client().get("/dev/outbox").status_code == 200
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        value = "for=127.0.0.1" if header == "Forwarded" else "127.0.0.1"
        response = direct.test_client().get("/dev/outbox", headers={header: value})
        assert response.status_code == 404, header
    # Behind a proxy on this host: ProxyFix makes remote_addr the client's, here "local".
    proxied = make_app(PROXY_HOPS=1)
    client = proxied.test_client()
    for headers in ({"X-Forwarded-For": "127.0.0.1"}, {}):
        assert client.get("/dev/outbox", headers=headers).status_code == 404
        assert client.get("/", headers=headers).status_code == 200

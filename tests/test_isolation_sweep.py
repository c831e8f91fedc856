"""Isolation swept over the URL map: no tenant route shows or changes another tenant's rows.

Generated from `app.url_map`, not a hand list: every `/t/<tenant>/` rule, every method but
HEAD and OPTIONS, every `any(...)` choice, other arguments filled by name from FILL. A new
route is swept without anyone adding it; an argument FILL lacks fails
`test_every_argument_of_a_tenant_route_is_filled` (rule and name); a skipped rule fails.

Tenants A (intertec, CO) and B (azteca, MX) have two sides each: issuer I1 -> customer C1
(recipient R1; a Biller limited to I1, his key and upload batch; R1's export) and issuer
I2 -> C2 (R2; the Administrator's key and batch; R2's export). Both ways (home -> away):

1. home's Administrator (signed in at home) on away's URLs with away's rows and home's
   tokens replayed: 401/403/404 or a redirect to away's sign-in (404/410 on token pages;
   PUBLIC pages may answer, showing nothing of away);
2. home's API key, and home's password over HTTP Basic, on away's API: the same;
3. home's Administrator, R1 and key on home's URLs with away's rows and tokens: 404 (403
   without the page's permission, 401 on the API without a key, 410 on token pages);
4. inside a tenant, with side 2's rows: R1 and the I1 Biller (session and key) likewise,
   and none of their pages, lists included, shows side 2.

No answer shows the other side's invoice numbers, national ids, emails, customer tax ids
or names (issuers' tax ids are public: the recovery page's NIT example is Intertec's).
Every row of both tenants is unchanged afterwards (audit events, mail and keys'
`last_used_at` aside: refusals may be logged). POSTs carry every form field (CSRF off)
and an invoice of the URL's tenant, so a broken wall would change state.
"""

from __future__ import annotations

import base64
import io
import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta

import lxml.html
import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from saas import clock
from saas.auth import apikeys, tokens
from saas.auth.models import User
from saas.console.models import UploadBatch
from saas.demo_invoices import cfdi_invoice
from saas.extensions import db
from saas.permissions import PERMISSIONS
from saas.portal.exports import start_export
from saas.portal.models import ExportJob
from saas.portal.publishing import publish
from saas.seats.purchases import request_purchase
from saas.security import hash_password
from saas.support import services as support
from saas.tenancy import all_tenants
from tests.factories import PASSWORD, make_user
from tests.invoices import fake_pdf, ubl_invoice

A, B = "intertec", "azteca"
ARGUMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")  # converter, its args, name
# Argument name -> (its converter, the row that fills it). `any(...)` takes each choice.
FILL = {
    "tenant": ("default", None),  # the URL's tenant slug
    "invoice_id": ("id", "invoice"),  # an invoice with PDF and XML
    "export_id": ("id", "export"),  # a recipient's finished pending-downloads zip
    "batch_id": ("id", "batch"),  # a staff user's upload batch
    "key_id": ("id", "key"),  # a staff user's API key
    "user_id": ("id", "user"),  # a staff user who is not the owner
    "company_id": ("id", "customer"),  # a customer company with an active recipient
    "recipient_id": ("id", "recipient"),  # that company's active recipient
    "token": ("default", "token"),  # a one-time token of the purpose TOKENS names
    "purchase_id": ("id", "purchase"),  # a pending seat purchase
    "request_id": ("id", "support"),  # a recipient's support request, about their invoice
    "message_id": ("id", "message"),  # its first message, with an attachment
    "own_request_id": ("id", "own_request"),  # a staff user's own request (side 1: the Biller's)
    "own_message_id": ("id", "own_message"),  # its first message, with an attachment
    "position": ("int", None),  # the first of an invoice's attachments: names no row
}
TOKENS = {"portal.access": "access_link", "portal.set_password": "set_password"}  # endpoint
TOKENS |= {"auth.magic_link": "magic_link", "auth.reset_password": "reset_email"}  # -> purpose
TOKENS |= {"seats.invitation": "staff_invite"}
# Pages for anybody: to an outsider they may answer, but show none of the tenant's rows.
PUBLIC = {"site.home", "site.theme", "site.logo", "api.openapi"}
PUBLIC |= {"auth.login", "auth.magic_request", "auth.google_start", "auth.forgot_password"}
LOG_TABLES = {"audit_event", "outbox_message"}
VOLATILE = {"last_used_at"}
NEW_PASSWORD = "mallory owns this portal now"
FORM = {  # every field of every form, filled: what gets through a broken wall acts
    **dict.fromkeys(("password", "current_password"), PASSWORD),
    **dict.fromkeys(("new_password", "confirm_password"), NEW_PASSWORD),
    **{"login": "mallory", "name": "Mallory", "email": "mallory@evil.test", "role": "admin"},
    **{"quantity": "3", "tax_id": "1", "key": "x", "companies": [], "locale": "en"},
    **{"locales": ["en"], "default_locale": "en", "login_methods": ["password"]},
    **{"password_reset": "email", "onboarding": "two_emails", "password_max_age_days": "0"},
    **{"primary_color": "#000000", "accent_color": "#ffffff"},
}
AZTECA_ISSUERS = [("AZT010101AB1", "COMERCIALIZADORA AZTECA"), ("AZN020202CD2", "AZTECA NORTE")]
AZTECA_CUSTOMERS = [("MEX920315KL2", "COMERCIAL MEXICANA"), ("GOL850101XY3", "GOLFO DIST")]


def document(slug: str, number: int, side: int) -> bytes:
    """An invoice of the tenant's country, from issuer I<side> to customer C<side>."""
    if slug == A:
        issuer, customer = ("intertec", "sucursal")[side - 1], ("andina", "cafetera")[side - 1]
        return ubl_invoice(f"INTA-{number}", issuer=issuer, customer=customer, email=None)
    issuer, customer = AZTECA_ISSUERS[side - 1], AZTECA_CUSTOMERS[side - 1]
    return cfdi_invoice("AZB", str(number), issuer=issuer, customer=customer)


def posted_form(slug: str) -> dict:
    doc = document(slug, 6666, 1)  # a new invoice: published only through a broken wall
    files = {name: (io.BytesIO(doc), "mallory.xml") for name in ("xml", "files")}
    return {**FORM, **files}


# --- the rules -----------------------------------------------------------------------------


def tenant_rules(app):
    rules = (r for r in app.url_map.iter_rules() if r.rule.startswith("/t/<tenant>/"))
    return sorted(rules, key=lambda r: r.rule)


def methods(rule):
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def foreign_args(rule) -> set[str]:
    """The arguments that name a row or a token (not the tenant, not an `any` choice)."""
    return {
        n
        for c, _a, n in ARGUMENT.findall(rule.rule)
        if c != "any" and n not in ("tenant", "position")
    }


def paths(rule, slug: str, rows: dict, token_rows: dict) -> list[str]:
    """The rule's URLs at tenant `slug`: ids from `rows`, tokens from `token_rows`."""
    parts, choices = ARGUMENT.split(rule.rule), []
    for converter, args, name in zip(parts[1::4], parts[2::4], parts[3::4], strict=True):
        if converter == "any":
            choices.append([c.strip() for c in args.split(",")])
        elif name == "tenant":
            choices.append([slug])
        elif name == "token":
            choices.append([token_rows["token"][TOKENS[rule.endpoint]]])
        elif name == "position":
            choices.append(["0"])
        else:
            choices.append([str(rows[FILL[name][1]])])
    literals = parts[4::4]
    return [
        parts[0] + "".join(v + lit for v, lit in zip(combo, literals, strict=True))
        for combo in itertools.product(*choices)
    ]


# --- the world -----------------------------------------------------------------------------


@dataclass
class Actor:
    name: str
    kind: str  # staff | recipient | anonymous
    role: str | None
    client: object
    headers: dict = field(default_factory=dict)
    api: bool = False  # authenticates to the API (a key or a password), not by session


@dataclass
class Side:
    slug: str
    rows: dict  # FILL's row kinds -> side 1's ids, and "token": {purpose: raw token}
    other: dict  # side 2's ids
    markers: set  # the tenant's data nobody elsewhere may see
    other_markers: set  # side 2's: what side 1's people may not see
    magic: bool  # magic links on (else their pages are 404 to everybody)
    actors: dict = field(default_factory=dict)


@dataclass
class World:
    app: object
    sides: dict
    requests: int = 0
    failures: list = field(default_factory=list)
    swept: dict = field(default_factory=dict)  # sweep -> {(rule, method)}


def secrets_of(invoices, people) -> set[str]:
    numbers = {i.number for i in invoices} | {i.national_id for i in invoices}
    customers = {i.customer.tax_id for i in invoices} | {i.customer.name for i in invoices}
    return numbers | customers | {p.email for p in people}


def build_side(app, ref) -> Side:
    """A tenant's two sides, and its people signed in (or holding their keys)."""
    slug, hashed, found = ref.slug, hash_password(PASSWORD), []
    with app.app_context():
        tenant = ref.load()
        admin, biller = (
            make_user(tenant, email=f"{r}@{slug}.test", username=f"{r}-{slug}", role=r)
            for r in ("admin", "biller")
        )
        admin.is_owner = True
        for n, staff in ((1, biller), (2, admin)):  # side n: issuer In, customer Cn, Rn
            email, pdf = f"r{n}@{slug}-customer.test", fake_pdf(f"{slug}{n}")
            invoice = publish(tenant, document(slug, 1001 * n, n), pdf, email=email).invoices[0]
            person = db.session.scalars(select(User).filter_by(email=email)).one()
            person.password_hash, person.must_change_password = hashed, False
            person.password_changed_at = clock.now()
            if n == 1:
                biller.companies = [invoice.issuer]  # limited to issuer I1
            key, raw = apikeys.create_api_key(staff)
            batch = UploadBatch(tenant_id=tenant.id, user_id=staff.id, total=0)
            db.session.add(batch)
            db.session.commit()
            export = start_export(person)
            db.session.commit()  # zipped in-process, once committed
            row = {"invoice": invoice.id, "export": export.id, "batch": batch.id, "key": key.id}
            row |= {"user": staff.id, "customer": invoice.customer_company_id}
            row |= {"recipient": person.id}
            row |= {"purchase": request_purchase(tenant, admin, n).id}
            png = FileStorage(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 32), "screen.png")
            asked = support.open_request(person, f"ASK-{slug}-{n}", "Help", invoice.id, png)
            db.session.commit()
            row |= {"support": asked.id, "message": asked.messages[0].id}
            png = FileStorage(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"1" * 32), "mine.png")
            own = support.open_request(staff, f"OWN-{slug}-{n}", "Help", invoice.id, png)
            db.session.commit()
            row |= {"own_request": own.id, "own_message": own.messages[0].id}
            found.append((row, invoice, person, raw))
        assert {e.status for e in db.session.scalars(select(ExportJob))} == {"done"}
        (rows, invoice1, r1, biller_key), (other, invoice2, r2, admin_key) = found
        # A staff member invited and not yet in: no password until the link is used.
        invitee = make_user(tenant, email=f"invitee@{slug}.test", username=f"invitee-{slug}")
        invitee.password_hash = None
        holder = {"magic_link": admin, "staff_invite": invitee}  # the other links are R1's
        rows["token"] = {
            p: tokens.issue(p, timedelta(days=1), user_id=holder.get(p, r1).id)
            for p in TOKENS.values()
        }
        db.session.commit()
        side = Side(
            slug,
            rows=rows,
            other=other,
            markers=secrets_of([invoice1, invoice2], db.session.scalars(select(User)))
            | {f"ASK-{slug}-1", f"ASK-{slug}-2", f"OWN-{slug}-1", f"OWN-{slug}-2"},
            other_markers=secrets_of([invoice2], [r2]) | {f"ASK-{slug}-2", f"OWN-{slug}-2"},
            magic="magic_link" in tenant.login_methods,
        )
        logins = {"admin": admin.username, "R1": r1.username, "biller I1": biller.username}
    basic = base64.b64encode(f"admin@{slug}.test:{PASSWORD}".encode()).decode()

    def api(name, role, authorization):
        headers = {"Authorization": authorization}
        return Actor(f"{slug} {name}", "staff", role, app.test_client(), headers, api=True)

    side.actors = {
        "admin": signed_in(app, slug, "admin", logins, "staff", "admin"),
        "R1": signed_in(app, slug, "R1", logins, "recipient", None),
        "biller": signed_in(app, slug, "biller I1", logins, "staff", "biller"),
        "admin key": api("admin (key)", "admin", f"Bearer {admin_key}"),
        "admin basic": api("admin (Basic)", "admin", f"Basic {basic}"),
        "biller key": api("biller I1 (key)", "biller", f"Bearer {biller_key}"),
        "anonymous": Actor(f"{slug} anonymous", "anonymous", None, app.test_client()),
    }
    return side


def signed_in(app, slug, name, logins, kind, role) -> Actor:
    client = app.test_client()
    response = client.post(f"/t/{slug}/login", data={"login": logins[name], "password": PASSWORD})
    assert response.status_code == 302 and "/login" not in response.headers["Location"], name
    return Actor(f"{slug} {name} (session)", kind, role, client)


@pytest.fixture
def no_csrf_app(make_app):
    # Without CSRF, a POST reaches its view (or its URL converter) as a real one would.
    return make_app(WTF_CSRF_ENABLED=False)


@pytest.fixture
def world(no_csrf_app, tenants):
    sides = {slug: build_side(no_csrf_app, tenants[slug]) for slug in (A, B)}
    return World(no_csrf_app, sides)


# --- requests and what they may answer -----------------------------------------------------


def call(world, actor, method, path):
    """One request; the actor's session cookie is put back after it (a sign-out or a flash
    elsewhere must not change who makes the next request)."""
    saved = actor.client.get_cookie("session")
    data = posted_form(path.split("/")[2]) if method == "POST" else None
    response = actor.client.open(path, method=method, headers=actor.headers, data=data)
    body = response.get_data()
    response.close()  # a download streams its file
    if saved is not None:
        actor.client.set_cookie("session", saved.value)
    world.requests += 1
    return response, body


def leaks(response, body: bytes, markers) -> list[str]:
    text = body.decode("utf-8", "replace")
    if "html" in response.content_type and text.strip():
        text += "\n" + lxml.html.fromstring(text).text_content()  # entities decoded
    return sorted(m for m in markers if m and m in text)


def refusals(app, rule, actor) -> set[int]:
    """What `actor` gets for a row or token that is not theirs, at their own tenant."""
    if rule.endpoint.startswith("api.") and not actor.api:
        return {401}
    permission = getattr(app.view_functions[rule.endpoint], "permission", None)
    if permission and not (actor.kind == "staff" and actor.role in PERMISSIONS[permission]):
        return {403}
    return {404, 410} if rule.endpoint in TOKENS else {404}


def check(world, sweep, actor, rule, method, path, markers, outsider):
    world.swept.setdefault(sweep, set()).add((rule.rule, method))
    response, body = call(world, actor, method, path)
    status, location = response.status_code, response.headers.get("Location", "")
    if outsider and rule.endpoint in PUBLIC:
        problem = status >= 500 and "server error"
    elif outsider and rule.endpoint in TOKENS:
        problem = status not in (404, 410) and "a foreign token was accepted"
    elif outsider:
        sign_in = status in (302, 303) and location.startswith(f"/t/{path.split('/')[2]}/login")
        problem = not (status in (401, 403, 404) or sign_in) and "not refused"
    elif foreign_args(rule):
        problem = status not in refusals(world.app, rule, actor) and "another's row answered"
    else:
        problem = status >= 500 and "server error"
    found = leaks(response, body, markers)
    if problem or found:
        detail = location or body[:200].decode("utf-8", "replace")
        world.failures.append(
            f"[{sweep}] {actor.name}: {method} {path} -> {status} {problem or 'leak'} "
            f"{found or ''} | {detail}"
        )


def planned(world):
    """(sweep, actor, rule, method, path, markers, outsider) of every request to make."""
    rules = [(r, m) for r in tenant_rules(world.app) for m in methods(r)]
    for home, away in ((A, B), (B, A)):
        mine, theirs = world.sides[home], world.sides[away]
        secret = theirs.markers
        for rule, method in rules:
            api = ("admin key", "admin basic") if rule.endpoint.startswith("api.") else ()
            # 1, 2. home's people at away's URLs with away's rows (and home's tokens).
            for who in ("admin", *api):
                for path in paths(rule, away, theirs.rows, mine.rows):
                    yield "1-2 outsider", mine.actors[who], rule, method, path, secret, True
            if not foreign_args(rule):
                continue
            # 3. home's people at home's URLs with away's rows and tokens.
            for who in ("admin", "R1", *api[:1]):
                for path in paths(rule, home, theirs.rows, theirs.rows):
                    yield "3 foreign rows", mine.actors[who], rule, method, path, secret, False
    # 4. inside each tenant: side 1's recipient and limited Biller, with side 2's rows.
    for side in world.sides.values():
        hidden = side.other_markers
        for rule, method in rules:
            args = foreign_args(rule)
            api = ("biller key",) if rule.endpoint.startswith("api.") else ()
            if "token" in args or (method != "GET" and not args):
                continue  # tokens are bearer secrets; argument-less POSTs act on one's own
            for who in ("R1", "biller", *api):
                for path in paths(rule, side.slug, side.other, {}):
                    yield "4 same tenant", side.actors[who], rule, method, path, hidden, False


def snapshot(app) -> dict:
    """Every row of the tenants, by table, as comparable text (log tables aside)."""
    with app.app_context(), all_tenants():
        state = {}
        for table in db.metadata.sorted_tables:
            if "tenant_id" in table.c and table.name not in LOG_TABLES:
                query = select(*[c for c in table.c if c.name not in VOLATILE])
            elif table.name in ("tenant", "membership"):
                query = select(table)
            else:
                continue  # the platform's own tables (operators), outside any tenant
            state[table.name] = {tuple(map(repr, row)) for row in db.session.execute(query)}
        return state


def changes(before: dict, after: dict) -> dict:
    return {
        name: {"gone": sorted(before[name] - rows), "new": sorted(rows - before[name])}
        for name, rows in after.items()
        if rows != before[name]
    }


# --- the tests -----------------------------------------------------------------------------


def test_every_argument_of_a_tenant_route_is_filled(app):
    """A new route with an argument the sweep cannot fill fails here, by name."""
    missing = []
    for rule in tenant_rules(app):
        for converter, _args, name in ARGUMENT.findall(rule.rule):
            if converter != "any" and (converter or "default") != FILL.get(name, ("?",))[0]:
                missing.append(f"{rule.rule}: add <{converter or 'default'}:{name}> to FILL")
            if name == "token" and rule.endpoint not in TOKENS:
                missing.append(f"{rule.rule}: add {rule.endpoint} and its purpose to TOKENS")
    assert missing == []


def test_no_tenant_route_crosses_a_wall(world):
    app = world.app
    before, started = snapshot(app), time.monotonic()
    for request in planned(world):
        check(world, *request)
    elapsed = time.monotonic() - started
    pairs = {(r.rule, m) for r in tenant_rules(app) for m in methods(r)}
    with_rows = {(r.rule, m) for r in tenant_rules(app) if foreign_args(r) for m in methods(r)}
    count = f"{len(tenant_rules(app))} rules, {len(pairs)} rule x method pairs"
    print(f"\nswept {count}: {world.requests} requests in {elapsed:.1f}s")
    problems = {
        "responses": world.failures,
        "state": changes(before, snapshot(app)),
        "never requested": sorted(pairs - world.swept["1-2 outsider"])
        + sorted(with_rows - world.swept["3 foreign rows"]),
    }
    assert problems == {"responses": [], "state": {}, "never requested": []}


def owner(app, side: Side, rule) -> Actor:
    """Who may open the rule with side 1's rows."""
    if rule.endpoint in TOKENS:
        return side.actors["anonymous"]
    if rule.endpoint.startswith("api."):
        return side.actors["biller key"]
    permission = getattr(app.view_functions[rule.endpoint], "permission", None)
    if permission:
        return side.actors["biller" if "biller" in PERMISSIONS[permission] else "admin"]
    return side.actors["R1"]


def test_the_sweeps_urls_reach_their_own_rows(world):
    """The control: filled with its own rows, each GET URL the sweep sends works for the
    row's owner (the refusals above are the walls', not wrong URLs), an invoice's page
    shows what the leak check looks for, and a change by the owner is one the snapshot
    sees."""
    app, wrong = world.app, []
    with_rows = [r for r in tenant_rules(app) if foreign_args(r) and "GET" in r.methods]
    assert len(with_rows) >= 12, [r.rule for r in with_rows]
    for side in world.sides.values():
        for rule in with_rows:
            if rule.endpoint.startswith("auth.magic") and not side.magic:
                continue
            if rule.endpoint == "portal.attachment":
                continue  # the sweep's invoices embed no file: test_invoice_reading.py's do
            actor = owner(app, side, rule)
            for path in paths(rule, side.slug, side.rows, side.rows):
                response, body = call(world, actor, "GET", path)
                shown = leaks(response, body, side.markers)
                number = "invoice_id" in rule.arguments and "what" not in rule.arguments
                if response.status_code != 200 or (number and not shown):
                    wrong.append((actor.name, path, response.status_code, shown))
    assert wrong == []
    side, before = world.sides[A], snapshot(app)
    path = f"/t/{A}/console/api/keys/{side.rows['key']}/revoke"
    assert call(world, side.actors["admin"], "POST", path)[0].status_code == 303
    assert set(changes(before, snapshot(app))) == {"api_key"}

"""A seat purchase: acknowledged to the Administrator who asked; then activated by an
operator (after confirming, with the payment reference), rejected (with a reason, emailed
to the tenant's Administrators) or cancelled by the tenant while pending; once only."""

import threading

import pytest
import requests
from flask import g
from sqlalchemy import func, select

from saas.audit import AuditEvent
from saas.extensions import db
from saas.platform.views import create_platform_admin
from saas.seats import staff_accounts
from saas.seats.models import Seat, SeatPurchase
from saas.tenancy import all_tenants
from tests import html
from tests.auth.conftest import csrf_from, sign_in
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.portal.conftest import mails

REFERENCE = "TR-2026-0042"


def set_up(app, tenants):
    """Azteca (pyme: 1 included extra user, MXN) with its owner (English), a second
    Administrator and a Biller; an operator of the platform."""
    with app.app_context():
        tenant = tenants["azteca"].load()
        tenant.plan = "pyme"
        db.session.commit()
        g.tenant = tenant
        owner = staff_accounts.create_user(
            tenant,
            None,
            name="Olga Owner",
            email="olga@azteca.mx",
            password=PASSWORD,
            role="admin",
        )
        owner.locale = "en"
        db.session.commit()
        make_user(tenant, email="alma@azteca.mx", username="alma", role="admin", name="Alma")
        make_user(tenant, email="bea@azteca.mx", username="bea", role="biller")
        create_platform_admin(email="ops@platform.test", name="Ops", password=PASSWORD)
    client = app.test_client()
    assert sign_in(client, "azteca", "olga", PASSWORD).status_code == 302
    return client


@pytest.fixture
def owner(app, tenants):
    return set_up(app, tenants)


def operator(app):
    client = app.test_client()
    login = client.get("/platform/login")
    data = {"csrf_token": csrf_from(login.text), "email": "ops@platform.test"}
    assert client.post("/platform/login", data={**data, "password": PASSWORD}).status_code == 302
    return client


def buy(app, client, quantity=2) -> int:
    """The id of the purchase the signed-in Administrator makes on the Buy page."""
    page = client.get("/t/azteca/console/users/buy?lang=en")
    data = {"csrf_token": csrf_from(page.text), "quantity": str(quantity)}
    assert client.post("/t/azteca/console/users/buy?lang=en", data=data).status_code == 303
    with app.app_context(), all_tenants():
        return db.session.scalars(select(SeatPurchase.id).order_by(SeatPurchase.id.desc())).first()


def purchase_of(app, purchase_id) -> SeatPurchase:
    with app.app_context(), all_tenants():
        row = db.session.get(SeatPurchase, purchase_id)
        db.session.expunge(row)
        return row


def seats_of(app, purchase_id) -> int:
    with app.app_context(), all_tenants():
        return db.session.scalar(select(func.count(Seat.id)).where(Seat.purchase_id == purchase_id))


def flashes(answer) -> list[str]:
    return html.texts(html.doc(answer), "//main//p[starts-with(@class, 'alert alert-')]")


def decide(ops, purchase_id, action, **data):
    index = ops.get("/platform/?lang=en")  # its sign-out form has this session's token
    return ops.post(
        f"/platform/purchases/{purchase_id}/{action}?lang=en",
        data={"csrf_token": csrf_from(index.text), **data},
    )


def test_a_purchase_is_acknowledged_to_the_administrator_who_asked(app, owner):
    purchase_id = buy(app, owner)
    (ack,) = [m for m in mails(app) if m["template"] == "seats_requested_ack"]
    assert ack["to"] == "olga@azteca.mx"  # the one who asked, in her language
    assert ack["subject"] == "We received your order for 2 extra users"
    lines = ack["text"].splitlines()
    assert "You asked for 2 extra users at Comercializadora Azteca, for one year." in lines
    for line in (
        "Unit price (one year): MX$249.00",
        "Subtotal (2): MX$498.00",
        "Tax (16%): MX$79.68",
        "Total: MX$577.68",
    ):
        assert line in lines
    assert any(line.startswith("An operator of the platform activates") for line in lines)
    assert any(line.endswith("/t/azteca/console/users/buy#purchases") for line in lines)
    (ops_mail,) = [m for m in mails(app) if m["template"] == "seats_requested"]
    assert ops_mail["to"] == "ops@platform.test"
    assert "asks for 2 extra users for one year: MX$577.68 including tax." in ops_mail["text"]
    assert purchase_of(app, purchase_id).status == "pending"


def test_activating_asks_to_confirm_and_keeps_the_payment_reference(app, owner):
    purchase_id = buy(app, owner)
    ops = operator(app)
    index = html.doc(ops.get("/platform/?lang=en"))
    # Nothing on the list activates at once: "Activate" leads to the confirmation.
    assert index.xpath("//form[contains(@action, '/activate')]") == []
    (link,) = index.xpath("//a[normalize-space()='Activate']/@href")
    assert link == f"/platform/purchases/{purchase_id}#activate"
    review = html.doc(ops.get(f"/platform/purchases/{purchase_id}?lang=en"))
    question = html.text(review, "//article[@id='activate']/p")
    assert question.startswith("Activate 2 extra users for Comercializadora Azteca, until ")
    assert html.text(review, "//article[@id='activate']//button") == "Yes, activate 2 extra users"

    missing = decide(ops, purchase_id, "activate", payment_reference="  ")
    assert missing.status_code == 422
    assert html.field_error(missing, "payment_reference") == (
        "Write the reference of the payment you received."
    )
    assert purchase_of(app, purchase_id).status == "pending" and seats_of(app, purchase_id) == 0

    done = decide(ops, purchase_id, "activate", payment_reference=f" {REFERENCE} ")
    assert done.status_code == 303
    assert flashes(ops.get("/platform/?lang=en")) == [
        "2 extra users activated for Comercializadora Azteca."
    ]
    row = purchase_of(app, purchase_id)
    assert (row.status, row.payment_reference, row.decided_by) == (
        "active",
        REFERENCE,
        "ops@platform.test",
    )
    assert seats_of(app, purchase_id) == 2
    # Shown: on the platform's list and page, and to the tenant.
    decided = html.doc(ops.get("/platform/?lang=en"))
    assert html.texts(decided, "//table[@id='decided']/tbody/tr/td[5]") == [REFERENCE]
    page = html.doc(ops.get(f"/platform/purchases/{purchase_id}?lang=en"))
    assert html.text(page, "//td[@id='payment-reference']") == REFERENCE
    assert page.xpath("//article[@id='activate']") == []  # nothing left to decide
    mine = html.doc(owner.get("/t/azteca/console/users/buy?lang=en"))
    details = html.text(mine, f"//tr[@id='purchase-{purchase_id}']/td[5]")
    assert details.endswith(f"; payment reference {REFERENCE}")
    # A second click (another tab, another operator) changes nothing.
    again = decide(ops, purchase_id, "activate", payment_reference="TR-OTHER")
    assert flashes(ops.get("/platform/?lang=en")) == ["This purchase is no longer pending."]
    assert again.status_code == 303 and seats_of(app, purchase_id) == 2
    assert purchase_of(app, purchase_id).payment_reference == REFERENCE
    activated = [m["to"] for m in mails(app) if m["template"] == "seats_activated"]
    assert sorted(activated) == ["alma@azteca.mx", "olga@azteca.mx"]


def test_a_rejection_says_why_to_the_tenants_administrators(app, owner):
    purchase_id = buy(app, owner, 3)
    ops = operator(app)
    missing = decide(ops, purchase_id, "reject", reason="")
    assert missing.status_code == 422
    assert html.field_error(missing, "reason") == (
        "Say why: the tenant's Administrators are emailed it."
    )
    reason = "The transfer did not arrive;\nplease write to billing."
    assert decide(ops, purchase_id, "reject", reason=reason).status_code == 303
    row = purchase_of(app, purchase_id)
    assert row.status == "rejected" and seats_of(app, purchase_id) == 0
    assert row.rejection_reason == "The transfer did not arrive; please write to billing."
    told = {m["to"]: m for m in mails(app) if m["template"] == "seats_rejected"}
    assert sorted(told) == ["alma@azteca.mx", "olga@azteca.mx"]  # Administrators, not Bea
    olga = told["olga@azteca.mx"]
    assert olga["subject"] == "Your order for 3 extra users was not accepted"
    assert "The transfer did not arrive; please write to billing." in olga["text"].splitlines()
    mine = html.doc(owner.get("/t/azteca/console/users/buy?lang=en"))
    cells = html.texts(mine, f"//tr[@id='purchase-{purchase_id}']/td")
    assert cells[3:5] == ["Rejected", "The transfer did not arrive; please write to billing."]
    assert mine.xpath(f"//tr[@id='purchase-{purchase_id}']//form") == []  # nothing to cancel
    decide(ops, purchase_id, "activate", payment_reference=REFERENCE)
    assert purchase_of(app, purchase_id).status == "rejected" and seats_of(app, purchase_id) == 0


def test_the_administrator_cancels_a_pending_purchase(app, tenants, owner, other_tenant):
    purchase_id = buy(app, owner)
    listing = html.doc(owner.get("/t/azteca/console/users?lang=en"))
    assert html.text(listing, "//article[@class='seat-meter']/p[2]").startswith(
        "2 extra users bought, waiting for activation."
    )
    page = owner.get("/t/azteca/console/users/buy?lang=en")
    row = f"//tr[@id='purchase-{purchase_id}']"
    assert html.text(html.doc(page), f"{row}/td[4]") == "Waiting for activation"
    (action,) = html.doc(page).xpath(f"{row}//form/@action")
    assert action == f"/t/azteca/console/users/purchases/{purchase_id}/cancel"

    # Not a Biller's to cancel, nor another tenant's Administrator's (who cannot even see it).
    biller = app.test_client()
    assert sign_in(biller, "azteca", "bea", PASSWORD).status_code == 302
    token = {"csrf_token": csrf_from(biller.get("/t/azteca/console/").text)}
    assert biller.post(action, data=token).status_code == 403
    stranger = app.test_client()
    slug = other_tenant.slug
    assert sign_in(stranger, slug, other_tenant.admin.username, PASSWORD).status_code == 302
    token = {"csrf_token": csrf_from(stranger.get(f"/t/{slug}/console/").text)}
    foreign = f"/t/{slug}/console/users/purchases/{purchase_id}/cancel"
    assert stranger.post(foreign, data=token).status_code == 404
    assert purchase_of(app, purchase_id).status == "pending"

    token = {"csrf_token": csrf_from(page.text)}
    cancelled = owner.post(action + "?lang=en", data=token, follow_redirects=True)
    assert flashes(cancelled) == ["The purchase of 2 extra users is cancelled."]
    assert html.text(html.doc(cancelled), f"{row}/td[4]") == "Cancelled"
    assert purchase_of(app, purchase_id).status == "cancelled"
    listing = html.doc(owner.get("/t/azteca/console/users?lang=en"))
    assert len(listing.xpath("//article[@class='seat-meter']/p")) == 1  # nothing pending
    again = owner.post(action + "?lang=en", data=token, follow_redirects=True)
    assert flashes(again) == ["This purchase is no longer pending."]
    # Gone from the operators' list; activating it now does nothing.
    ops = operator(app)
    assert html.doc(ops.get("/platform/?lang=en")).xpath("//a[normalize-space()='Activate']") == []
    decide(ops, purchase_id, "activate", payment_reference=REFERENCE)
    assert purchase_of(app, purchase_id).status == "cancelled" and seats_of(app, purchase_id) == 0


@pytest.mark.committed  # the live server's threads
def test_a_purchase_is_decided_once_even_when_everybody_clicks_at_once(app, tenants):
    purchase_id = buy(app, set_up(app, tenants))
    with app.app_context():  # an operator's sign-in ends their other sessions: one each
        for n in range(12):
            create_platform_admin(email=f"ops{n}@platform.test", name="Ops", password=PASSWORD)
    with LiveServer(app) as server:
        url, calls = server.url, []
        for n in range(12):
            s = requests.Session()
            if n % 3 == 2:  # the tenant's Administrator cancels
                login = s.get(f"{url}/t/azteca/login", timeout=10).text
                s.post(
                    f"{url}/t/azteca/login",
                    data={"csrf_token": csrf_from(login), "login": "olga", "password": PASSWORD},
                    timeout=10,
                )
                page = s.get(f"{url}/t/azteca/console/users/buy", timeout=10).text
                target = f"{url}/t/azteca/console/users/purchases/{purchase_id}/cancel"
                data = {"csrf_token": csrf_from(page)}
            else:  # operators activate or reject
                login = s.get(f"{url}/platform/login", timeout=10).text
                s.post(
                    f"{url}/platform/login",
                    data={
                        "csrf_token": csrf_from(login),
                        "email": f"ops{n}@platform.test",
                        "password": PASSWORD,
                    },
                    timeout=10,
                )
                page = s.get(f"{url}/platform/purchases/{purchase_id}", timeout=10).text
                action = "activate" if n % 3 == 0 else "reject"
                target = f"{url}/platform/purchases/{purchase_id}/{action}"
                data = {"csrf_token": csrf_from(page), "payment_reference": "R", "reason": "no"}
            calls.append((s, target, data))
        barrier, statuses = threading.Barrier(len(calls)), []

        def post(s, target, data):
            barrier.wait()
            statuses.append(
                s.post(target, data=data, allow_redirects=False, timeout=30).status_code
            )

        threads = [threading.Thread(target=post, args=call) for call in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [303] * len(calls)
    with app.app_context(), all_tenants():
        decisions = db.session.scalars(
            select(AuditEvent.event).where(
                AuditEvent.event.in_(("seats.activated", "seats.rejected", "seats.cancelled"))
            )
        ).all()
        assert len(decisions) == 1, decisions
        row = db.session.get(SeatPurchase, purchase_id)
        expected = {"seats.activated": "active", "seats.rejected": "rejected"}
        assert row.status == expected.get(decisions[0], "cancelled")
    assert seats_of(app, purchase_id) == (2 if row.status == "active" else 0)

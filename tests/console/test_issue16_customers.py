"""Customers page: a new access is sent to one recipient at a time, after a confirmation
that says what it does; only people who may and who see that customer can ask for it."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from saas.auth.models import User
from saas.companies import Company, membership
from saas.extensions import db
from saas.tenancy import all_tenants
from tests import html
from tests.auth.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, hashed, make_user
from tests.invoices import ubl_invoice
from tests.portal.conftest import mails, publish_for

ANDINA, CAFETERA = "800765432-3", "901234567-7"
FIRST, SECOND = "compras@andina.example", "pagos@andina.example"


@pytest.fixture
def andina(app, tenants):
    """Andina with two recipients who chose their own password; Cafetera with one."""
    publish_for(app, "intertec", ubl_invoice("FE-1", email=FIRST))
    publish_for(app, "intertec", ubl_invoice("FE-2", email=SECOND))
    publish_for(app, "intertec", ubl_invoice("FE-3", customer="cafetera", email="c@cafe.example"))
    with app.app_context(), all_tenants():
        for person in db.session.scalars(select(User).where(User.kind == "recipient")):
            person.password_hash, person.must_change_password = hashed(), False
        company = db.session.scalars(select(Company).where(Company.tax_id == ANDINA)).one()
        ids = {u.email: u.id for u in company.users}
        cafe = db.session.scalars(select(Company).where(Company.tax_id == CAFETERA)).one()
        db.session.commit()
        return {"company": company.id, "cafetera": cafe.id, **ids, "cafe": cafe.users[0].id}


def staff_client(app, tenants, role="support", slug="intertec", companies=()):
    with app.app_context():
        tenant = tenants[slug].load()
        chosen = list(db.session.scalars(select(Company).where(Company.tax_id.in_(companies))))
        user = make_user(tenant, role=role, companies=chosen)
        login = user.username
    client = app.test_client()
    assert sign_in(client, slug, login, PASSWORD).status_code == 302
    return client


def confirm_url(company_id, recipient_id, slug="intertec"):
    return f"/t/{slug}/console/customers/{company_id}/recipients/{recipient_id}/access"


def password_hash(app, user_id):
    with app.app_context(), all_tenants():
        return db.session.get(User, user_id).password_hash


def test_each_recipient_has_an_action_of_their_own(app, tenants, andina):
    staff = staff_client(app, tenants)
    page = html.doc(staff.get("/t/intertec/console/customers?lang=en"))
    [row] = page.xpath(f"//tbody/tr[td[1]='{ANDINA}']")
    actions = row.xpath(".//ul[@class='recipient-access']/li/a")
    assert [html.text(a) for a in actions] == [
        f"New access for {FIRST}…",
        f"New access for {SECOND}…",
    ]
    # Each link opens the confirmation of that person alone (no form posts from the list).
    assert [a.get("href") for a in actions] == [
        confirm_url(andina["company"], andina[FIRST]),
        confirm_url(andina["company"], andina[SECOND]),
    ]
    assert not row.xpath(".//form[@method='post']")


def test_the_confirmation_says_what_happens_and_changes_nothing(app, tenants, andina):
    staff = staff_client(app, tenants)
    before, sent = password_hash(app, andina[FIRST]), len(mails(app))
    answer = staff.get(confirm_url(andina["company"], andina[FIRST]) + "?lang=en")
    assert answer.status_code == 200
    page = html.doc(answer)
    assert html.text(page, "//h1") == f"New access for {FIRST}"
    assert html.text(page, "//*[@role='alertdialog']/p[1]") == (
        f"Sends {FIRST} a new access link and a new password, in two emails. Their current "
        "password stops working and their open sessions end."
    )
    [button] = page.xpath("//*[@role='alertdialog']//form[@method='post']//button")
    assert html.text(button) == "Send new access"
    assert password_hash(app, andina[FIRST]) == before and len(mails(app)) == sent
    # htmx gets the confirmation alone, to show it in the recipient's row.
    fragment = staff.get(
        confirm_url(andina["company"], andina[FIRST]) + "?lang=en", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert html.doc(fragment).xpath("//*[@role='alertdialog']//form[@method='post']")


def test_sending_resets_only_that_recipient(app, tenants, andina):
    staff = staff_client(app, tenants)
    other_before = password_hash(app, andina[SECOND])
    sent = len(mails(app))
    url = confirm_url(andina["company"], andina[FIRST])
    page = staff.get(url + "?lang=en")
    response = staff.post(url + "?lang=en", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/t/intertec/console/customers")
    new = mails(app)[sent:]
    assert [(m["to"], m["template"]) for m in new] == [
        (FIRST, "access_activation"),
        (FIRST, "access_password"),
    ]
    # The other recipient's own password still works; the first one's no longer does.
    assert password_hash(app, andina[SECOND]) == other_before
    assert sign_in(app.test_client(), "intertec", SECOND, PASSWORD).status_code == 302
    refused = sign_in(app.test_client(), "intertec", FIRST, PASSWORD)
    assert refused.status_code == 401
    told = html.alerts(html.doc(staff.get("/t/intertec/console/customers?lang=en")))
    assert told == [
        f"{FIRST} got a new access link and a new password; their earlier password and "
        "links no longer work."
    ]


def test_set_password_tenants_say_the_password_keeps_working(app, tenants):
    with app.app_context():
        tenant = tenants["intertec"].load()
        tenant.onboarding = "set_password_link"
        db.session.commit()
    publish_for(app, "intertec", ubl_invoice("FE-1", email=FIRST))
    with app.app_context(), all_tenants():
        person = db.session.scalars(select(User).where(User.email == FIRST)).one()
        ids = (person.companies[0].id, person.id)
    staff = staff_client(app, tenants)
    sent = len(mails(app))
    page = html.doc(staff.get(confirm_url(*ids) + "?lang=en"))
    assert html.text(page, "//*[@role='alertdialog']/p[1]") == (
        f"Sends {FIRST} an email with a link to choose a new password. Earlier links stop "
        "working; their current password works until they choose a new one."
    )
    token = csrf_from(staff.get(confirm_url(*ids)).text)
    assert staff.post(confirm_url(*ids), data={"csrf_token": token}).status_code == 303
    assert [m["template"] for m in mails(app)[sent:]] == ["access_set_password"]


def test_who_may_send_a_new_access(app, tenants, andina):
    url = confirm_url(andina["company"], andina[FIRST])
    for role, status in (("admin", 200), ("biller", 200), ("support", 200), ("accountant", 403)):
        client = staff_client(app, tenants, role)
        assert client.get(url).status_code == status, role
    accountant = staff_client(app, tenants, "accountant")
    token = csrf_from(accountant.get("/t/intertec/console/").text)
    assert accountant.post(url, data={"csrf_token": token}).status_code == 403
    # The accountant's Customers page offers no such action.
    page = html.doc(accountant.get("/t/intertec/console/customers?lang=en"))
    assert not page.xpath("//ul[@class='recipient-access']")


def test_staff_of_another_issuer_and_wrong_pairs_get_404(app, tenants, andina):
    # Limited to an issuer company that never invoiced Andina: Andina is not theirs.
    with app.app_context():
        tenants["intertec"].load()
        from saas.portal.publishing import publish

        publish(
            tenants["intertec"].load(),
            ubl_invoice("SN-1", issuer="sucursal", customer="cafetera", email="c@cafe.example"),
        )
        db.session.commit()
    sent = len(mails(app))
    other_issuer = staff_client(app, tenants, "biller", companies=("800197268-4",))
    url = confirm_url(andina["company"], andina[FIRST])
    assert other_issuer.get(url).status_code == 404
    token = csrf_from(other_issuer.get("/t/intertec/console/").text)
    assert other_issuer.post(url, data={"csrf_token": token}).status_code == 404
    page = html.doc(other_issuer.get("/t/intertec/console/customers?lang=en"))
    assert not page.xpath(f"//tbody/tr[td[1]='{ANDINA}']")
    # A recipient of another company, named under Andina's id: no such pair.
    support = staff_client(app, tenants)
    assert support.get(confirm_url(andina["company"], andina["cafe"])).status_code == 404
    assert support.get(confirm_url(andina["cafetera"], andina[FIRST])).status_code == 404
    # A recipient linked to Cafetera only through the other issuer is not a limited
    # Intertec Biller's to reset.
    with app.app_context(), all_tenants():
        db.session.execute(
            update(membership)
            .where(membership.c.user_id == andina["cafe"])
            .values(
                issuer_company_id=select(Company.id)
                .where(Company.tax_id == "800197268-4")
                .scalar_subquery()
            )
        )
        db.session.commit()
    intertec_only = staff_client(app, tenants, "biller", companies=("900123456-8",))
    assert intertec_only.get(confirm_url(andina["cafetera"], andina["cafe"])).status_code == 404
    assert other_issuer.get(confirm_url(andina["cafetera"], andina["cafe"])).status_code == 200
    assert len(mails(app)) == sent  # nothing was sent by any of these
    assert password_hash(app, andina[FIRST]) == hashed()


def test_another_tenants_staff_gets_404(app, tenants, andina, other_tenant):
    client = app.test_client()
    assert (
        sign_in(client, other_tenant.slug, other_tenant.admin.username, PASSWORD).status_code == 302
    )
    url = confirm_url(andina["company"], andina[FIRST], slug=other_tenant.slug)
    assert client.get(url).status_code == 404
    token = csrf_from(client.get(f"/t/{other_tenant.slug}/console/").text)
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    # And the other tenant's own pair, named on Intertec's console by Intertec's staff.
    staff = staff_client(app, tenants, "admin")
    theirs = confirm_url(other_tenant.company_id, other_tenant.recipient.id)
    assert staff.get(theirs).status_code == 404
    assert password_hash(app, andina[FIRST]) == hashed()

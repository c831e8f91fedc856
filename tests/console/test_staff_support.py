"""Staff ask Support too: a Biller opens a request from the console, about an invoice of an
issuer they may see; Support answers it in the queue; the Biller is emailed a link to the
console's thread and reads the answer there. Nobody else reaches that thread."""

from __future__ import annotations

import re

from sqlalchemy import select

from saas.companies import Company
from saas.extensions import db
from saas.support.models import SupportRequest
from saas.tenancy import all_tenants
from tests import html
from tests.console.test_console import staff_client
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import mails, path_of, publish_for
from tests.portal.test_support import PNG, post


def test_a_biller_asks_support_and_reads_the_answer_in_the_console(app, tenants):
    [invoice_id] = publish_for(app, "intertec", ubl_invoice("FE-9"), fake_pdf("FE-9"))
    biller = staff_client(app, tenants, "biller", email="bill@intertec.test", username="bill")
    mine = html.doc(biller.get("/t/intertec/console/support/mine?lang=en"))
    assert html.text(mine, "//h1") == "Your requests"
    assert mine.xpath("//nav[@class='console-nav']//a[@href='/t/intertec/console/support/mine']")
    opened = post(
        biller,
        f"/t/intertec/console/support/new?invoice={invoice_id}&lang=en",
        {"subject": "Wrong customer", "body": "Andina says it is not theirs.",
         "invoice": str(invoice_id)},
        {"attachment": (PNG, "mail.png")},
    )  # fmt: skip
    assert opened.status_code == 303, html.problems(opened)
    thread_path = opened.headers["Location"]
    assert re.fullmatch(r"/t/intertec/console/support/mine/\d+", thread_path)
    request_id = int(thread_path.rsplit("/", 1)[1])

    support = staff_client(app, tenants, "support")
    queue = html.doc(support.get("/t/intertec/console/support?lang=en"))
    assert "Wrong customer" in html.texts(queue, "//table//tbody/tr/td[1]")
    answered = post(
        support,
        f"/t/intertec/console/support/{request_id}?lang=en",
        {"body": "We moved it to the right customer."},
    )
    assert answered.status_code == 303
    [email] = [m for m in mails(app, "bill@intertec.test") if m["template"] == "support_answered"]
    link = path_of(re.search(r"https?://\S+/support/mine/\d+", email["text"]).group(0))
    assert link == thread_path

    thread = html.doc(biller.get(f"{thread_path}?lang=en"))
    assert html.texts(thread, "//div[@class='message-body']") == [
        "Andina says it is not theirs.",
        "We moved it to the right customer.",
    ]
    assert "About Invoice FE-9" in html.text(thread, "//article/header/p")
    [attached] = thread.xpath("//ol[@class='messages']//a")
    assert biller.get(attached.get("href")).data == PNG
    again = post(biller, thread_path, {"body": "Thanks, all good."})
    assert again.status_code == 303
    with app.app_context(), all_tenants():
        assert db.session.get(SupportRequest, request_id).status == "open"

    # A colleague, Support included, has no such page for it: it is the Biller's own.
    for other in (support, staff_client(app, tenants, "biller", username="otro")):
        assert other.get(thread_path).status_code == 404
        assert other.get(attached.get("href")).status_code == 404
    # Nor any other staff user.
    assert staff_client(app, tenants, "accountant").get(thread_path).status_code == 404


def test_staff_limited_to_an_issuer_ask_only_about_its_invoices(app, tenants):
    [mine] = publish_for(app, "intertec", ubl_invoice("FE-1"), fake_pdf("FE-1"))
    [theirs] = publish_for(
        app, "intertec", ubl_invoice("SN-1", issuer="sucursal"), fake_pdf("SN-1")
    )
    with app.app_context(), all_tenants():
        issuer = db.session.scalars(
            select(Company).where(Company.tax_id == "900123456-8", Company.kind == "issuer")
        ).one()
        issuer_id = issuer.id
    with app.app_context():
        from tests.factories import make_user

        tenant = tenants["intertec"].load()
        limited = make_user(tenant, role="biller", username="limited", email="l@intertec.test")
        limited.companies = [db.session.get(Company, issuer_id)]
        db.session.commit()
    from tests.auth.conftest import sign_in
    from tests.factories import PASSWORD

    client = app.test_client()
    assert sign_in(client, "intertec", "limited", PASSWORD).status_code == 302
    refused = post(
        client,
        "/t/intertec/console/support/new?lang=en",
        {"subject": "S", "body": "B", "invoice": str(theirs)},
    )
    assert refused.status_code == 422
    assert "This invoice is not one of yours." in html.text(html.doc(refused), "//main")
    # By number too, as staff know invoices: the other issuer's is as unknown as none.
    for number in ("SN-1", "XX-404"):
        unknown = post(
            client,
            "/t/intertec/console/support/new?lang=en",
            {"subject": "S", "body": "B", "invoice_number": number},
        )
        assert unknown.status_code == 422
        assert html.field_error(unknown, "invoice_number").startswith("No invoice you may see")
    by_number = post(
        client,
        "/t/intertec/console/support/new",
        {"subject": "About FE-1", "body": "B", "invoice_number": " fe-1 "},
    )
    assert by_number.status_code == 303
    general = post(client, "/t/intertec/console/support/new", {"subject": "General", "body": "B"})
    assert general.status_code == 303
    with app.app_context(), all_tenants():
        filed = dict(
            db.session.execute(select(SupportRequest.subject, SupportRequest.invoice_id)).all()
        )
        assert filed == {"About FE-1": mine, "General": None}
        request = db.session.scalars(select(SupportRequest).filter_by(subject="General")).one()
        # Filed under the one issuer they work for: its Support sees it.
        assert request.issuer_company_id == issuer_id

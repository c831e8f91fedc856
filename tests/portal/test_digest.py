"""New invoices reach a recipient in one email per burst (the tenant's notify window),
not one per invoice: the onboarding emails with the first, then one digest listing the
rest, each with its link; nothing lost, nothing told twice."""

import io
import threading
import zipfile
from datetime import date, timedelta

import lxml.html
import pytest
from sqlalchemy import select

from saas import clock
from saas.auth.models import User
from saas.extensions import db
from saas.jobs import run_task
from saas.mail import OutboxMessage
from saas.portal import notices
from saas.portal.models import Invoice, InvoiceNotice, NoticeDigest
from saas.tenancy import all_tenants, load_tenant
from tests import html
from tests.auth.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, make_user
from tests.invoices import ubl_invoice
from tests.portal.conftest import mails, publish_for, send_digests

EMAIL = "compras@andina.example"
SEND = "saas.portal.notices:send_digest"


def digests(app):
    with app.app_context(), all_tenants():
        return [
            {
                "id": d.id,
                "open": d.open_for_user is not None,
                "due": d.due_at,
                "mail": d.outbox_message_id,
            }
            for d in db.session.scalars(select(NoticeDigest).order_by(NoticeDigest.id))
        ]


def html_of(app, template="invoices_published"):
    with app.app_context(), all_tenants():
        rows = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        ).all()
        return [lxml.html.document_fromstring(m.html_body) for m in rows]


def set_window(app, minutes, slug="intertec"):
    with app.app_context(), all_tenants():
        load_tenant(slug).notify_window_minutes = minutes


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_bulk_upload_for_a_new_customer_sends_the_onboarding_and_one_digest(portal_app, tenants):
    """The issue: 12 invoices uploaded at once for a new customer sent 13 emails."""
    with portal_app.app_context():
        login = make_user(tenants["intertec"].load(), role="biller").username
    client = portal_app.test_client()
    assert sign_in(client, "intertec", login, PASSWORD).status_code == 302
    files = {
        f"FE-{n}.xml": ubl_invoice(f"FE-{n}", issue_date=date(2026, 1, n)) for n in range(1, 13)
    }
    page = client.get("/t/intertec/console/uploads?lang=en")
    response = client.post(
        "/t/intertec/console/uploads?lang=en",
        data={"csrf_token": csrf_from(page.text), "files": [(io.BytesIO(zip_of(files)), "b.zip")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    # The upload is done (in-process job); the window is still open: only the onboarding.
    assert [m["template"] for m in mails(portal_app, EMAIL)] == [
        "access_activation",
        "access_password",
    ]
    assert send_digests(portal_app) == 1
    sent = mails(portal_app, EMAIL)
    assert [m["template"] for m in sent] == [
        "access_activation",
        "access_password",
        "invoices_published",
    ]
    digest = sent[2]
    assert digest["subject"] == "11 facturas nuevas de Intertec"
    with portal_app.app_context(), all_tenants():
        ids = {i.number: i.id for i in db.session.scalars(select(Invoice))}
    first = [n for n in ids if n in sent[0]["text"]]
    assert len(first) == 1  # the onboarding names one invoice; the digest the other 11
    [page] = html_of(portal_app)
    rows = page.xpath("//table[not(@role)]//tr[td]")
    listed = [html.text(row, "td[1]") for row in rows]
    assert sorted(listed + first) == sorted(ids)
    assert len(set(listed)) == 11
    links = [row.xpath("td[1]/a/@href")[0] for row in rows]
    assert links == [f"http://portal.test/t/intertec/invoices/{ids[n]}" for n in listed]
    # Each with its date and total in the recipient's language (Spanish).
    assert [html.text(row, "td[3]") for row in rows] == ["$\xa0119.000,00"] * 11
    assert html.text(rows[0], "td[2]") == "2 ene 2026"
    # Sending again finds nothing: told once.
    assert send_digests(portal_app) == 0
    assert len(mails(portal_app, EMAIL)) == 3


def test_invoices_within_the_window_share_one_email_and_later_ones_get_the_next(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))  # onboarding
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    clock.travel(timedelta(minutes=4))
    publish_for(portal_app, "intertec", ubl_invoice("FE-3"))
    [open_one] = digests(portal_app)
    assert open_one["open"] and open_one["mail"] is None
    assert send_digests(portal_app, minutes=1) == 1  # the first one's window ends
    [first] = [m for m in mails(portal_app, EMAIL) if m["template"] == "invoices_published"]
    assert "Número: FE-2 " in first["text"] and "Número: FE-3 " in first["text"]
    # After the claim, a new invoice opens the next digest: nothing is lost.
    publish_for(portal_app, "intertec", ubl_invoice("FE-4"))
    assert [d["open"] for d in digests(portal_app)] == [False, True]
    assert send_digests(portal_app) == 1
    *_, last = mails(portal_app, EMAIL)
    assert last["subject"] == "Nueva factura FE-4 de Intertec"
    assert "FE-4" in last["text"] and "FE-2" not in last["text"] and "FE-3" not in last["text"]
    assert "http://portal.test/t/intertec/invoices/" in last["text"]


def test_nothing_is_sent_before_the_window_ends_and_the_job_sends_once(portal_app, tenants):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    [digest] = digests(portal_app)
    tenant_id = tenants["intertec"].id
    with portal_app.app_context():
        assert run_task(SEND, tenant_id, digest["id"]) == 0  # early: it waits
    assert len(mails(portal_app, EMAIL)) == 2
    clock.travel(timedelta(minutes=5))
    with portal_app.app_context():
        assert run_task(SEND, tenant_id, digest["id"]) == 1
    with portal_app.app_context():
        assert run_task(SEND, tenant_id, digest["id"]) == 0  # a second job: claimed already
    assert [m["template"] for m in mails(portal_app, EMAIL)].count("invoices_published") == 1
    [sent] = digests(portal_app)
    assert not sent["open"] and sent["mail"] is not None


def test_a_window_of_zero_tells_each_invoice_at_once(portal_app, tenants):
    set_window(portal_app, 0)
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    sent = mails(portal_app, EMAIL)
    assert [m["template"] for m in sent][-1] == "invoices_published"
    assert "Número: FE-2" in sent[-1]["text"]


def test_a_due_digest_whose_job_was_lost_goes_with_the_next_invoice(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))  # its timer never fires here
    clock.travel(timedelta(minutes=6))
    publish_for(portal_app, "intertec", ubl_invoice("FE-3"))  # finds it due: sends it now
    [digest] = [m for m in mails(portal_app, EMAIL) if m["template"] == "invoices_published"]
    assert "FE-2 " in digest["text"] and "FE-3 " in digest["text"]
    assert digests(portal_app)[0]["open"] is False


def test_outbox_flush_sends_due_digests(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    clock.travel(timedelta(minutes=5))
    result = portal_app.test_cli_runner().invoke(args=["outbox", "flush"])
    assert result.exit_code == 0, result.output
    assert "1 invoice digest(s) queued." in result.output.splitlines()
    assert [m["template"] for m in mails(portal_app, EMAIL)][-1] == "invoices_published"


def test_the_digest_is_in_the_recipients_language_with_each_invoices_decimals(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    with portal_app.app_context(), all_tenants():
        db.session.scalars(select(User).where(User.email == EMAIL)).one().locale = "en"
    publish_for(portal_app, "intertec", ubl_invoice("FE-2", total="1234567.89", tax="1.89"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-3", issue_date=date(2026, 2, 3)))
    send_digests(portal_app)
    [page] = html_of(portal_app)
    rows = {html.text(r, "td[1]"): r for r in page.xpath("//table[not(@role)]//tr[td]")}
    assert html.text(rows["FE-2"], "td[3]") == "COP\xa01,234,567.89"
    assert html.text(rows["FE-3"], "td[2]") == "Feb 3, 2026"
    assert html.text(page, "//p[contains(., 'has published')]") == (
        "Intertec has published 2 new invoices for you:"
    )
    [mail] = [m for m in mails(portal_app, EMAIL) if m["template"] == "invoices_published"]
    assert mail["subject"] == "2 new invoices from Intertec"


def test_a_long_digest_lists_the_first_invoices_and_links_to_the_rest(portal_app, monkeypatch):
    monkeypatch.setattr(notices, "MAX_LISTED", 2)
    for n in range(1, 6):
        publish_for(portal_app, "intertec", ubl_invoice(f"FE-{n}"))
    send_digests(portal_app)
    [page] = html_of(portal_app)
    assert len(page.xpath("//table[not(@role)]//tr[td]")) == 2
    assert "Y 2 facturas más, en el portal." in html.texts(page, "//p")
    assert page.xpath("//a[normalize-space()='Ver sus facturas']/@href") == [
        "http://portal.test/t/intertec/invoices"
    ]


def test_an_inactive_recipient_is_not_told(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    with portal_app.app_context(), all_tenants():
        db.session.scalars(select(User).where(User.email == EMAIL)).one().active = False
    send_digests(portal_app)
    assert [m["template"] for m in mails(portal_app, EMAIL)].count("invoices_published") == 0
    [digest] = digests(portal_app)
    assert not digest["open"] and digest["mail"] is None  # claimed, dropped, not retried


def test_an_invoice_the_recipient_can_no_longer_see_is_not_told(portal_app):
    from saas.companies import membership

    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    with portal_app.app_context(), all_tenants():
        user = db.session.scalars(select(User).where(User.email == EMAIL)).one()
        db.session.execute(membership.delete().where(membership.c.user_id == user.id))
    send_digests(portal_app)
    assert [m["template"] for m in mails(portal_app, EMAIL)].count("invoices_published") == 0
    assert not digests(portal_app)[0]["open"]


def test_another_tenants_job_does_nothing(portal_app, tenants, other_tenant):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    [digest] = digests(portal_app)
    clock.travel(timedelta(minutes=5))
    with portal_app.app_context():
        assert run_task(SEND, other_tenant.id, digest["id"]) == 0  # not its row: nothing
    assert digests(portal_app)[0]["open"]
    with portal_app.app_context():
        assert run_task(SEND, tenants["intertec"].id, digest["id"]) == 1


def test_an_invoice_rolled_back_is_never_told(portal_app):
    """The notice is written in the publishing transaction: undone with it, job and all."""
    from flask import g

    from saas.portal.publishing import publish

    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    with portal_app.app_context():
        g.tenant = load_tenant("intertec")
        publish(g.tenant, ubl_invoice("FE-2"))
        assert db.session.info.get("saas.pending_jobs")  # the digest's job, waiting
        db.session.rollback()  # the caller refused after all
    assert digests(portal_app) == []
    publish_for(portal_app, "intertec", ubl_invoice("FE-3"))
    send_digests(portal_app)
    with portal_app.app_context(), all_tenants():
        [notice] = db.session.scalars(select(InvoiceNotice)).all()
        assert db.session.get(Invoice, notice.invoice_id).number == "FE-3"
    *_, last = mails(portal_app, EMAIL)
    assert "FE-3" in last["text"] and "FE-2" not in last["text"]


@pytest.mark.committed  # threads
def test_two_jobs_at_once_send_one_email(portal_app, tenants):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    [digest] = digests(portal_app)
    clock.travel(timedelta(minutes=5))
    results, errors = [], []

    def send():
        try:
            with portal_app.app_context():
                results.append(run_task(SEND, tenants["intertec"].id, digest["id"]))
        except Exception as error:  # a lock timeout would show here
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(results) == [0, 0, 0, 1]
    assert [m["template"] for m in mails(portal_app, EMAIL)].count("invoices_published") == 1


@pytest.mark.committed  # threads
def test_invoices_published_while_digests_are_sent_are_each_told_once(portal_app):
    """Window 0: publishers and the digest jobs they start run at the same time; every
    invoice is in exactly one email (none lost to a claim, none told twice)."""
    set_window(portal_app, 0)
    publish_for(portal_app, "intertec", ubl_invoice("FE-0"))  # onboarding
    errors = []

    def publish_one(n):
        try:
            publish_for(portal_app, "intertec", ubl_invoice(f"FE-{n}"))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=publish_one, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    send_digests(portal_app, minutes=0)  # anything a lost race left due
    told = [
        n
        for m in mails(portal_app, EMAIL)
        if m["template"] == "invoices_published"
        for n in range(1, 9)
        if f"FE-{n} " in m["text"] or f"FE-{n}\n" in m["text"]
    ]
    assert sorted(told) == list(range(1, 9))
    assert all(not d["open"] for d in digests(portal_app))

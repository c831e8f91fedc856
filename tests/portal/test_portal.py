"""The recipient's portal: list, filters, pages, downloads, pending zip, isolation."""

import io
import threading
import zipfile
from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import select

from saas.extensions import db
from saas.portal.models import DownloadEvent, Invoice
from saas.tenancy import all_tenants
from tests import html
from tests.auth.conftest import csrf_from, sign_in
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import (
    activate,
    activation_link,
    credentials,
    mails,
    path_of,
    publish_for,
)

EMAIL = "compras@andina.example"


@pytest.fixture
def recipient(portal_app):
    """Andina's recipient, activated, with three invoices (the middle one without PDF)."""
    for n, day in ((1, 10), (2, 20), (3, 31)):
        publish_for(
            portal_app,
            "intertec",
            ubl_invoice(f"FE-{n}", issue_date=date(2026, 1, day)),
            fake_pdf(f"FE-{n}") if n != 2 else None,
        )
    client = portal_app.test_client()
    activate(client, portal_app, EMAIL)
    return client


def ids_by_number(app):
    with app.app_context(), all_tenants():
        return {i.number: i.id for i in db.session.scalars(select(Invoice))}


def test_list_newest_first_with_files_and_status(recipient):
    page = recipient.get("/t/intertec/invoices?lang=en")
    assert page.status_code == 200
    listing = html.doc(page)
    assert html.invoice_numbers(listing) == ["FE-3", "FE-2", "FE-1"]
    assert html.text(listing, "//form[@id='pending-form']/button") == "Pending downloads 3"
    files = [html.texts(row, "td[@class='files']/a") for row in html.invoice_rows(listing)]
    # FE-2 came without a PDF: its printable copy is offered, said to be one.
    assert files == [["PDF", "XML"], ["PDF copy", "XML"], ["PDF", "XML"]]
    assert html.texts(listing, "//tbody[@id='invoice-rows']/tr/td[3]") == ["Intertec S.A.S."] * 3
    spanish = html.doc(recipient.get("/t/intertec/invoices?lang=es"))
    assert "$\xa0119.000,00" in html.texts(spanish, "//tbody/tr/td[@class='amount']")


def test_date_filters_are_in_the_url_and_checked(recipient):
    page = recipient.get("/t/intertec/invoices?from=2026-01-15&to=2026-01-25&lang=en").text
    assert html.invoice_numbers(html.doc(page)) == ["FE-2"]
    assert "FE-1" not in page and "FE-3" not in page
    dates = html.doc(page).xpath("//form[contains(@class, 'filters')]//input[@type='date']")
    assert [(d.name, d.value) for d in dates] == [("from", "2026-01-15"), ("to", "2026-01-25")]
    empty = html.doc(recipient.get("/t/intertec/invoices?from=2027-01-01&lang=es"))
    assert html.text(empty, "//section[@id='invoice-list']/p[@class='empty']").startswith(
        "No hay facturas entre estas fechas"
    )
    bad = recipient.get("/t/intertec/invoices?from=31/01/2026&lang=en")
    assert bad.status_code == 422
    assert html.text(html.doc(bad), "//small[@id='from-error']") == "Use a date such as 2026-01-31."
    backwards = recipient.get("/t/intertec/invoices?from=2026-02-01&to=2026-01-01&lang=en")
    assert backwards.status_code == 422
    assert html.text(html.doc(backwards), "//small[@id='to-error']") == (
        "The end date is before the start date."
    )


def test_htmx_gets_only_the_list(recipient):
    response = recipient.get(
        "/t/intertec/invoices?from=2026-01-15",
        headers={"HX-Request": "true", "HX-Target": "invoice-list"},
    )
    assert response.text.lstrip().startswith('<section id="invoice-list"')
    assert "<html" not in response.text


def test_keyset_pages_with_load_more(portal_app, recipient):
    for n in range(4, 31):
        publish_for(
            portal_app,
            "intertec",
            ubl_invoice(f"FE-{n}", issue_date=date(2026, 2, 1) + timedelta(days=n)),
        )
    first = html.doc(recipient.get("/t/intertec/invoices?lang=en"))
    assert html.invoice_numbers(first) == [f"FE-{n}" for n in range(30, 5, -1)]  # one page
    [more] = first.xpath("//tr[@id='load-more']//a[normalize-space()='Load more']/@hx-get")
    rest = recipient.get(more, headers={"HX-Request": "true", "HX-Target": "load-more"}).text
    assert "<html" not in rest and "Load more" not in rest
    # The oldest five, newest first as the page goes on.
    assert html.invoice_numbers(html.rows_doc(rest)) == ["FE-5", "FE-4", "FE-3", "FE-2", "FE-1"]
    assert recipient.get("/t/intertec/invoices?cursor=garbage").status_code == 200


def test_empty_portal_says_what_to_expect(portal_app, tenants):
    from tests.factories import make_user

    with portal_app.app_context():
        make_user(
            tenants["intertec"].load(),
            email="new@x.example",
            username="new",
            kind="recipient",
            role=None,
        )
    client = portal_app.test_client()
    sign_in(client, "intertec", "new", "correct horse battery staple")
    page = html.doc(client.get("/t/intertec/invoices?lang=en"))
    empty = html.text(page, "//section[@id='invoice-list']/p[@class='empty']")
    assert empty.startswith("You have no invoices yet.") and not html.invoice_rows(page)


def test_pdf_download_is_the_file_and_ends_pending(portal_app, recipient):
    ids = ids_by_number(portal_app)
    response = recipient.get(f"/t/intertec/invoices/{ids['FE-1']}/pdf")
    assert response.status_code == 200 and response.data == fake_pdf("FE-1")
    assert response.headers["Content-Disposition"] == "attachment; filename=2026-01-10_FE-1.pdf"
    assert response.mimetype == "application/pdf"
    xml = recipient.get(f"/t/intertec/invoices/{ids['FE-1']}/xml")
    assert xml.data == ubl_invoice("FE-1", issue_date=date(2026, 1, 10))
    copy = recipient.get(f"/t/intertec/invoices/{ids['FE-2']}/pdf")  # it came without one
    assert copy.status_code == 200 and copy.data.startswith(b"%PDF")
    with portal_app.app_context(), all_tenants():
        assert db.session.get(Invoice, ids["FE-1"]).downloaded
        assert not db.session.get(Invoice, ids["FE-3"]).downloaded
        events = [e.what for e in db.session.scalars(select(DownloadEvent))]
        assert events == ["pdf", "xml", "pdf"]
    page = html.doc(recipient.get("/t/intertec/invoices"))
    assert html.text(page, "//form[@id='pending-form']//span[@class='badge']") == "2"


def test_invoice_page_and_notification_link(portal_app, recipient):
    ids = ids_by_number(portal_app)
    page = recipient.get(f"/t/intertec/invoices/{ids['FE-3']}?lang=en")
    assert page.status_code == 200
    pdf = html.doc(page).xpath("//a[normalize-space()='Download PDF']/@href")
    assert pdf == [f"/t/intertec/invoices/{ids['FE-3']}/pdf"]
    # The notification's link, opened signed out, goes through sign-in and back.
    fresh = portal_app.test_client()
    response = fresh.get(f"/t/intertec/invoices/{ids['FE-3']}")
    assert response.headers["Location"] == (
        f"/t/intertec/login?next=/t/intertec/invoices/{ids['FE-3']}"
    )


def test_other_companies_and_tenants_get_404(portal_app, recipient):
    publish_for(
        portal_app,
        "intertec",
        ubl_invoice("OTHER-1", customer="cafetera", email="pagos@cafetera.example"),
    )
    other = ids_by_number(portal_app)["OTHER-1"]
    for path in (
        f"/t/intertec/invoices/{other}",
        f"/t/intertec/invoices/{other}/pdf",
        f"/t/intertec/invoices/{other}/xml",
    ):
        assert recipient.get(path).status_code == 404
    listing = recipient.get("/t/intertec/invoices").text
    assert "OTHER-1" not in listing
    assert html.invoice_numbers(html.doc(listing)) == ["FE-3", "FE-2", "FE-1"]
    mine = ids_by_number(portal_app)["FE-1"]
    # The same id under another tenant's URL: the session is not valid there at all.
    assert recipient.get(f"/t/azteca/invoices/{mine}").status_code == 302


def test_pending_downloads_zip_holds_exactly_the_pending_files(portal_app, recipient):
    ids = ids_by_number(portal_app)
    recipient.get(f"/t/intertec/invoices/{ids['FE-1']}/pdf")  # FE-1's XML is still pending
    token = csrf_from(recipient.get("/t/intertec/invoices").text)
    started = recipient.post("/t/intertec/invoices/pending", data={"csrf_token": token})
    export_url = started.headers["Location"]
    # In-process jobs finish before the redirect is followed.
    page = html.doc(recipient.get(export_url + "?lang=en"))
    [button] = page.xpath("//div[@id='export-progress']/a")
    assert (html.text(button), button.get("href")) == ("Download zip", export_url + "/zip")
    progress = recipient.get(export_url, headers={"HX-Request": "true"}).text
    assert progress.lstrip().startswith('<div id="export-progress"')
    response = recipient.get(export_url + "/zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == [
        "2026-01-10_FE-1.xml",
        "2026-01-20_FE-2.pdf",  # its printable copy: it came without a PDF
        "2026-01-20_FE-2.xml",
        "2026-01-31_FE-3.pdf",
        "2026-01-31_FE-3.xml",
    ]
    assert archive.read("2026-01-31_FE-3.pdf") == fake_pdf("FE-3")
    with portal_app.app_context(), all_tenants():
        assert all(i.downloaded for i in db.session.scalars(select(Invoice)))
    nothing = recipient.post("/t/intertec/invoices/pending?lang=en", data={"csrf_token": token})
    assert "/t/intertec/invoices" in nothing.headers["Location"]
    told = html.alerts(html.doc(recipient.get(nothing.headers["Location"] + "?lang=en")))
    assert len(told) == 1 and "nothing is pending" in told[0]


@pytest.mark.redis
def test_two_clicks_build_one_zip(make_app, clean_redis, portal_app, recipient):
    # With Redis and no worker, the first export stays queued while the second click comes.
    app = make_app(REDIS_URL=clean_redis)
    token = csrf_from(recipient.get("/t/intertec/invoices").text)
    client = app.test_client()
    for cookie in ("session",):
        client.set_cookie(cookie, recipient.get_cookie(cookie).value)
    first = client.post("/t/intertec/invoices/pending", data={"csrf_token": token})
    second = client.post("/t/intertec/invoices/pending", data={"csrf_token": token})
    assert first.headers["Location"] == second.headers["Location"]
    progress = html.doc(client.get(first.headers["Location"] + "?lang=en"))
    assert html.text(progress, "//div[@id='export-progress']/p[@role='status']") == (
        "Preparing your zip: 0 of 3 invoices."
    )
    from saas.jobs import rq_queue

    with app.app_context(), all_tenants():
        assert len(rq_queue(app, "exports").get_jobs()) == 1


def test_only_one_active_export_per_user_in_the_database(portal_app, recipient):
    from sqlalchemy.exc import IntegrityError

    from saas.auth.models import User
    from saas.portal.models import ExportJob

    with portal_app.app_context(), all_tenants():
        user = db.session.scalars(select(User).where(User.email == EMAIL)).one()
        for _ in range(2):
            db.session.add(
                ExportJob(
                    tenant_id=user.tenant_id,
                    user_id=user.id,
                    active_for_user=user.id,
                    invoice_ids=[],
                    total=0,
                )
            )
        with pytest.raises(IntegrityError):
            db.session.commit()


@pytest.mark.committed  # the live server's threads
def test_access_link_works_once_even_concurrently(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    sent = {m["template"]: m["text"] for m in mails(portal_app, EMAIL)}
    path = path_of(activation_link(sent["access_activation"]))
    assert portal_app.test_client().get(path).status_code == 200
    assert portal_app.test_client().head(path).status_code == 200
    with LiveServer(portal_app) as server:
        sessions = []
        for _ in range(20):
            s = requests.Session()
            sessions.append((s, csrf_from(s.get(server.url + path, timeout=10).text)))
        barrier, results = threading.Barrier(20), []

        def post(s, token):
            barrier.wait()
            results.append(
                s.post(
                    server.url + path, data={"csrf_token": token}, allow_redirects=False, timeout=30
                ).status_code
            )

        threads = [threading.Thread(target=post, args=pair) for pair in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [302] + [410] * 19
    assert portal_app.test_client().get(path).status_code == 410


def test_resend_access_kills_the_old_link(portal_app, tenants):
    from tests.factories import make_user

    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    first_mails = {m["template"]: m["text"] for m in mails(portal_app)}
    old = path_of(activation_link(first_mails["access_activation"]))
    # The recipient signed in with the first password (and still has to change it).
    recipient = portal_app.test_client()
    username, password = credentials(first_mails["access_password"])
    assert sign_in(recipient, "intertec", username, password).status_code == 302
    assert recipient.get("/t/intertec/account/password").status_code == 200
    with portal_app.app_context():
        make_user(
            tenants["intertec"].load(),
            email="soporte@intertec.example",
            username="soporte",
            role="support",
        )
    staff = portal_app.test_client()
    sign_in(staff, "intertec", "soporte", "correct horse battery staple")
    page = staff.get("/t/intertec/console/customers?lang=en")
    assert page.status_code == 200
    [andina_row] = html.doc(page).xpath("//tbody/tr[td[1]='800765432-3']")
    assert html.text(andina_row, "td[5]") == "Activated"  # the Access column
    with portal_app.app_context(), all_tenants():
        from saas.companies import Company

        andina = db.session.scalars(select(Company).where(Company.tax_id == "800765432-3")).one()
        [person] = andina.users
    response = staff.post(
        f"/t/intertec/console/customers/{andina.id}/recipients/{person.id}/access",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303
    assert portal_app.test_client().get(old).status_code == 410
    new = path_of(
        activation_link(
            [m for m in mails(portal_app) if m["template"] == "access_activation"][-1]["text"]
        )
    )
    assert portal_app.test_client().get(new).status_code == 200
    # The password was replaced, so the session opened with the old one is over.
    ended = recipient.get("/t/intertec/account/password")
    assert ended.status_code == 302 and "/t/intertec/login" in ended.headers["Location"]
    # Support may resend but not upload; recipients have no console at all.
    assert staff.get("/t/intertec/console/upload").status_code == 403


def test_console_upload_publishes(portal_app, tenants):
    from tests.factories import make_user

    with portal_app.app_context():
        make_user(
            tenants["intertec"].load(),
            email="fact@intertec.example",
            username="fact",
            role="biller",
        )
    staff = portal_app.test_client()
    sign_in(staff, "intertec", "fact", "correct horse battery staple")
    page = staff.get("/t/intertec/console/upload?lang=en")
    data = {
        "csrf_token": csrf_from(page.text),
        "xml": (io.BytesIO(ubl_invoice("UP-1")), "UP-1.xml"),
        "pdf": (io.BytesIO(fake_pdf("UP-1")), "UP-1.pdf"),
    }
    response = staff.post(
        "/t/intertec/console/upload?lang=en", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    told = html.alerts(html.doc(staff.get("/t/intertec/console/upload?lang=en")))
    assert told == ["Published: UP-1."]
    bad = staff.post(
        "/t/intertec/console/upload?lang=en",
        content_type="multipart/form-data",
        data={"csrf_token": csrf_from(page.text), "xml": (io.BytesIO(b"<Invoice/>"), "x.xml")},
    )
    assert bad.status_code == 422


def test_recipients_have_no_console(portal_app, recipient):
    assert recipient.get("/t/intertec/console/customers").status_code == 403


def test_another_tenants_user_gets_404_for_these_ids(portal_app, recipient, other_tenant):
    ids = ids_by_number(portal_app)
    token = csrf_from(recipient.get("/t/intertec/invoices").text)
    export = recipient.post("/t/intertec/invoices/pending", data={"csrf_token": token})
    export_id = int(export.headers["Location"].rsplit("/", 1)[1])
    other, slug = portal_app.test_client(), other_tenant.slug
    assert sign_in(other, slug, other_tenant.recipient.username, PASSWORD).status_code == 302
    for path in (
        f"/invoices/{ids['FE-1']}",
        f"/invoices/{ids['FE-1']}/pdf",
        f"/invoices/{ids['FE-1']}/xml",
        f"/exports/{export_id}",
        f"/exports/{export_id}/zip",
    ):
        assert other.get(f"/t/{slug}{path}").status_code == 404, path
    # And Intertec's own recipient of another company sees none of it either.
    assert other.get(f"/t/{slug}/invoices").status_code == 200


def test_company_switch_for_a_recipient_of_two_companies(portal_app, recipient):
    publish_for(portal_app, "intertec", ubl_invoice("CAF-1", customer="cafetera", email=EMAIL))
    page = html.doc(recipient.get("/t/intertec/invoices?lang=en"))
    assert html.texts(page, "//select[@name='company']/option")[0] == "All my companies"
    assert {"CAF-1", "FE-1"} <= set(html.invoice_numbers(page))
    with portal_app.app_context(), all_tenants():
        from saas.companies import Company

        cafetera = db.session.scalars(select(Company).where(Company.tax_id == "901234567-7")).one()
    only = recipient.get(f"/t/intertec/invoices?company={cafetera.id}").text
    assert html.invoice_numbers(html.doc(only)) == ["CAF-1"] and "FE-1" not in only


@pytest.mark.committed  # another engine reads the progress
def test_progress_is_visible_while_the_zip_is_built(portal_app, recipient, monkeypatch):
    from sqlalchemy import create_engine

    from saas.portal import exports
    from saas.portal.models import ExportJob

    for n in range(4, 12):
        publish_for(portal_app, "intertec", ubl_invoice(f"FE-{n}"), fake_pdf(f"FE-{n}"))
    seen = []
    outside = create_engine(portal_app.config["SQLALCHEMY_DATABASE_URI"])
    if outside.dialect.name == "postgresql":
        from saas.tenancy.scoping import install_row_level_security

        install_row_level_security(outside)  # it reads as the job's tenant, as the app does
    real_progress = exports._progress

    def progress_and_look(export_id, done):
        real_progress(export_id, done)
        with outside.connect() as conn:  # another connection, as the progress page uses
            seen.append(conn.execute(select(ExportJob.done)).scalar_one())

    monkeypatch.setattr(exports, "PROGRESS_EVERY", 0)
    monkeypatch.setattr(exports, "_progress", progress_and_look)
    token = csrf_from(recipient.get("/t/intertec/invoices").text)
    recipient.post("/t/intertec/invoices/pending", data={"csrf_token": token})
    outside.dispose()
    assert seen == list(range(1, 12))  # one step per invoice, each committed as it went


def test_an_export_whose_job_was_lost_does_not_block_the_next(portal_app, recipient):
    from datetime import timedelta

    from saas import clock
    from saas.auth.models import User
    from saas.portal.models import ExportJob

    with portal_app.app_context(), all_tenants():
        user = db.session.scalars(select(User).where(User.email == EMAIL)).one()
        stuck = ExportJob(
            tenant_id=user.tenant_id,
            user_id=user.id,
            active_for_user=user.id,
            invoice_ids=[],
            total=3,
            created_at=clock.now() - timedelta(minutes=31),
        )
        db.session.add(stuck)
        db.session.commit()
        stuck_id = stuck.id
    token = csrf_from(recipient.get("/t/intertec/invoices").text)
    started = recipient.post("/t/intertec/invoices/pending", data={"csrf_token": token})
    assert not started.headers["Location"].endswith(f"/{stuck_id}")
    page = html.doc(recipient.get(started.headers["Location"] + "?lang=en"))
    assert html.texts(page, "//div[@id='export-progress']/a") == ["Download zip"]
    with portal_app.app_context(), all_tenants():
        old = db.session.get(ExportJob, stuck_id)
        assert old.status == "failed" and old.active_for_user is None


def test_two_invoices_with_the_same_date_and_number_both_reach_the_zip(portal_app, tmp_path):
    from types import SimpleNamespace

    from saas.portal.exports import write_zip
    from saas.storage import get_storage

    with portal_app.app_context(), all_tenants():
        storage = get_storage()
        rows = []
        for n, body in enumerate((b"<a/>", b"<b/>", b"<c/>"), 1):
            storage.put(f"tenants/1/t/{n}.xml", body, "application/xml")
            rows.append(
                SimpleNamespace(
                    id=n,
                    number="FE-1" if n < 3 else "fe-1",
                    issue_date=date(2026, 1, 5),
                    xml_key=f"tenants/1/t/{n}.xml",
                    xml_size=len(body),
                    xml_crc32=__import__("zlib").crc32(body),
                    pdf_key=None,
                )
            )
        write_zip("tenants/1/t/all.zip", rows)
        archive = zipfile.ZipFile(io.BytesIO(storage.read("tenants/1/t/all.zip")))
    assert archive.namelist() == [
        "2026-01-05_FE-1.xml",
        "2026-01-05_FE-1-2.xml",
        "2026-01-05_fe-1-3.xml",
    ]
    assert [archive.read(n) for n in archive.namelist()] == [b"<a/>", b"<b/>", b"<c/>"]

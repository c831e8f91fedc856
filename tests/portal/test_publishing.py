"""Publishing: one service for every entry point, idempotent, onboarding mail once."""

import subprocess
import threading

import pytest
from sqlalchemy import func, select

from saas.auth.models import User
from saas.companies import Company
from saas.extensions import db
from saas.portal.models import Invoice
from saas.storage import get_storage
from saas.tenancy import all_tenants
from tests.conftest import ROOT, flask_command, flask_env
from tests.invoices import fake_pdf, ubl_invoice
from tests.portal.conftest import credentials, mails, publish_for, send_digests

SAMPLES = ROOT / "tests" / "samples"


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_first_invoice_onboards_and_the_second_notifies(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"), fake_pdf("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2"))
    assert len(mails(portal_app, "compras@andina.example")) == 2  # FE-2 waits for its window
    assert send_digests(portal_app) == 1
    sent = mails(portal_app, "compras@andina.example")
    assert [m["template"] for m in sent] == [
        "access_activation",
        "access_password",
        "invoices_published",
    ]
    activation, password, notice = (m["text"] for m in sent)
    assert "Usuario: compras" in activation and "FE-1" in activation
    username, generated = credentials(password)
    assert username == "compras" and "Contraseña: " in password and len(generated) >= 20
    assert "Número: FE-2" in notice and "http://portal.test/t/intertec/invoices/" in notice
    with portal_app.app_context(), all_tenants():
        user = db.session.scalars(select(User).where(User.email == "compras@andina.example")).one()
        assert user.kind == "recipient" and user.must_change_password and user.welcomed_at
        assert [c.tax_id for c in user.companies] == ["800765432-3"]
        invoice = db.session.scalars(select(Invoice).where(Invoice.number == "FE-1")).one()
        assert invoice.xml_key.startswith(f"tenants/{user.tenant_id}/invoices/")
        assert get_storage().read(invoice.pdf_key) == fake_pdf("FE-1")
        assert get_storage().read(invoice.xml_key) == ubl_invoice("FE-1")


def test_same_invoice_again_changes_nothing(portal_app):
    first = publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    again = publish_for(portal_app, "intertec", ubl_invoice("FE-1"), fake_pdf("other"))
    assert first == again
    with portal_app.app_context(), all_tenants():
        assert count(Invoice) == 1 and count(Company) == 2 and count(User) == 1
        assert db.session.get(Invoice, first[0]).pdf_key is None
    assert len(mails(portal_app)) == 2  # only the activation pair


@pytest.mark.committed  # threads
def test_concurrent_publishing_of_invoices_for_a_new_customer(portal_app):
    errors = []

    def publish_one(n):
        try:
            publish_for(portal_app, "intertec", ubl_invoice(f"FE-{n}"))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=publish_one, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    send_digests(portal_app)
    sent = mails(portal_app)
    templates = [m["template"] for m in sent]
    assert templates.count("access_activation") == 1 and templates.count("access_password") == 1
    # The other five invoices, each once, in one digest.
    [digest] = [m for m in sent if m["template"] == "invoices_published"]
    onboarded = {n for n in range(6) if f"FE-{n}" in sent[0]["text"]}
    assert len(onboarded) == 1
    told = [n for n in range(6) if f"Número: FE-{n} " in digest["text"]]
    assert sorted(told + list(onboarded)) == list(range(6))
    with portal_app.app_context(), all_tenants():
        assert count(Invoice) == 6 and count(User) == 1


def test_set_password_mode_sends_one_email(portal_app):
    xml = (SAMPLES / "it" / "invoice-simple-with-pec.xml").read_bytes()
    publish_for(portal_app, "adriatica", xml)
    [mail] = mails(portal_app)
    assert mail["template"] == "access_set_password" and mail["to"] == "fooo@inbox.com"
    assert "Nome utente: fooo" in mail["text"] and "/t/adriatica/welcome/" in mail["text"]
    assert "Password:" not in mail["text"]


def test_no_email_no_recipient_but_the_invoice_is_kept(portal_app):
    publish_for(portal_app, "intertec", ubl_invoice("FE-9", email=None))
    with portal_app.app_context(), all_tenants():
        assert count(Invoice) == 1 and count(User) == 0
    assert mails(portal_app) == []


def test_country_and_file_checks(portal_app):
    from saas.portal.publishing import PublishError

    italian = (SAMPLES / "it" / "invoice-simple.xml").read_bytes()
    foreign = "an Italian invoice cannot be published by a Colombian portal"
    with pytest.raises(PublishError, match=foreign):
        publish_for(portal_app, "intertec", italian)
    with pytest.raises(PublishError, match="not a PDF"):
        publish_for(portal_app, "intertec", ubl_invoice("FE-1"), b"GIF89a")
    with pytest.raises(PublishError):
        publish_for(portal_app, "intertec", b"<nothing/>")


@pytest.mark.committed  # a `flask` process
def test_import_command(portal_app, database_url, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "FE-1.xml").write_bytes(ubl_invoice("FE-1"))
    (folder / "FE-1.pdf").write_bytes(fake_pdf("FE-1"))
    (folder / "FE-2.xml").write_bytes(ubl_invoice("FE-2", email=None))
    (folder / "broken.xml").write_bytes(b"<Invoice>")
    (folder / "lonely.pdf").write_bytes(fake_pdf("x"))
    env = flask_env(
        DATABASE_URL=database_url,
        STORAGE_URL=f"file://{tmp_path / 'storage'}",
        BASE_URL="http://portal.test",
    )
    args = ["invoices", "import", "--tenant", "intertec", "--email", "pagos@andina.example"]
    files = [
        str(folder / n) for n in ("FE-1.xml", "FE-1.pdf", "FE-2.xml", "broken.xml", "lonely.pdf")
    ]
    result = subprocess.run(
        flask_command(*args, *files), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert lines[0] == "FE-1.xml: imported FE-1 with FE-1.pdf"
    assert lines[1] == "FE-2.xml: imported FE-2"
    assert lines[2].startswith("broken.xml: error: ")
    assert lines[3] == "lonely.pdf: error: a PDF needs an XML with the same name"
    again = subprocess.run(
        flask_command(*args, files[0]),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and again.stdout.strip() == "FE-1.xml: already present FE-1"
    with portal_app.app_context(), all_tenants():
        assert count(Invoice) == 2


def test_a_later_invoice_without_an_address_notifies_the_companys_recipients(portal_app):
    """CFDI files never name the recipient: the customer's people still hear of it."""
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    publish_for(portal_app, "intertec", ubl_invoice("FE-2", email=None))
    send_digests(portal_app)
    sent = mails(portal_app, "compras@andina.example")
    assert [m["template"] for m in sent][-1] == "invoices_published"
    assert "FE-2" in sent[-1]["text"]
    # A customer nobody was ever onboarded for: the invoice waits, nobody is mailed.
    publish_for(portal_app, "intertec", ubl_invoice("FE-3", customer="cafetera", email=None))
    send_digests(portal_app)
    assert not [m for m in mails(portal_app) if "FE-3" in m["text"]]


def test_an_address_of_a_staff_user_never_becomes_a_recipient(portal_app):
    from flask import g

    from tests.factories import make_user

    with portal_app.app_context():
        from saas.tenancy import load_tenant

        g.tenant = tenant = load_tenant("intertec")
        admin = make_user(tenant, email="compras@andina.example", username="boss", role="admin")
        before = (admin.password_hash, admin.must_change_password, admin.session_token)
    publish_for(portal_app, "intertec", ubl_invoice("FE-1"))
    with portal_app.app_context(), all_tenants():
        admin = db.session.scalars(select(User).filter_by(username="boss")).one()
        assert (admin.password_hash, admin.must_change_password, admin.session_token) == before
        assert admin.companies == [] and admin.welcomed_at is None
        assert count(Invoice) == 1
    assert mails(portal_app, "compras@andina.example") == []

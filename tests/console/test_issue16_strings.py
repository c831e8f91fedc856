"""What people read is in their language: why an invoice was refused (on the Upload page
and in a bulk upload's results), the audit log's events and details, percentages and
counts, and the outbox's statuses. The API keeps its English messages, with codes."""

import ast
import io
from pathlib import Path

from flask import g

from saas import audit
from saas.console import audit_texts, upload_messages
from saas.console.models import UploadBatch
from saas.einvoice import EInvoiceError, cfdi, read_invoices
from saas.extensions import db
from saas.mail import OutboxMessage
from saas.portal.publishing import PublishError, publish
from saas.tenancy import all_tenants
from tests import html
from tests.auth.conftest import csrf_from, sign_in
from tests.console.test_bulk_limits import post_files, result_details
from tests.console.test_console import staff_client
from tests.factories import PASSWORD, make_user
from tests.invoices import ubl_invoice

ROOT = Path(__file__).resolve().parents[2]
NO_ISSUE_DATE = ubl_invoice("FE-9").replace(b"<cbc:IssueDate>2026-01-15</cbc:IssueDate>", b"")


def upload_one(client, xml: bytes, lang: str, email: str = ""):
    url = f"/t/intertec/console/upload?lang={lang}"
    token = csrf_from(client.get(url).text)
    return client.post(
        url,
        data={"csrf_token": token, "xml": (io.BytesIO(xml), "f.xml"), "email": email},
        content_type="multipart/form-data",
    )


def calls(paths):
    """Every call in these files: (function name, positional args, keyword args)."""
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                yield name, node.args, {k.arg: k.value for k in node.keywords}


def constant(node):
    return node.value if isinstance(node, ast.Constant) else None


def test_every_code_the_reader_and_publishing_raise_has_words():
    """A code without a sentence would show people the catch-all: none may be missing."""
    paths = [*(ROOT / "saas/einvoice").glob("*.py"), ROOT / "saas/portal/publishing.py"]
    codes, reasons = set(), set()
    for name, args, keywords in calls(paths):
        if name == "EInvoiceError":
            if isinstance(keywords.get("code"), ast.Name):
                continue  # a code taken from a table: the tables are added below
            codes.add(constant(keywords.get("code")))
        elif name in ("PublishError", "IssuerNotAssigned", "NationalIdTaken") and len(args) > 1:
            if not isinstance(args[1], ast.Attribute):  # (the reader's own code, passed on)
                codes.add(constant(args[1]))
        elif name == "invalid" and len(args) > 4:
            reasons.add(constant(args[4]))
    codes |= {"missing_field", "invalid_value"}  # missing() and invalid()
    codes |= {code for code, _what in cfdi.NOT_PUBLISHED.values()}
    assert None not in codes and None not in reasons  # every one is written out
    assert {"too_large", "doctype", "unknown_root", "not_pdf", "national_id_taken"} <= codes
    assert codes - set(upload_messages.PROBLEMS) == set()
    assert {"amount", "date", "currency", "tax_id", "version", "cfdi_kind"} <= reasons
    assert reasons - set(upload_messages.REASONS) == set()


def test_the_readers_error_has_a_stable_code_and_its_values():
    try:
        read_invoices(NO_ISSUE_DATE)
    except EInvoiceError as error:
        assert (error.code, error.format, error.params) == (
            "missing_field",
            "ubl21-co",
            {"field": "cbc:IssueDate"},
        )
        assert str(error) == "DIAN UBL 2.1: missing field cbc:IssueDate"  # for machines
    else:
        raise AssertionError("read")


def test_the_upload_page_says_why_in_the_readers_language(app, tenants):
    client = staff_client(app, tenants, "biller")
    unknown_es = "Factura electrónica no reconocida: "
    unknown_it = "Fattura elettronica non riconosciuta: "
    cases = [
        (
            b"<r/>",
            "es",
            unknown_es
            + "r no es un documento DIAN UBL 2.1, FatturaPA 1.2, FatturaPA semplificata ni "
            "CFDI 4.0.",
        ),
        (
            b"<r/>",
            "it",
            unknown_it
            + "r non è un documento DIAN UBL 2.1, FatturaPA 1.2, FatturaPA semplificata o CFDI "
            "4.0.",
        ),
        (NO_ISSUE_DATE, "es", "DIAN UBL 2.1: falta el campo cbc:IssueDate."),
        (NO_ISSUE_DATE, "en", "DIAN UBL 2.1: the field cbc:IssueDate is missing."),
        (b"<a><b></a>", "es", unknown_es + "el archivo no es un XML bien formado (línea 1)."),
    ]
    for xml, lang, message in cases:
        answer = upload_one(client, xml, lang)
        assert answer.status_code == 422
        assert html.alerts(html.doc(answer)) == [message], (xml, lang)
    bad_address = upload_one(client, ubl_invoice("FE-7"), "es", email="no es correo")
    assert html.alerts(html.doc(bad_address)) == [
        "El correo del destinatario no es correo no es una dirección de correo electrónico."
    ]


def test_a_bulk_uploads_refusals_are_worded_when_read_in_the_readers_language(app, tenants):
    client = staff_client(app, tenants, "biller")
    files = [(io.BytesIO(NO_ISSUE_DATE), "sin-fecha.xml"), (io.BytesIO(b"<r/>"), "raro.xml")]
    response = post_files(client, files, lang="es")
    assert response.status_code == 303
    with app.app_context(), all_tenants():
        [batch] = db.session.scalars(db.select(UploadBatch)).all()
        stored = {r["file"]: r["problem"] for r in batch.results}
    assert stored["sin-fecha.xml"] == {
        "code": "missing_field",
        "format": "ubl21-co",
        "params": {"field": "cbc:IssueDate"},
    }
    location = response.headers["Location"]
    spanish = result_details(client.get(location + "?lang=es"))
    assert spanish["sin-fecha.xml"] == "DIAN UBL 2.1: falta el campo cbc:IssueDate."
    italian = result_details(client.get(location + "?lang=it"))
    assert italian["sin-fecha.xml"] == "DIAN UBL 2.1: manca il campo cbc:IssueDate."
    assert italian["raro.xml"].startswith("Fattura elettronica non riconosciuta: r non è")


def test_the_api_keeps_english_with_its_codes(app, tenants):
    assert upload_messages.describe("not_pdf") == "The PDF file is not a PDF document."
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        try:
            publish(g.tenant, ubl_invoice("FE-1"), b"not a pdf")
        except PublishError as error:
            assert (error.code, str(error)) == ("not_pdf", "the PDF file is not a PDF document")
        else:
            raise AssertionError("published")


def audit_rows(client, lang):
    page = html.doc(client.get(f"/t/intertec/console/audit?lang={lang}"))
    rows = page.xpath("//table[contains(@class, 'audit')]/tbody/tr")
    return [
        (row.xpath("td[2]/@data-event")[0], html.texts(row, "td")[1], html.texts(row, "td")[4])
        for row in rows
    ]


def test_the_audit_log_tells_each_event_in_the_readers_language(app, tenants):
    with app.app_context():
        tenant = tenants["intertec"].load()
        make_user(tenant, username="maria", name="María Gómez", email="maria@example.com")
        admin = make_user(tenant, username="jefa", name="Juana Pérez", email="jefa@example.com")
        target = make_user(tenant, username="tom", name="Tomás Ruiz", role="biller")
        g.tenant = tenant
        audit.record(
            "tenant.settings_changed", user_id=admin.id, fields=["primary_color", "locales"]
        )
        audit.record("user.deactivated", user_id=admin.id, target=target.id)
        audit.record(
            "upload.finished", user_id=admin.id, batch=1, imported=1234, present=0, errors=2
        )
        audit.record("someday.new_event", user_id=admin.id, thing="x")
        db.session.commit()
    assert sign_in(app.test_client(), "intertec", "maria", PASSWORD).status_code == 302
    sign_in(app.test_client(), "intertec", "Nadie", "wrong password")  # no such account
    client = app.test_client()
    assert sign_in(client, "intertec", "jefa", PASSWORD).status_code == 302
    spanish = audit_rows(client, "es")
    by_event = {event: (name, sentence) for event, name, sentence in spanish}
    assert by_event["tenant.settings_changed"] == (
        "Configuración cambiada",
        "Juana Pérez cambió la configuración: Color principal y Idiomas.",
    )
    assert by_event["user.deactivated"][1] == "Juana Pérez desactivó a Tomás Ruiz."
    assert by_event["upload.finished"][1] == (
        "Terminó una carga de Juana Pérez: 1.234 importadas, 0 ya presentes, 2 con errores."
    )
    assert (
        "signin.succeeded",
        "Sesión iniciada",
        "María Gómez inició sesión con su contraseña.",
    ) in spanish
    assert by_event["someday.new_event"][1] == "someday.new_event (thing: x)"  # not yet worded
    assert not any("=" in sentence or "{" in sentence for _e, _n, sentence in spanish)
    page = html.doc(client.get("/t/intertec/console/audit?lang=es&event=signin.failed"))
    [failed] = page.xpath("//table[contains(@class, 'audit')]/tbody/tr")
    assert html.texts(failed, "td")[2:] == [
        "nadie",  # the account typed, without the trail's "login:"
        "127.0.0.1",
        "Se escribió una contraseña errónea para nadie.",
    ]
    italian = {event: sentence for event, _name, sentence in audit_rows(client, "it")}
    assert italian["user.deactivated"] == "Juana Pérez ha disattivato Tomás Ruiz."
    options = html.doc(client.get("/t/intertec/console/audit?lang=es")).xpath(
        "//select[@id='event']/option[@value='signin.succeeded']"
    )
    assert [html.text(o) for o in options] == ["Sesión iniciada"]


def test_every_event_the_code_records_has_a_name_and_a_sentence():
    recorded = set()
    for name, args, keywords in calls((ROOT / "saas").rglob("*.py")):
        if name == "record" and args and constant(args[0]):
            recorded.add(constant(args[0]))
        if name in ("reauthenticate", "_check_password") and constant(keywords.get("event")):
            recorded.add(constant(keywords["event"]))
    recorded |= {"signin.failed", "tenant.created", "tenant.updated"}  # passed as variables
    recorded -= {e for e in recorded if e.startswith("platform.")}  # not in a tenant's log
    assert {"signin.succeeded", "password.reauth_failed", "api_key.reauth_failed"} <= recorded
    assert recorded - set(audit_texts.EVENT_NAMES) == set()
    assert recorded - set(audit_texts.SENTENCES) == set()


def test_percentages_and_counts_follow_the_locale(app, tenants):
    with app.app_context():
        tenant = tenants["intertec"].load()
        user = make_user(tenant, username="ana", role="biller")
        batch = UploadBatch(
            tenant_id=tenant.id, user_id=user.id, status="running", total=4000, done=2000
        )
        db.session.add(batch)
        db.session.commit()
        batch_id = batch.id
    client = app.test_client()
    assert sign_in(client, "intertec", "ana", PASSWORD).status_code == 302
    url = f"/t/intertec/console/uploads/{batch_id}"
    spanish = html.doc(client.get(url + "?lang=es"))
    assert html.text(spanish, "//section[@id='upload-progress']/progress") == "50\xa0%"
    assert html.text(spanish, "//section[@id='upload-progress']/p[@role='status']") == (
        "Publicando: 2.000 de 4.000 archivos."
    )
    english = html.doc(client.get(url + "?lang=en"))
    assert html.text(english, "//section[@id='upload-progress']/progress") == "50%"


def test_the_outbox_words_its_statuses(app):
    with app.app_context(), all_tenants():
        for status in ("kept", "failed"):
            db.session.add(
                OutboxMessage(
                    template="magic_link",
                    to_addr=f"{status}@example.com",
                    from_addr="no-reply@localhost",
                    subject=status,
                    text_body="x",
                    html_body="<p>x</p>",
                    message_id=f"<{status}@localhost>",
                    locale="en",
                    status=status,
                )
            )
        db.session.commit()
    page = html.doc(app.test_client().get("/dev/outbox?lang=es"))
    assert html.texts(page, "//tbody/tr/td[4]") == ["No entregado", "Guardado (no enviado)"]
    italian = html.doc(app.test_client().get("/dev/outbox?lang=it"))
    assert html.texts(italian, "//tbody/tr/td[4]") == ["Non consegnata", "Conservata (non inviata)"]


def test_the_dashboards_share_is_a_percentage_of_the_locale(app, tenants):
    from tests.portal.conftest import publish_for

    for n in range(3):
        publish_for(app, "intertec", ubl_invoice(f"FE-{n}"))
    client = staff_client(app, tenants, "accountant")
    for lang, share in (("es", "(0,0\xa0%)"), ("it", "(0,0%)"), ("en", "(0.0%)")):
        page = html.doc(client.get(f"/t/intertec/console/?lang={lang}"))
        caption = html.text(
            page, "//article[.//svg[@aria-labelledby='status-title']]//figcaption/p"
        )
        assert share in caption, (lang, caption)

"""Outbox first, then delivery by a job, through a real SMTP server (aiosmtpd)."""

import pytest
from flask import g
from sqlalchemy import select

from saas.audit import AuditEvent
from saas.extensions import db
from saas.mail import FAILED, KEPT, SENT, OutboxMessage, retry_delay, send_email
from tests.conftest import wait_until
from tests.factories import UserFactory


def outbox_rows():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


@pytest.fixture
def smtp_app(make_app, smtp):
    app = make_app(MAIL_URL=smtp.url, MAIL_RETRY_DELAYS=(0.5, 0.5))
    with app.app_context():
        from saas.tenancy.services import sync_tenants

        sync_tenants()
        db.session.commit()  # the test owns its transaction
        from saas.tenancy import load_tenant

        g.tenant = load_tenant("intertec")
        yield app


def test_outbox_mode_keeps_messages_and_shows_them(app, client, tenants):
    with app.app_context():
        g.tenant = tenants["intertec"].load()
        send_email("ana@example.com", "test", tenant=g.tenant, locale="es")
        db.session.commit()
        [row] = outbox_rows()
        assert row.status == KEPT
        assert row.subject == "Mensaje de prueba de Intertec"
    listing = client.get("/dev/outbox")
    assert listing.status_code == 200 and "Mensaje de prueba de Intertec" in listing.text
    shown = client.get(f"/dev/outbox/{row.id}")
    assert "ana@example.com" in shown.text and "Mensaje de prueba" in shown.text
    html = client.get(f"/dev/outbox/{row.id}/html")
    assert "#0b5394" in html.text and "sandbox" in html.headers["Content-Security-Policy"]


def test_outbox_pages_are_only_for_this_machine(client, tenants):
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/dev/outbox", environ_base=remote).status_code == 404
    assert client.get("/dev/outbox", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert "Intertec" not in client.get("/", environ_base=remote).text
    assert "Intertec" in client.get("/").text


def test_outbox_pages_are_off_with_real_mail(smtp_app):
    client = smtp_app.test_client()
    assert client.get("/dev/outbox").status_code == 404
    assert client.get("/dev/outbox/1").status_code == 404


def test_message_is_sent_after_commit_and_not_at_all_after_rollback(smtp_app, smtp):
    send_email("lost@example.com", "test", tenant=g.tenant)
    assert smtp.messages == []  # nothing leaves before the transaction commits
    db.session.rollback()
    assert outbox_rows() == [] and smtp.messages == []

    send_email("ana@example.com", "test", tenant=g.tenant, locale="it")
    db.session.commit()
    wait_until(lambda: smtp.messages, message="delivery")
    [row] = outbox_rows()
    assert row.status == SENT and row.attempts == 1 and row.sent_at is not None


def test_email_is_branded_translated_html_and_text(smtp_app, smtp):
    send_email("ana@example.com", "test", tenant=g.tenant, locale="it")
    db.session.commit()
    [message] = wait_until(lambda: smtp.messages)
    assert message["Subject"] == "Messaggio di prova da Intertec"
    assert message["From"] == "Intertec <no-reply@portal.test>"
    assert message["To"] == "ana@example.com"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Questo messaggio di prova conferma che Intertec" in text
    assert "Assistenza: 300 3292" in text
    assert "http://portal.test/t/intertec/" in text  # links come from BASE_URL
    assert "#0b5394" in html and 'src="http://portal.test/t/intertec/logo"' in html
    assert "Apri il portale fatture" in html


@pytest.mark.committed  # the retries run on timer threads
def test_smtp_outage_loses_nothing(smtp_app, smtp):
    smtp.stop()
    send_email("ana@example.com", "test", tenant=g.tenant)
    db.session.commit()
    [row] = outbox_rows()
    assert row.status == "pending" and row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    smtp.start()  # the server comes back before the retry
    wait_until(lambda: outbox_rows()[0].status == SENT, message="retry after the outage")
    assert len(smtp.messages) == 1


@pytest.mark.committed  # the retries run on timer threads
def test_an_outage_past_the_give_up_time_ends_failed_audited_admins_told_once(make_app, smtp):
    """Retries go on until MAIL_GIVE_UP_AFTER; then each message is failed and audited,
    and the Administrators get one email about it, not one per message. An operator's
    retry sends them once the server is back."""
    app = make_app(
        MAIL_URL=smtp.url,
        MAIL_RETRY_DELAYS=(0.2,),
        MAIL_RETRY_MAX_DELAY=0.3,
        MAIL_GIVE_UP_AFTER=1.5,
    )
    with app.app_context():
        from saas.tenancy import load_tenant
        from saas.tenancy.services import sync_tenants

        sync_tenants()
        db.session.commit()
        g.tenant = load_tenant("intertec")
        admin = UserFactory(tenant=g.tenant, role="admin", email="admin@intertec.example")
        db.session.commit()
        smtp.stop()
        for address in ("ana@example.com", "luis@example.com"):
            send_email(address, "test", tenant=g.tenant)
        db.session.commit()
        tries = lambda: [r for r in outbox_rows() if r.template == "test"]  # noqa: E731
        wait_until(lambda: all(r.status == FAILED for r in tries()), timeout=15)
        assert all(r.attempts >= 4 for r in tries())  # 0.2 s, then 0.3 s, for 1.5 s
        assert all(r.last_error.startswith("gave up after") for r in tries())
        events = [e.event for e in db.session.scalars(select(AuditEvent))]
        assert events.count("mail.given_up") == 2 and events.count("mail.incident") == 1
        [notice] = [r for r in outbox_rows() if r.template == "mail_incident"]
        assert notice.to_addr == admin.email and notice.status in ("pending", "sending")
        smtp.start()
        wait_until(lambda: [r.status for r in outbox_rows() if r.id == notice.id] == [SENT])
        result = app.test_cli_runner().invoke(args=["outbox", "retry"])
        assert "2 message(s) queued again." in result.stdout
        wait_until(lambda: all(r.status == SENT for r in tries()), message="operator retry")
        assert sorted(m["To"] for m in smtp.messages) == [
            "admin@intertec.example", "ana@example.com", "luis@example.com"
        ]  # fmt: skip


def test_the_wait_doubles_after_the_first_steps_up_to_its_cap(make_app):
    app = make_app(MAIL_RETRY_DELAYS=(30, 120), MAIL_RETRY_MAX_DELAY=3600)
    with app.app_context():
        for attempts, expected in [(1, 30), (2, 120), (3, 240), (4, 480), (6, 1920), (7, 3600)]:
            waits = [retry_delay(attempts) for _ in range(200)]
            assert expected * 0.9 <= min(waits) and max(waits) <= expected * 1.1
            assert max(waits) - min(waits) > expected * 0.05  # jittered, not all alike
        assert retry_delay(500) <= 3600 * 1.1


def test_a_permanent_refusal_fails_at_once_and_shows_on_the_customer(smtp_app, smtp):
    from saas.companies import Company
    from tests.factories import CompanyFactory

    customer = CompanyFactory(tenant=g.tenant, name="Andina")
    UserFactory(tenant=g.tenant, kind="recipient", role=None, email="gone@example.com",
                companies=[customer])  # fmt: skip
    smtp.refuse["gone@example.com"] = "550 5.1.1 <gone@example.com>: no such user"
    send_email("gone@example.com", "test", tenant=g.tenant)
    db.session.commit()
    [row] = [r for r in outbox_rows() if r.to_addr == "gone@example.com"]
    assert row.status == FAILED and row.attempts == 1
    assert "550 5.1.1" in row.last_error and "no such user" in row.last_error
    company = db.session.get(Company, customer.id)
    assert company.mail_problem == "refused"
    assert company.mail_problem_detail.startswith("gone@example.com: ")
    assert smtp.messages == []


@pytest.mark.committed  # the retry runs on a timer thread
def test_a_temporary_refusal_is_tried_again(smtp_app, smtp):
    smtp.refuse["busy@example.com"] = "451 4.2.0 mailbox busy, try later"
    send_email("busy@example.com", "test", tenant=g.tenant)
    db.session.commit()
    [row] = outbox_rows()
    assert row.status == "pending" and "451" in row.last_error
    del smtp.refuse["busy@example.com"]
    wait_until(lambda: outbox_rows()[0].status == SENT, message="retry after a 451")
    assert [m["To"] for m in smtp.messages] == ["busy@example.com"]


def test_one_transactions_emails_go_over_one_connection(smtp_app, smtp):
    for n in range(5):
        send_email(f"person{n}@example.com", "test", tenant=g.tenant)
    db.session.commit()
    wait_until(lambda: len(smtp.messages) == 5)
    assert len(set(smtp.sessions)) == 1
    assert [r.status for r in outbox_rows()] == [SENT] * 5


def test_a_message_is_never_sent_twice(smtp_app, smtp):
    from saas.jobs import run_task
    from saas.mail import deliver

    send_email("ana@example.com", "test", tenant=g.tenant)
    db.session.commit()
    wait_until(lambda: smtp.messages)
    row = outbox_rows()[0]
    assert run_task(deliver.task_path, row.tenant_id, row.id) is None  # already sent
    assert len(smtp.messages) == 1


@pytest.mark.committed  # the retries run on timer threads
def test_delivery_job_of_another_tenant_does_nothing(smtp_app, smtp):
    from saas.jobs import cancel_delayed, run_task
    from saas.mail import deliver
    from saas.tenancy import load_tenant

    smtp.stop()
    send_email("ana@example.com", "test", tenant=g.tenant)
    db.session.commit()
    wait_until(lambda: outbox_rows()[0].attempts == 1)
    cancel_delayed()  # no retry of its own meanwhile
    db.session.execute(OutboxMessage.__table__.update().values(status="pending", attempts=0))
    db.session.commit()
    smtp.start()
    other = load_tenant("azteca")
    assert run_task(deliver.task_path, other.id, outbox_rows()[0].id) is None
    assert outbox_rows()[0].status == "pending" and smtp.messages == []


def test_test_email_command(smtp_app, smtp):
    result = smtp_app.test_cli_runner().invoke(
        args=["outbox", "test", "--tenant", "azteca", "--to", "ops@example.com"]
    )
    assert result.exit_code == 0, result.output
    [message] = wait_until(lambda: smtp.messages)
    assert message["Subject"] == "Mensaje de prueba de Comercializadora Azteca"


def test_a_message_that_cannot_be_built_ends_failed_at_once(smtp_app, smtp):
    send_email("ana@example.com\r\nBcc: spy@evil.example", "test", tenant=g.tenant)
    db.session.commit()
    [row] = outbox_rows()
    assert row.status == FAILED and row.attempts == 1  # never left in `sending`
    assert row.last_error.startswith("cannot be built:")
    assert smtp.messages == []


def test_any_other_delivery_error_ends_failed_not_sending(smtp_app, smtp, monkeypatch):
    def broken(connection, message):  # a bug in delivery, not an SMTP answer
        raise KeyError("port")

    monkeypatch.setattr("saas.mail_backends.SmtpConnection.send", broken)
    send_email("ana@example.com", "test", tenant=g.tenant)
    db.session.commit()
    [row] = outbox_rows()
    assert row.status == FAILED and row.last_error == "KeyError: 'port'"


def test_a_line_break_in_a_stored_tenant_name_does_not_reach_the_header(smtp_app, smtp):
    # Names are checked where they are written now; one stored before must not break mail.
    g.tenant.name = "Intertec\r\nBcc: spy@evil.example"
    send_email("ana@example.com", "test", tenant=g.tenant)
    db.session.commit()
    [message] = wait_until(lambda: smtp.messages)
    assert message["From"] == '"Intertec Bcc: spy@evil.example" <no-reply@portal.test>'
    assert message["Bcc"] is None and [r.status for r in outbox_rows()] == [SENT]

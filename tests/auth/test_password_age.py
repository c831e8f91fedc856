"""The password age policy: banner from 14 days, one reminder at 7, a forced change after."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from saas import clock
from saas.auth.password_age import remind_expiring_passwords
from saas.daily import run_daily
from saas.extensions import db
from saas.jobs import enqueue
from saas.mail import OutboxMessage
from saas.tenancy import all_tenants
from saas.tenancy.models import Tenant
from tests.auth.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, make_user
from tests.html import field_error, problems

NEW = "otoño en la sabana de bogotá"


@pytest.fixture
def ines(app, tenants, frozen_clock):
    """A recipient of Intertec (90-day policy) whose password was set just now."""
    with app.app_context():
        return make_user(
            tenants["intertec"].load(),
            email="ines@example.com",
            username="ines",
            name="Inés",
            kind="recipient",
            role=None,
            password_changed_at=clock.now(),
        ).id


def reminders(app):
    with app.app_context(), all_tenants():
        return db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "password_expiry_reminder")
        ).all()


def run_reminders(app, slug="intertec"):
    with app.app_context(), all_tenants():
        tenant_id = db.session.scalars(select(Tenant.id).filter_by(slug=slug)).one()
        enqueue(remind_expiring_passwords, tenant_id)
        db.session.commit()  # jobs start after the commit; in process, right then


def test_banner_from_14_days_before_expiry(client, ines):
    assert sign_in(client, "intertec", "ines", PASSWORD).status_code == 302
    clock.travel(timedelta(days=90 - 15))
    assert "password-banner" not in client.get("/t/intertec/account?lang=en").text
    clock.travel(timedelta(days=1))
    page = client.get("/t/intertec/account?lang=en").text
    banner = re.search(r'<p class="[^"]*password-banner[^"]*".*?</p>', page, re.S).group(0)
    assert "Your password expires in 14 days." in banner
    assert "We recommend changing your password every 3 months." in banner
    assert 'href="/t/intertec/account/password">Change password</a>' in banner
    spanish = client.get("/t/intertec/account?lang=es").text
    assert "Le recomendamos cambiar su contraseña cada 3 meses." in spanish
    # Not on the page where it is being changed.
    assert "password-banner" not in client.get("/t/intertec/account/password").text


def test_one_reminder_at_7_days_per_password(app, client, ines):
    clock.travel(timedelta(days=90 - 8))
    run_reminders(app)
    assert reminders(app) == []
    clock.travel(timedelta(days=1))
    run_reminders(app)
    run_reminders(app)  # a second run (cron twice, a retry) sends nothing more
    sent = reminders(app)
    assert len(sent) == 1 and sent[0].to_addr == "ines@example.com"
    assert "vence el" in sent[0].text_body and "cada 3 meses" in sent[0].text_body
    assert sent[0].subject.startswith("Su contraseña en Intertec vence en 7 días")

    # A new password starts a new cycle with a new reminder.
    assert sign_in(client, "intertec", "ines", PASSWORD).status_code == 302
    page = client.get("/t/intertec/account/password").text
    fields = {"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW}
    changed = client.post(
        "/t/intertec/account/password", data={**fields, "csrf_token": csrf_from(page)}
    )
    assert changed.status_code == 302
    clock.travel(timedelta(days=83))
    run_reminders(app)
    assert len(reminders(app)) == 2


def test_no_policy_no_reminder_and_no_banner(app, tenants, frozen_clock):
    with app.app_context():
        make_user(tenants["adriatica"].load(), username="gino", password_changed_at=clock.now())
    clock.travel(timedelta(days=400))
    run_reminders(app, "adriatica")
    assert reminders(app) == []
    client = app.test_client()
    sign_in(client, "adriatica", "gino", PASSWORD)
    page = client.get("/t/adriatica/account?lang=en")
    assert page.status_code == 200 and "password-banner" not in page.text


def test_after_expiry_the_next_sign_in_must_change_it(app, client, ines):
    clock.travel(timedelta(days=90))
    response = sign_in(client, "intertec", "ines", PASSWORD)
    assert response.status_code == 302
    blocked = client.get("/t/intertec/invoices")
    assert blocked.headers["Location"] == "/t/intertec/account/password"
    page = client.get("/t/intertec/account/password?lang=en").text
    assert "Your password has expired. Choose a new one to go on." in problems(page)
    same = client.post(
        "/t/intertec/account/password?lang=en",
        data={
            "csrf_token": csrf_from(page),
            "new_password": PASSWORD,
            "confirm_password": PASSWORD,
        },
    )
    assert same.status_code == 422
    assert field_error(same, "new_password") == (
        "Choose a password different from your current one."
    )
    done = client.post(
        "/t/intertec/account/password",
        data={"csrf_token": csrf_from(page), "new_password": NEW, "confirm_password": NEW},
    )
    assert done.headers["Location"] == "/t/intertec/invoices"
    assert client.get("/t/intertec/invoices").status_code == 200


def test_the_daily_command_queues_the_task_for_every_tenant(app, tenants, ines):
    clock.travel(timedelta(days=83))
    result = app.test_cli_runner().invoke(args=["daily"])
    assert result.exit_code == 0
    tasks = 2  # password reminders and seat purchases, per tenant
    assert f"Queued {tasks * len(tenants)} daily job(s)." in result.output
    assert len(reminders(app)) == 1
    with app.app_context(), all_tenants():
        assert run_daily() == tasks * len(tenants)
    assert len(reminders(app)) == 1

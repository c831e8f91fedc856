"""A living demo: `flask demo` publishes each tenant's demo invoices once, the owner sees
the whole tenant, and commands in another shell build links for the server `make run`
serves; the dev outbox opens an email's links outside its frame."""

from __future__ import annotations

import shlex
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas import ConfigError, clock
from saas.auth.models import User
from saas.companies import Company
from saas.config import build
from saas.extensions import db
from saas.mail import OutboxMessage
from saas.portal import visibility
from saas.portal.models import Invoice
from saas.tenancy import all_tenants, as_tenant
from saas.tenancy.models import Tenant
from tests.conftest import ROOT
from tests.test_cli import run


def invoices_by_tenant() -> dict[str, int]:
    with all_tenants():
        rows = db.session.execute(
            select(Tenant.slug, func.count(Invoice.id))
            .join(Invoice, Invoice.tenant_id == Tenant.id)
            .group_by(Tenant.slug)
        ).all()
    return dict(rows)


def test_demo_publishes_each_tenants_invoices_once(app, tenants, ctx, frozen_clock):
    first = run(app, "demo")
    assert first.exit_code == 0, first.output
    assert invoices_by_tenant() == {"adriatica": 11, "azteca": 11, "intertec": 11}
    with all_tenants():
        for slug in ("intertec", "adriatica", "azteca"):
            recipient = db.session.scalars(
                select(User).where(User.email == f"cliente@{slug}.example")
            ).one()
            with as_tenant(db.session.get(Tenant, recipient.tenant_id)):
                mine = db.session.scalars(visibility.visible_invoices(recipient)).all()
                assert len(mine) == 8, slug  # the portal shows the recipient's invoices
                # Spread over the last months, the newest a few days ago: the dashboard's
                # months have something in them.
                days = sorted((clock.now().date() - i.issue_date).days for i in mine)
                assert days[0] == 3 and days[-1] == 3 + 14 * 7
        # Nobody of the second customer was written to (it has no recipient yet).
        addressed = set(db.session.scalars(select(OutboxMessage.to_addr)))
        assert addressed <= {f"cliente@{s}.example" for s in ("adriatica", "azteca", "intertec")}
        sent = db.session.scalar(select(func.count(OutboxMessage.id)))
    # Again, another day (FatturaPA's national id holds the date): nothing twice.
    clock.travel(timedelta(days=1))
    second = run(app, "demo")
    assert second.exit_code == 0 and second.stdout == first.stdout
    assert invoices_by_tenant() == {"adriatica": 11, "azteca": 11, "intertec": 11}
    with all_tenants():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == sent


def test_the_demo_owner_sees_what_his_biller_sees(app, tenants, ctx):
    from saas.portal.publishing import publish
    from tests.factories import make_user
    from tests.invoices import ubl_invoice

    assert run(app, "demo").exit_code == 0
    tenant = tenants["intertec"].load()
    # An invoice of another of the tenant's issuer companies.
    publish(tenant, ubl_invoice("SN-1", issuer="sucursal", email=None))
    owner = db.session.scalars(select(User).where(User.email == "admin@intertec.example")).one()
    biller = make_user(tenant, role="biller")
    assert owner.is_owner and owner.companies == []
    count = lambda user: len(db.session.scalars(visibility.staff_invoices(user)).all())  # noqa: E731
    assert count(owner) == count(biller) == 12
    # A demo database from before (the owner tied to one issuer) is put right by a re-run.
    intertec = db.session.scalars(select(Company).where(Company.tax_id == "900123456-8")).one()
    owner.companies = [intertec]
    db.session.commit()
    assert count(owner) == 11
    assert run(app, "demo").exit_code == 0
    with all_tenants():
        owner = db.session.scalars(select(User).where(User.email == "admin@intertec.example")).one()
        assert owner.companies == []


def test_commands_in_another_shell_use_the_served_base_url(tmp_path):
    """`make run PORT=8123` writes the URL it serves; a command without BASE_URL reads it."""
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    [write] = [line for line in dry if "instance/base_url" in line]
    serve = next(i for i, line in enumerate(dry) if line.endswith("--port 8123"))
    assert dry.index(write) < serve  # written before the server starts
    # The recipe's own line, run where the instance folder is a temporary one, with the
    # BASE_URL `make run` exports for that port.
    subprocess.run(
        ["sh", "-c", write],
        cwd=tmp_path,
        env={"BASE_URL": "http://127.0.0.1:8123", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    instance = tmp_path / "instance"
    assert build({}, str(instance))["BASE_URL"] == "http://127.0.0.1:8123"
    # A BASE_URL of the command's own wins; without the file, the default.
    assert (
        build({"BASE_URL": "https://x.example"}, str(instance))["BASE_URL"] == "https://x.example"
    )
    (instance / "base_url").unlink()
    assert build({}, str(instance))["BASE_URL"] == "http://127.0.0.1:5000"
    (instance / "base_url").write_text("not a url\n")
    with pytest.raises(ConfigError, match="BASE_URL"):
        build({}, str(instance))
    assert shlex.split(write)  # a plain shell line


def test_the_outbox_email_opens_links_in_a_new_tab(app, ctx):
    from lxml import html as lxml_html

    message = OutboxMessage(
        template="magic_link",
        to_addr="ana@example.com",
        from_addr="no-reply@localhost",
        subject="Hello",
        text_body="Hello",
        html_body='<!doctype html><html><HEAD lang="en"><title>x</title></HEAD><body>'
        '<a href="http://portal.test/t/intertec/login">Sign in</a></body></html>',
        message_id="<hello@localhost>",
        locale="en",
        status="sent",
    )
    with all_tenants():
        db.session.add(message)
        db.session.commit()
        message_id = message.id
    client = app.test_client()
    answer = client.get(f"/dev/outbox/{message_id}/html")
    assert answer.status_code == 200
    page = lxml_html.document_fromstring(answer.text)
    [base] = page.xpath("/html/head/base")
    assert base.get("target") == "_blank" and page.xpath("/html/head/*[1]")[0] is base
    policy = answer.headers["Content-Security-Policy"]
    assert policy.startswith(
        "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox;"
    )
    assert "allow-scripts" not in policy and "script-src" not in policy
    shown = lxml_html.document_fromstring(client.get(f"/dev/outbox/{message_id}?lang=en").text)
    [frame] = shown.xpath("//iframe[@class='email-preview']")
    assert set(frame.get("sandbox").split()) == {
        "allow-same-origin",
        "allow-popups",
        "allow-popups-to-escape-sandbox",
    }
    [whole] = shown.xpath("//a[.='Open the email on its own page']")
    assert whole.get("href") == frame.get("src") and whole.get("target") == "_blank"

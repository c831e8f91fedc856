"""The SMTP server goes away during a burst of published invoices and comes back after
longer than the first retry steps: every email arrives, exactly once, none failed."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from flask import g
from sqlalchemy import select

from saas.extensions import db
from saas.mail import SENT, OutboxMessage
from saas.portal.publishing import publish
from saas.tenancy import all_tenants
from tests.conftest import wait_until
from tests.invoices import ubl_invoice

INVOICES = 100


@pytest.mark.committed  # the retries run on timer threads, on their own connections
def test_an_smtp_outage_during_a_burst_loses_nothing_and_doubles_nothing(make_app, smtp):
    steps = (0.2, 0.2, 0.2)
    app = make_app(
        MAIL_URL=smtp.url, MAIL_RETRY_DELAYS=steps, MAIL_RETRY_MAX_DELAY=0.4, MAIL_GIVE_UP_AFTER=120
    )
    with app.app_context():
        from saas.tenancy import load_tenant
        from saas.tenancy.services import sync_tenants

        sync_tenants()
        db.session.commit()
        g.tenant = load_tenant("intertec")
        smtp.stop()
        for n in range(INVOICES):
            # Ten recipients: the first invoice to each sends its access, later ones
            # their new-invoice notices.
            xml = ubl_invoice(f"FE-{n}", email=f"buyer{n % 10}@andina.example")
            publish(g.tenant, xml, None)
            db.session.commit()
        with all_tenants():
            written = db.session.scalars(select(OutboxMessage)).all()
            assert written and all(m.status != SENT for m in written)
            assert any(m.attempts >= 1 for m in written)
        time.sleep(sum(steps) + 0.5)  # longer than the first three steps
        smtp.start()

        def all_sent():
            db.session.expire_all()
            with all_tenants():
                rows = db.session.scalars(select(OutboxMessage)).all()
            return rows if all(r.status == SENT for r in rows) else None

        rows = wait_until(all_sent, timeout=60, message="every email sent after the outage")
    assert max(r.attempts for r in rows) >= 3  # the outage outlasted the first steps
    ids = Counter(m["Message-ID"] for m in smtp.messages)
    assert sorted(ids) == sorted(r.message_id for r in rows)
    assert set(ids.values()) == {1}  # exactly once each

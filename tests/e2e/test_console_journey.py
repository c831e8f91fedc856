"""A biller in real Chromium: gets an API key, checks it, bulk-uploads a zip of 20 invoices."""

import re
import zipfile
from datetime import date

import pytest

from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.invoices import fake_pdf, ubl_invoice

pytestmark = pytest.mark.browser


def test_console_journey(make_app, tenants, page, tmp_path):
    app = make_app()
    with app.app_context():
        make_user(
            tenants["intertec"].load(), email="bill@intertec.co", username="bill", role="biller"
        )
    archive = tmp_path / "invoices.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for n in range(20):
            day = date(2026, 2, 1 + n)
            bundle.writestr(f"fe-{n:02d}.xml", ubl_invoice(f"FE-{n:02d}", issue_date=day))
            if n % 2 == 0:
                bundle.writestr(f"fe-{n:02d}.pdf", fake_pdf(f"fe-{n}"))
    with LiveServer(app) as server:
        page.goto(f"{server.url}/t/intertec/login?lang=en")
        page.get_by_label("Email or username").fill("bill")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Dashboard").wait_for()

        page.get_by_role("link", name="API", exact=True).click()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Get API key").click()
        key = page.locator("#new-key").inner_text()
        assert key.startswith("inv_")
        assert "shown only once" in page.get_by_role("alert").first.inner_text()
        assert page.get_by_label("API key").input_value() == key
        page.get_by_role("button", name="Check credentials").click()
        result = page.locator("#check-result")
        result.get_by_text("The credentials work").wait_for()
        assert "bill@intertec.co" in result.inner_text()
        assert page.url.endswith("/console/api/keys?lang=en") or "/console/api" in page.url

        page.get_by_role("link", name="Upload", exact=True).click()
        page.get_by_label("Files").set_input_files(str(archive))
        page.get_by_role("button", name="Upload", exact=True).click()
        page.get_by_text("Done: 20 imported, 0 already present, 0 with errors.").wait_for()
        rows = page.locator("table.upload-results tbody tr")
        assert rows.count() == 20
        assert "FE-00 · PDF" in rows.first.inner_text()

        page.get_by_role("link", name="Invoices", exact=True).click()
        page.get_by_label("Number, customer or tax ID").fill("FE-07")
        page.wait_for_url(re.compile(r"/console/invoices\?q=FE-07"))  # htmx keeps it in the URL
        assert page.locator("#console-invoices tbody tr").count() == 1

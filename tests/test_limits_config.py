"""The per-file upload limit and the access links' lifetime come from saas.config
(UPLOAD_FILE_MAX_BYTES, ACCESS_LINK_DAYS), and so do the texts that state them."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from saas import ConfigError, clock, create_app
from saas.auth.tokens import OneTimeToken
from saas.config import build, from_environment
from saas.extensions import db
from saas.tenancy import all_tenants
from tests.api.test_api import biller_key, upload  # noqa: F401  (a fixture, on this app)
from tests.auth.conftest import csrf_from
from tests.console.test_console import staff_client
from tests.html import doc, problems, text
from tests.invoices import ubl_invoice
from tests.portal.conftest import activation_link, mails, path_of, publish_for

MiB = 1024 * 1024


def test_the_defaults_are_10_mib_and_7_days(tmp_path):
    cfg = build({}, str(tmp_path))
    assert cfg["UPLOAD_FILE_MAX_BYTES"] == 10 * MiB and cfg["ACCESS_LINK_DAYS"] == 7


def test_the_environment_sets_them(tmp_path):
    raw = from_environment({"UPLOAD_FILE_MAX_BYTES": "2097152", "ACCESS_LINK_DAYS": "3"})
    cfg = build(raw, str(tmp_path))
    assert cfg["UPLOAD_FILE_MAX_BYTES"] == 2 * MiB and cfg["ACCESS_LINK_DAYS"] == 3


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("UPLOAD_FILE_MAX_BYTES", "10 MB", "is not a whole number"),
        ("UPLOAD_FILE_MAX_BYTES", "100", "must be between 1024 and 10485760"),
        ("UPLOAD_FILE_MAX_BYTES", str(20 * MiB), "must be between 1024 and 10485760"),
        ("ACCESS_LINK_DAYS", "a week", "is not a whole number"),
        ("ACCESS_LINK_DAYS", "0", "must be between 1 and 365"),
        ("ACCESS_LINK_DAYS", "400", "must be between 1 and 365"),
    ],
)
def test_wrong_values_raise_one_clear_error(tmp_path, key, value, words):
    with pytest.raises(ConfigError) as error:
        create_app({key: value, "INSTANCE_PATH": str(tmp_path)})
    assert key in str(error.value) and words in str(error.value)


@pytest.fixture
def app(make_app):
    return make_app(UPLOAD_FILE_MAX_BYTES=MiB, ACCESS_LINK_DAYS=3)


def test_the_console_upload_refuses_and_states_the_configured_size(app, tenants):
    client = staff_client(app, tenants, "biller")
    page = client.get("/t/intertec/console/upload?lang=en")
    big = ubl_invoice("FE-1") + b" " * MiB
    response = client.post(
        "/t/intertec/console/upload?lang=en",
        data={"csrf_token": csrf_from(page.text), "xml": (io.BytesIO(big), "a.xml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Files may be at most 1 MB." in problems(response)


def test_the_api_refuses_and_states_the_configured_size(app, biller_key):  # noqa: F811
    too_big = upload(app.test_client(), biller_key, ubl_invoice("FE-2") + b" " * MiB)
    assert too_big.status_code == 413
    assert too_big.get_json() == {
        "error": "too_large",
        "message": "The XML and the PDF may be at most 1 MB each.",
    }


def test_access_links_last_the_configured_days_and_say_so(app, tenants, frozen_clock):
    publish_for(app, "intertec", ubl_invoice("FE-1"))
    sent = {m["template"]: m["text"] for m in mails(app)}
    assert "(funciona una sola vez, durante 3 días)" in " ".join(sent["access_activation"].split())
    with app.app_context(), all_tenants():
        token = db.session.scalars(select(OneTimeToken)).one()
        assert token.expires_at - token.created_at == timedelta(days=3)
    path = path_of(activation_link(sent["access_activation"]))
    clock.travel(timedelta(days=3, seconds=1))
    expired = app.test_client().get(path + "?lang=en")
    assert expired.status_code == 410
    says = "(//article/p)[1]"
    assert text(doc(expired), says).startswith("Access links work only once and for 3 days.")
    spanish = doc(app.test_client().get(path + "?lang=es"))
    assert "una sola vez y durante 3 días." in text(spanish, says)

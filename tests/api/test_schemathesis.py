"""Schemathesis against the running app: every operation of openapi.json, over real HTTP,
with generated (also invalid) input; every answer must match the document."""

from __future__ import annotations

import base64
import io

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from tests.api.test_api import key_for, staff
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.invoices import fake_pdf, ubl_invoice

pytestmark = pytest.mark.committed  # the live server's threads serve the requests


@pytest.fixture
def live_api(make_app, tenants):
    """The app on a loopback port, one published invoice, a biller's key and password.

    Schemathesis sends wrong keys on purpose, more than the 20 after which an address is
    throttled (tested in test_api.py): here the limit is out of its way.
    """
    app = make_app(API_KEY_FAILURES=10_000)
    user_id, email = staff(app, tenants, role="biller")
    key = key_for(app, user_id)
    with LiveServer(app) as server:
        published = requests.post(
            f"{server.url}/t/intertec/api/v1/invoices",
            headers={"Authorization": f"Bearer {key}"},
            files={
                "xml": ("fe.xml", io.BytesIO(ubl_invoice("FE-1")), "application/xml"),
                "pdf": ("fe.pdf", io.BytesIO(fake_pdf("fe")), "application/pdf"),
            },
            timeout=10,
        )
        assert published.status_code == 201
        yield server, key, email


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_as_its_document_says(live_api, mode):
    """Every operation, with valid and with invalid input, through schemathesis' checks.

    (schemathesis' own pytest loader does not work with pytest 9 yet, so the operations
    are walked here; each runs as its own Hypothesis test.)
    """
    server, key, email = live_api
    base = f"{server.url}/t/intertec/api/v1"
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    basic = base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {f"{o.method.upper()} {o.path}" for o in operations}
    assert {
        "POST /api-keys",
        "POST /invoices",
        "POST /invoices/batch",
        "GET /invoices/{invoice_id}/xml",
    } <= labels, labels
    for operation in operations:
        excluded = []
        if operation.path == "/api-keys":
            headers = {"Authorization": f"Basic {basic}"}
            # Wrong passwords lock the account after 5 tries (429, documented): the check
            # that expects 401 for every wrong password cannot hold by design.
            excluded = [ignored_auth]
        elif operation.path == "/invoices" and operation.method == "post":
            headers = {"Authorization": f"Bearer {key}"}
            # The document can say "a file", not "a valid e-invoice": generated files are
            # answered 422 (documented) and cannot be expected to publish.
            excluded = [positive_data_acceptance]
        elif operation.path == "/invoices/batch":
            headers = {"Authorization": f"Bearer {key}"}
            # Nor "a part with a file name": generated parts often have none, so they are
            # no files and the batch is answered 400 missing_file (documented).
            excluded = [positive_data_acceptance]
        else:
            headers = {"Authorization": f"Bearer {key}"}

        try:
            check_operation(operation, mode, base, headers, excluded)
        except Exception as error:
            label = f"{operation.method.upper()} {operation.path}"
            raise AssertionError(f"{label}: {error}") from error


def check_operation(operation, mode, base, headers, excluded):
    """One operation as its own Hypothesis test: generated requests, every answer checked."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case):
        case.call_and_validate(base_url=base, headers=headers, excluded_checks=excluded)

    answers_as_documented()

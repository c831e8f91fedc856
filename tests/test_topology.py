"""The production topology: gunicorn serving the app and an rq worker, as separate OS
processes on the same database, Redis, storage and SMTP. An invoice uploaded to the web
process over HTTP reaches its recipient's mailbox through the worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.api.test_api import key_for, staff
from tests.conftest import ROOT, free_port, wait_until
from tests.invoices import ubl_invoice


@pytest.mark.redis
@pytest.mark.committed  # two other processes read what the test writes
def test_an_upload_to_gunicorn_is_mailed_by_the_worker(
    app, tenants, worker_env, rq_worker, smtp, tmp_path
):
    key = key_for(app, staff(app, tenants)[0])
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w+")  # noqa: SIM115
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    web = subprocess.Popen(
        [gunicorn, "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up():
            try:
                return requests.get(f"{base}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, timeout=30, message="gunicorn ready")
        answer = requests.post(
            f"{base}/t/intertec/api/v1/invoices",
            headers={"Authorization": f"Bearer {key}"},
            files={"xml": ("invoice.xml", ubl_invoice("FE-77"))},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        # Intertec onboards in two emails: the activation link, then the password.
        mails = wait_until(
            lambda: len(smtp.messages) >= 2 and smtp.messages, timeout=30, message="the emails"
        )
        assert [m["To"] for m in mails] == ["compras@andina.example"] * 2
        assert {m["Subject"] for m in mails} == {
            "Active su acceso al portal de facturas de Intertec",
            "Su contraseña para el portal de facturas de Intertec",
        }
        assert web.poll() is None and rq_worker.poll() is None
    finally:
        web.terminate()
        web.wait(10)
        log.seek(0)
        print("--- gunicorn log ---\n" + log.read()[-3000:])
        log.close()

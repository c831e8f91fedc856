"""`POST invoices/batch`: many files in one request, one transaction, one result per file."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from saas.companies import Company
from saas.extensions import db
from saas.portal.models import Invoice, InvoiceNotice
from saas.storage import StorageError
from saas.tenancy import all_tenants
from tests.api.test_api import API, bearer, key_for, staff, upload
from tests.factories import make_user
from tests.invoices import fake_pdf, ubl_invoice

BATCH = f"{API}/invoices/batch"


def post_batch(client, key, files, api=API):
    """`files`: [(name, bytes)], all in the multipart field `files`."""
    data = {"files": [(io.BytesIO(body), name) for name, body in files]}
    return client.post(f"{api}/invoices/batch", headers=bearer(key), data=data)


def zipped(files) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files:
            archive.writestr(name, body)
    return buffer.getvalue()


def invoice_count(app) -> int:
    with app.app_context(), all_tenants():
        return db.session.scalar(select(func.count(Invoice.id)))


def stored_files(app) -> list[Path]:
    root = Path(app.config["STORAGE"]["root"])
    return sorted(p for p in root.rglob("*") if p.is_file() and "invoices" in p.parts)


@pytest.fixture
def biller_key(app, tenants):
    user_id, _email = staff(app, tenants)
    return key_for(app, user_id)


def test_pairs_by_name_and_answers_each_file(app, tenants, biller_key):
    client = app.test_client()
    before = upload(client, biller_key, ubl_invoice("FE-10"))
    assert before.status_code == 201
    response = post_batch(
        client,
        biller_key,
        [
            ("FE-11.xml", ubl_invoice("FE-11")),
            ("FE-12.XML", ubl_invoice("FE-12", customer="cafetera")),
            ("fe-11.pdf", fake_pdf("11")),  # paired by name, in any case
            ("FE-10.xml", ubl_invoice("FE-10")),  # published before
            ("broken.xml", b"<not-an-invoice/>"),
            ("notes.txt", b"hello"),
            ("orphan.pdf", fake_pdf("orphan")),
            ("FE-11-again.xml", ubl_invoice("FE-11")),  # twice in one batch
        ],
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    by_file = {f["file"]: f for f in body["files"]}
    assert [f["file"] for f in body["files"]][:6] == [
        "FE-11.xml",
        "FE-12.XML",
        "FE-10.xml",
        "broken.xml",
        "notes.txt",
        "FE-11-again.xml",
    ]
    assert (body["created"], body["present"], body["refused"]) == (2, 2, 3)
    first = by_file["FE-11.xml"]
    assert first["status"] == "created" and first["pdf"] == "fe-11.pdf"
    assert [i["number"] for i in first["invoices"]] == ["FE-11"] and first["invoices"][0]["has_pdf"]
    assert by_file["FE-12.XML"]["status"] == "created" and by_file["FE-12.XML"]["pdf"] is None
    assert by_file["FE-10.xml"]["status"] == "present"
    assert by_file["FE-10.xml"]["invoices"][0]["id"] == before.get_json()["id"]
    again = by_file["FE-11-again.xml"]
    assert again["status"] == "present" and again["invoices"][0]["id"] == first["invoices"][0]["id"]
    refused = {name: by_file[name]["error"] for name in ("broken.xml", "notes.txt", "orphan.pdf")}
    assert refused["notes.txt"] == "unknown_type"
    assert refused["orphan.pdf"] == "pdf_without_invoice"
    assert refused["broken.xml"] not in (None, "created")
    assert all(
        by_file[name]["status"] == "refused" and by_file[name]["message"] for name in refused
    )
    assert by_file["broken.xml"]["invoices"] == []
    assert invoice_count(app) == 3
    # The address both XMLs name was welcomed by FE-10: its two new invoices join one
    # digest (opened once for the batch).
    with app.app_context(), all_tenants():
        digests = list(db.session.scalars(select(InvoiceNotice.digest_id)))
    assert len(digests) == 2 and len(set(digests)) == 1


def test_one_zip(app, tenants, biller_key):
    client = app.test_client()
    archive = zipped(
        [
            ("lote/FE-20.xml", ubl_invoice("FE-20")),
            ("lote/FE-20.pdf", fake_pdf("20")),
            ("lote/FE-21.xml", ubl_invoice("FE-21")),
            ("__MACOSX/lote/._FE-21.xml", b"junk"),
            ("lote/inner.zip", zipped([("x.xml", b"x")])),
        ]
    )
    response = post_batch(client, biller_key, [("lote.zip", archive)])
    assert response.status_code == 200
    files = response.get_json()["files"]
    assert [(f["file"], f["status"], f["pdf"]) for f in files] == [
        ("FE-20.xml", "created", "FE-20.pdf"),
        ("FE-21.xml", "created", None),
        ("inner.zip", "refused", None),
    ]
    assert files[2]["error"] == "nested_zip"
    listing = client.get(f"{API}/invoices", headers=bearer(biller_key)).get_json()
    assert {i["number"] for i in listing["invoices"]} == {"FE-20", "FE-21"}


def test_limits_come_from_the_config(make_app, tenants):
    app = make_app(UPLOAD_BATCH_MAX_FILES=2, UPLOAD_FILE_MAX_BYTES=4096)
    user_id, _email = staff(app, tenants)
    key = key_for(app, user_id)
    client = app.test_client()
    files = [(f"FE-3{n}.xml", ubl_invoice(f"FE-3{n}")) for n in range(3)]
    too_many = post_batch(client, key, files)
    assert too_many.status_code == 413 and too_many.get_json()["error"] == "too_many_files"
    in_a_zip = post_batch(client, key, [("all.zip", zipped(files))])
    assert in_a_zip.status_code == 413 and in_a_zip.get_json()["error"] == "too_many_files"
    assert invoice_count(app) == 0
    big = post_batch(client, key, [files[0], ("big.xml", b"<x>" + b" " * 5000 + b"</x>")])
    results = big.get_json()["files"]
    assert [(f["status"], f["error"]) for f in results] == [
        ("created", None),
        ("refused", "too_big"),
    ]
    document = client.get(f"{API}/openapi.json").get_json()
    description = document["paths"]["/invoices/batch"]["post"]["description"]
    assert "at most 2 files" in description


def test_the_config_checks_its_values():
    from saas.config import ConfigError, build

    with pytest.raises(ConfigError, match="UPLOAD_BATCH_MAX_FILES"):
        build({"UPLOAD_BATCH_MAX_FILES": "0"}, "/tmp/saas-test-batch-config")
    with pytest.raises(ConfigError, match="UPLOAD_BATCH_MAX_BYTES"):
        build({"UPLOAD_BATCH_MAX_BYTES": "lots"}, "/tmp/saas-test-batch-config")
    built = build({"UPLOAD_BATCH_MAX_FILES": "20"}, "/tmp/saas-test-batch-config")
    assert built["UPLOAD_BATCH_MAX_FILES"] == 20 and built["UPLOAD_BATCH_MAX_BYTES"] > 0


def test_a_storage_failure_leaves_no_rows_and_no_files(app, tenants, biller_key, monkeypatch):
    client = app.test_client()
    storage = app.extensions["saas.storage"]
    real_put, calls = storage.put, []

    def failing_put(key, data, content_type):
        calls.append(key)
        if len(calls) == 3:
            raise StorageError("disk full")
        real_put(key, data, content_type)

    monkeypatch.setattr(storage, "put", failing_put)
    files = [(f"FE-4{n}.xml", ubl_invoice(f"FE-4{n}")) for n in range(4)]
    response = post_batch(client, biller_key, files)
    assert response.status_code == 503
    assert response.get_json()["error"] == "storage_unavailable"
    assert len(calls) == 3  # two files were stored, then removed again
    assert invoice_count(app) == 0
    with app.app_context(), all_tenants():
        assert db.session.scalar(select(func.count(Company.id)).filter_by(kind="customer")) == 0
    assert stored_files(app) == []
    monkeypatch.setattr(storage, "put", real_put)
    assert post_batch(client, biller_key, files).get_json()["created"] == 4


@pytest.mark.parametrize("role, status", [("biller", 200), ("admin", 200), ("accountant", 403)])
def test_who_may_send_a_batch(app, tenants, role, status):
    user_id, _email = staff(app, tenants, role=role, email=f"{role}-batch@intertec.test")
    key = key_for(app, user_id)
    response = post_batch(app.test_client(), key, [("FE-50.xml", ubl_invoice("FE-50"))])
    assert response.status_code == status, response.get_json()
    assert invoice_count(app) == (1 if status == 200 else 0)


def test_another_tenants_key(app, tenants, biller_key):
    client = app.test_client()
    elsewhere = post_batch(
        client, biller_key, [("FE-60.xml", ubl_invoice("FE-60"))], "/t/azteca/api/v1"
    )
    assert elsewhere.status_code == 401 and elsewhere.get_json()["error"] == "key_invalid"
    assert invoice_count(app) == 0


def test_staff_limited_to_a_company_publish_only_its_invoices(app, tenants, biller_key):
    client = app.test_client()
    assert upload(client, biller_key, ubl_invoice("FE-70")).status_code == 201  # the issuer row
    with app.app_context():
        from flask import g

        tenant = g.tenant = tenants["intertec"].load()
        company = db.session.scalars(select(Company).filter_by(tax_id="900123456-8")).one()
        limited = make_user(tenant, email="lim@intertec.test", username="lim", role="biller")
        limited.companies = [company]
        db.session.commit()
        limited_id = limited.id
    key = key_for(app, limited_id)
    response = post_batch(
        client,
        key,
        [
            ("own.xml", ubl_invoice("FE-71")),
            ("other.xml", ubl_invoice("FE-72", issuer="sucursal")),
            ("other.pdf", fake_pdf("72")),
        ],
    )
    files = {f["file"]: f for f in response.get_json()["files"]}
    assert files["own.xml"]["status"] == "created"
    assert files["other.xml"]["status"] == "refused"
    assert files["other.xml"]["error"] == "issuer_not_assigned"
    with app.app_context(), all_tenants():
        numbers = set(db.session.scalars(select(Invoice.number)))
    assert numbers == {"FE-70", "FE-71"}


def test_a_request_without_files(app, tenants, biller_key):
    response = app.test_client().post(BATCH, headers=bearer(biller_key), data={})
    assert response.status_code == 400 and response.get_json()["error"] == "missing_file"

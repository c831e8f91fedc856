"""Bulk upload against resource exhaustion: members streamed one at a time (memory flat in
their number), zip bombs refused per file or per upload, one size limit from config."""

from __future__ import annotations

import gc
import io
import random
import struct
import tracemalloc
import zipfile

from flask import g
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from saas.console import upload_files
from saas.console import uploads as console
from saas.console.models import UploadBatch
from saas.extensions import db
from saas.tenancy import all_tenants
from tests.auth.conftest import csrf_from
from tests.console.test_console import staff_client, zip_of
from tests.factories import make_user
from tests.html import alerts, doc, problems, text
from tests.invoices import fake_pdf, ubl_invoice

MiB = 1024 * 1024
MEMBER_BYTES = 9_900_000  # just under the reader's 10 MiB (and libxml2's text limit)


def compressible_member(seed: int) -> bytes:
    """About 10 MB of XML that deflates some 127 to 1: highly compressible, yet within
    the ratio limit. The reader refuses it quickly (an unknown root element)."""
    block = random.Random(seed).randbytes(8192).hex().encode()
    body = (block * (MEMBER_BYTES // len(block) + 1))[: MEMBER_BYTES - 7]
    return b"<r>" + body + b"</r>"


def write_zip(path, count: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(count):
            archive.writestr(f"big-{n:03d}.xml", compressible_member(n % 4))


def upload_peak(app, tenant_ref, path) -> tuple[int, UploadBatch]:
    """Peak Python memory of storing and running (in process) one bulk upload of `path`."""
    with app.test_request_context("/"):
        g.tenant = tenant = tenant_ref.load()
        user = make_user(tenant, role="biller")
        with path.open("rb") as stream:
            upload = FileStorage(stream, path.name, content_type="application/zip")
            gc.collect()
            tracemalloc.start()
            try:
                batch_id = console.start_upload(user, [upload]).id
                db.session.commit()  # the job runs at commit
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        db.session.expire_all()
        batch = db.session.get(UploadBatch, batch_id)
        return peak, batch


def test_peak_memory_does_not_grow_with_the_number_of_members(app, tenants, tmp_path):
    peaks = {}
    for count in (20, 80):
        path = tmp_path / f"members-{count}.zip"
        write_zip(path, count)
        peak, batch = upload_peak(app, tenants["intertec"], path)
        assert batch.status == "done" and batch.done == count
        assert [r["status"] for r in batch.results] == ["error"] * count
        assert batch.results[-1]["problem"]["code"] == "unknown_root"
        assert batch.results[-1]["problem"]["params"] == {"root": "r"}
        peaks[count] = peak
        path.unlink()
    print(f"peak Python memory: 20 members {peaks[20] / MiB:.0f} MiB, 80: {peaks[80] / MiB:.0f}")
    # Kept in memory until the end, 80 members would be 60 more of ~10 MB than 20; streamed,
    # the peak is a few members' worth whatever the count. Generous slack, no timing.
    assert peaks[80] < peaks[20] + 4 * MEMBER_BYTES
    assert peaks[80] < 12 * MEMBER_BYTES


def post_files(client, files, lang="en"):
    page = client.get(f"/t/intertec/console/uploads?lang={lang}")
    return client.post(
        f"/t/intertec/console/uploads?lang={lang}",
        data={"csrf_token": csrf_from(page.text), "files": files},
        content_type="multipart/form-data",
    )


def result_details(status) -> dict[str, str]:
    """File -> the Details cell of its row, on an upload's status page."""
    rows = doc(status).xpath(
        "//table[contains(concat(' ', normalize-space(@class), ' '), ' upload-results ')]/tbody/tr"
    )
    return {text(row, "td[1]"): text(row, "td[3]") for row in rows}


def results(app) -> dict:
    with app.app_context(), all_tenants():
        batch = db.session.scalars(select(UploadBatch)).one()
        assert batch.status == "done"
        return {r["file"]: r for r in batch.results}


def test_nested_zips_bombs_and_odd_compression_are_refused_per_file(app, tenants):
    bomb = b"\0" * (MiB * 5)  # 5 MB of zeros deflate to about 5 kB: 1000 to 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("fe-1.xml", ubl_invoice("FE-1"))
        archive.writestr("fe-1.pdf", fake_pdf("fe-1"))
        archive.writestr("inner.zip", zip_of({"fe-2.xml": ubl_invoice("FE-2")}))
        archive.writestr("bomb.xml", bomb)
        archive.writestr("bzip.xml", ubl_invoice("FE-3"), compress_type=zipfile.ZIP_BZIP2)
    client = staff_client(app, tenants, "biller")
    response = post_files(client, [(io.BytesIO(buffer.getvalue()), "batch.zip")])
    assert response.status_code == 303
    by_file = results(app)
    assert by_file["fe-1.xml"]["status"] == "imported" and by_file["fe-1.xml"]["has_pdf"]
    assert by_file["inner.zip"]["code"] == "nested_zip"
    assert by_file["bomb.xml"]["code"] == "ratio"
    assert by_file["bzip.xml"]["code"] == "compression"
    status = client.get(response.headers["Location"] + "?lang=en")
    assert "Done: 1 imported, 0 already present, 3 with errors." in alerts(doc(status))
    details = result_details(status)
    assert details["inner.zip"].startswith("A zip inside the zip: it was not opened.")
    assert details["bomb.xml"].startswith("It expands to more than 200 times its compressed size")
    assert details["bzip.xml"].startswith("Compressed with a method other than Deflate")


def test_a_member_whose_header_lies_about_its_size_is_not_expanded(app, tenants):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("liar.xml", b"\0" * (MiB * 9))
    data = bytearray(buffer.getvalue())
    # Declare 1,000 bytes in the local header (offset 22) and the central directory (24).
    data[22:26] = struct.pack("<I", 1000)
    directory = data.rindex(b"PK\x01\x02")
    data[directory + 24 : directory + 28] = struct.pack("<I", 1000)
    client = staff_client(app, tenants, "biller")
    assert post_files(client, [(io.BytesIO(bytes(data)), "liar.zip")]).status_code == 303
    assert results(app)["liar.xml"]["code"] in ("bad_zip", "ratio")


def test_what_zips_declare_in_all_is_checked_before_storing(make_app, tenants):
    app = make_app(UPLOAD_MAX_EXPANDED_BYTES=3 * MiB)
    client = staff_client(app, tenants, "biller")
    files = {f"f{n}.xml": random.Random(n).randbytes(MiB) for n in range(4)}
    response = post_files(client, [(io.BytesIO(zip_of(files)), "four.zip")])
    assert response.status_code == 422
    assert "four.zip expands to more than 3 MB: split it into smaller zips." in problems(response)
    with app.app_context(), all_tenants():
        assert db.session.scalars(select(UploadBatch)).all() == []


def test_the_total_expanded_is_enforced_while_reading_too(make_app, tenants, monkeypatch):
    # As if the zip's directory lied: only the bytes actually expanded are counted.
    monkeypatch.setattr(console, "declared_size", lambda stream: 0)
    app = make_app(UPLOAD_MAX_EXPANDED_BYTES=3 * MiB)
    client = staff_client(app, tenants, "biller")
    files = {f"f{n}.xml": random.Random(n).randbytes(MiB) for n in range(4)}
    response = post_files(client, [(io.BytesIO(zip_of(files)), "four.zip")])
    assert response.status_code == 303
    by_file = results(app)
    assert [by_file[f"f{n}.xml"].get("code") for n in range(4)] == [
        None,
        None,
        None,
        "expanded_too_big",
    ]
    status = client.get(response.headers["Location"] + "?lang=en")
    assert result_details(status)["f3.xml"].startswith(
        "The zip files expand to more than 3 MB in all"
    )


def test_a_zip_listing_too_many_entries_is_refused_before_it_is_read(app, tenants):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(upload_files.MAX_ZIP_ENTRIES + 1):
            archive.writestr(f"d{n}/", b"")
    client = staff_client(app, tenants, "biller")
    response = post_files(client, [(io.BytesIO(buffer.getvalue()), "many.zip")])
    assert response.status_code == 422 and "At most 1,000 files at once." in problems(response)


def test_the_page_shows_the_one_limit_and_a_413_says_it(make_app, tenants):
    default = staff_client(make_app(), tenants, "biller")
    hint = default.get("/t/intertec/console/uploads?lang=en").text
    assert "a zip up to 64 MB; at most 1,000 files." in hint
    app = make_app(MAX_CONTENT_LENGTH=int(1.5 * MiB))
    client = staff_client(app, tenants, "biller")
    assert "un zip de hasta 1,5 MB" in client.get("/t/intertec/console/uploads?lang=es").text
    big = random.Random(1).randbytes(2 * MiB)
    response = post_files(client, [(io.BytesIO(big), "big.zip")])
    assert response.status_code == 413
    assert (
        "The upload is larger than 1.5 MB, the most one upload may be."
        " Send fewer files at once or split the zip."
    ) in problems(response)
    assert doc(response).xpath("//form//input[@name='files']")  # the form again, to try once more
    one = client.get("/t/intertec/console/upload?lang=en")
    response = client.post(
        "/t/intertec/console/upload?lang=en",
        data={"csrf_token": csrf_from(one.text), "xml": (io.BytesIO(big), "big.xml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413 and "Files may be at most 10 MB." in problems(response)
    # Signed out, the console page is not shown: the plain error page is.
    stranger = app.test_client()
    response = stranger.post(
        "/t/intertec/console/uploads?lang=en",
        data={"files": [(io.BytesIO(b"\0" * 2 * MiB), "big.zip")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413 and 'name="files"' not in response.text

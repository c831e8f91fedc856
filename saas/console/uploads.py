"""Bulk uploads: files stored first (in pieces), then published by a job, one file at a
time, with a result per file (imported, already present, or the reason it failed).

Hostile zips are bounded before and while they are read: the directory's entry count,
the members' declared and real sizes, their compression ratio and method, and the total
an upload may expand to (saas/config.py); nested zips are not opened.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from typing import cast

from flask import g
from sqlalchemy import Table

from saas import audit, clock
from saas.auth.models import User
from saas.console.models import UploadBatch
from saas.console.upload_files import (
    MAX_FILES,
    Entry,
    Reader,
    UploadError,
    declared_size,
    file_name,
    kind_of,
    plan_entries,
    stem,
    store_bounded,
    upload_limits,
)
from saas.extensions import db
from saas.jobs import enqueue, job, job_row
from saas.portal import publishing
from saas.storage import get_storage, tenant_key
from saas.transactions import checkpoint, claim

PROGRESS_EVERY = 0.5  # seconds between progress updates


def start_upload(user: User, uploads) -> UploadBatch:
    """Store the uploaded files and queue the job that publishes them.

    `uploads` are Werkzeug FileStorage objects. Each XML, .p7m or PDF may be
    UPLOAD_FILE_MAX_BYTES, a zip as large as a request may be (MAX_CONTENT_LENGTH), and
    the zips together may declare at most UPLOAD_MAX_EXPANDED_BYTES once expanded;
    anything else stops the whole upload before any file is stored. Files are copied to
    storage in pieces, never held whole.
    """
    uploads = [u for u in uploads if u and u.filename]
    if not uploads:
        raise UploadError("no_files")
    if len(uploads) > MAX_FILES:
        raise UploadError("too_many")
    limits = upload_limits()
    batch = UploadBatch(tenant_id=user.tenant_id, user_id=user.id, status="queued")
    storage = get_storage()
    stored: list[dict] = []
    expanded = 0
    try:
        with db.session.begin_nested():  # a refused upload leaves no batch behind
            db.session.add(batch)
            db.session.flush()
            for upload in uploads:
                name = file_name(upload.filename)
                kind = kind_of(name)
                if kind is None:
                    raise UploadError("unknown_type:" + name)
                limit = limits["zip_bytes"] if kind == "zip" else limits["file_bytes"]
                if kind == "zip":
                    expanded += declared_size(upload.stream)
                    if expanded > limits["expanded_bytes"]:
                        raise UploadError("expands_too_much:" + name)
                key = tenant_key(user.tenant_id, "uploads", str(batch.id), uuid.uuid4().hex)
                mimetype = upload.mimetype or "application/octet-stream"
                size = store_bounded(storage, key, upload.stream, limit, mimetype, name)
                stored.append({"name": name, "key": key, "size": size, "kind": kind})
    except UploadError:
        for item in stored:
            storage.delete(item["key"])
        raise
    batch.files = stored
    audit.record("upload.started", user_id=user.id, batch=batch.id, files=len(stored))
    enqueue(process_upload, user.tenant_id, batch.id)
    return batch


@job(queue="default")
def process_upload(batch_id: int) -> None:
    """Publish every invoice of an upload, PDFs matched by file stem; a result per file.

    One file is in memory at a time (with its PDF): each is read, published and
    dropped before the next, so memory does not grow with the number of files.
    """
    tenant = g.tenant
    batch = job_row(UploadBatch, batch_id, "process_upload")
    if batch is None:
        return
    claimed = claim(
        UploadBatch,
        UploadBatch.id == batch_id,
        UploadBatch.status == "queued",
        status="running",
        heartbeat_at=clock.now(),
    )
    checkpoint()  # taken, in sight of other workers
    if not claimed:
        return
    batch = db.session.get_one(UploadBatch, batch_id)
    user = db.session.get(User, batch.user_id)
    folder = tempfile.TemporaryDirectory(prefix="saas-upload-")
    reader = Reader(get_storage(), folder.name, upload_limits())
    try:
        entries = plan_entries(batch.files, reader)
        pdfs = {stem(e.name): e for e in entries if e.problem is None and e.kind == "pdf"}
        invoices = [e for e in entries if e.kind != "pdf" or e.problem is not None]
        batch.total = len(invoices)
        checkpoint()
        results, last = [], time.monotonic()
        for done, entry in enumerate(invoices, 1):
            results.extend(_process_entry(tenant, user, entry, pdfs.get(stem(entry.name)), reader))
            if time.monotonic() - last > PROGRESS_EVERY:
                _save_progress(batch_id, done, results)
                last = time.monotonic()
            checkpoint()  # each file's invoices stand on their own, as with one upload
        invoice_stems = {stem(e.name) for e in invoices}
        for entry in entries:
            if (
                entry.problem is None
                and entry.kind == "pdf"
                and stem(entry.name) not in invoice_stems
            ):
                results.append({"file": entry.name, "status": "error", "code": "pdf_without_xml"})
        batch = db.session.get_one(UploadBatch, batch_id)
        batch.results, batch.done, batch.status = results, len(invoices), "done"
        batch.finished_at = clock.now()
        audit.record(
            "upload.finished",
            user_id=batch.user_id,
            batch=batch.id,
            imported=batch.count("imported"),
            present=batch.count("present"),
            errors=batch.count("error"),
        )
    except Exception as error:
        db.session.rollback()
        batch = db.session.get_one(UploadBatch, batch_id)
        batch.status, batch.error, batch.finished_at = "failed", str(error)[:1000], clock.now()
        checkpoint()  # the failure is recorded before the job itself fails
        raise
    finally:
        reader.close()
        folder.cleanup()
        storage = get_storage()
        for item in batch.files:
            storage.delete(item["key"])


def _process_entry(tenant, user, entry: Entry, pdf: Entry | None, reader: Reader) -> list:
    """The result rows of one invoice file: read it (and its PDF), publish, let go."""
    if entry.problem is not None:
        return [{"file": entry.name, "status": "error", "code": entry.problem}]
    data, problem = reader.read(entry)
    if data is None:  # then there is a problem
        return [{"file": entry.name, "status": "error", "code": problem}]
    rows = []
    pdf_data = None
    if pdf is not None:
        pdf_data, pdf_problem = reader.read(pdf)
        if pdf_problem is not None:
            rows.append({"file": pdf.name, "status": "error", "code": pdf_problem})
    rows.insert(0, _publish_file(tenant, user, entry.name, data, pdf_data))
    return rows


def _publish_file(tenant, user, name: str, data: bytes, pdf: bytes | None) -> dict:
    try:
        result = publishing.publish(tenant, data, pdf, source="console", user_id=user.id)
    except publishing.PublishError as problem:  # nothing of this file was written
        # The code and its values, worded when the page is read, in the reader's language.
        return {
            "file": name,
            "status": "error",
            "problem": {"code": problem.code, "format": problem.format, "params": problem.params},
        }
    numbers = [i.number for i in result.invoices]
    return {
        "file": name,
        "status": "imported" if result.any_created else "present",
        "numbers": numbers,
        "has_pdf": pdf is not None,
    }


def _save_progress(batch_id: int, done: int, results: list[dict]) -> None:
    # A mapped class's __table__ is its Table (typed as the FromClause it may also be).
    db.session.execute(
        cast(Table, UploadBatch.__table__)
        .update()
        .where(UploadBatch.id == batch_id)
        .values(done=done, results=list(results), heartbeat_at=clock.now())
    )


def own_upload(user: User, batch_id: int) -> UploadBatch | None:
    batch = db.session.get(UploadBatch, batch_id)
    if batch is None or batch.user_id != user.id:
        return None
    return batch

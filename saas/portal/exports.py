"""The pending-downloads zip: an export job per user, built by a job that streams
every file not downloaded yet (an invoice's XML, its PDF, or both) into one stored zip
and reports its progress."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from flask import g
from flask_babel import force_locale
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from saas import audit, clock
from saas.auth.models import User
from saas.extensions import db
from saas.jobs import enqueue, job, job_row
from saas.portal import reading
from saas.portal.models import FILE_KINDS, ExportJob, Invoice
from saas.portal.visibility import pending_files, visible_invoices
from saas.portal.zipwriter import StoredZipWriter
from saas.storage import get_storage, tenant_key
from saas.transactions import checkpoint, claim


def start_export(user: User, company_id=None) -> ExportJob | None:
    """The user's export being built, or a new one of every file pending; None if none."""
    active = db.session.scalars(
        select(ExportJob).where(ExportJob.active_for_user == user.id)
    ).first()
    if active is not None and active.created_at > clock.now() - EXPORT_ABANDONED_AFTER:
        return active
    if active is not None:
        # Its job was lost (a worker died, a queue was emptied): let the user start again.
        active.status, active.error = "failed", "abandoned: no progress for too long"
        active.active_for_user, active.finished_at = None, clock.now()
        audit.record("export.abandoned", user_id=user.id, export_id=active.id)
        db.session.flush()
    files = pending_files(user, company_id)
    if not files:
        return None
    ids = sorted({invoice_id for invoice_id, _ in files})
    export = ExportJob(
        tenant_id=user.tenant_id,
        user_id=user.id,
        company_id=company_id,
        active_for_user=user.id,
        invoice_ids=ids,
        files=[[invoice_id, kind] for invoice_id, kind in files],
        total=len(ids),
    )
    try:
        with db.session.begin_nested():
            db.session.add(export)
    except IntegrityError:  # the other click won: show its export
        return db.session.scalars(
            select(ExportJob).where(ExportJob.active_for_user == user.id)
        ).first()
    audit.record(
        "export.started", user_id=user.id, export_id=export.id, count=len(ids), files=len(files)
    )
    enqueue(build_export, user.tenant_id, export.id)
    return export


PROGRESS_EVERY = 0.5  # seconds between progress commits
# An export still queued or running after this long lost its job; a new one may start.
EXPORT_ABANDONED_AFTER = timedelta(minutes=30)
ZIP_COLUMNS = (
    Invoice.id,
    Invoice.number,
    Invoice.issue_date,
    Invoice.xml_key,
    Invoice.xml_size,
    Invoice.xml_crc32,
    Invoice.pdf_key,
    Invoice.pdf_size,
    Invoice.pdf_crc32,
)


@job(queue="exports")
def build_export(export_id: int) -> None:
    """Zip the export's files (each invoice's pending XML and PDF) into storage,
    reporting progress.

    Files are copied in chunks from storage into a zip that streams into storage, so
    memory does not grow with the number or size of the files. The job checks again
    that the user may still see each invoice.
    """
    tenant = g.tenant
    if job_row(ExportJob, export_id, "build_export") is None:
        return
    claimed = claim(
        ExportJob,
        ExportJob.id == export_id,
        ExportJob.status == "queued",
        status="running",
        heartbeat_at=clock.now(),
    )
    checkpoint()  # other workers see it taken
    if not claimed:
        return
    export = db.session.get_one(ExportJob, export_id)
    user = db.session.get(User, export.user_id)
    try:
        if user is None or not user.active:
            raise PermissionError("the user can no longer download these invoices")
        key = tenant_key(tenant.id, "exports", f"{export.id}-{uuid.uuid4().hex[:8]}.zip")
        kinds: dict[int, list[str]] = {}
        for invoice_id, kind in export.file_pairs():
            kinds.setdefault(invoice_id, []).append(kind)
        included: list[int] = []
        # Printable copies for the invoices that came without a PDF, in the user's
        # language, kept as their PDFs: the zip then copies them as any. About 20 ms
        # each: fifteen thousand would outlast the lease, so each one beats the heart.
        with force_locale(user.locale or tenant.default_locale):
            for invoice_id in [i for i, wanted in kinds.items() if "pdf" in wanted]:
                invoice = db.session.get(Invoice, invoice_id)
                if invoice is not None and invoice.pdf_key is None:
                    reading.ensure_pdf(invoice)
                    _heartbeat(export_id)  # commits the copy, and says the job lives

        def entries():
            # Only the columns the zip needs, 500 rows at a time: memory stays flat, and
            # no cursor stays open across the progress commits (SQLite would lock).
            ids = sorted(kinds)
            for start in range(0, len(ids), 500):
                rows = db.session.execute(
                    visible_invoices(user)
                    .where(Invoice.id.in_(ids[start : start + 500]))
                    .with_only_columns(*ZIP_COLUMNS)
                    .order_by(Invoice.id)
                ).all()
                for row in rows:
                    included.append(row.id)
                    yield row

        size = write_zip(key, entries(), lambda done: _progress(export_id, done), kinds)
        export = db.session.get_one(ExportJob, export_id)
        export.status, export.zip_key, export.zip_size = "done", key, size
        export.done = export.total = len(included)
        # What the zip holds, so that downloading it marks exactly these files.
        export.invoice_ids = included
        export.files = [[i, kind] for i in included for kind in kinds[i]]
    except Exception as error:
        db.session.rollback()
        export = db.session.get_one(ExportJob, export_id)
        export.status, export.error = "failed", f"{type(error).__name__}: {error}"[:2000]
    export.active_for_user = None
    export.finished_at = clock.now()


def _progress(export_id: int, done: int) -> None:
    # Committed at once, so the progress bar sees it while the zip is being built.
    db.session.execute(
        update(ExportJob)
        .where(ExportJob.id == export_id)
        .values(done=done, heartbeat_at=clock.now())
    )
    checkpoint()


def _heartbeat(export_id: int) -> None:
    # What the sweep looks at (maintenance.WORK_LEASE), committed with the work before it.
    db.session.execute(
        update(ExportJob).where(ExportJob.id == export_id).values(heartbeat_at=clock.now())
    )
    checkpoint()


def _unique_name(name: str, used: set[str]) -> str:
    """`name`, or `stem-2.ext`, `stem-3.ext`... when two invoices share a date and number
    (two issuers may number alike): every file of the zip is kept."""
    stem, dot, ext = name.rpartition(".")
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem}-{n}{dot}{ext}"
    used.add(candidate.lower())
    return candidate


def write_zip(key: str, invoices, on_progress=None, kinds=None) -> int:
    """Stream a zip of the invoices' files into storage at `key`; returns its size.

    `invoices` is any iterable of rows with id, number, issue_date and each file's key,
    size and CRC-32 (recorded at publishing), so the files are only copied, never
    compressed or read twice. `kinds` maps an invoice id to the files of it to zip
    ("xml", "pdf"); without it, all of them.
    """
    storage = get_storage()
    last = time.monotonic()
    used: set[str] = set()
    with storage.writer(key, "application/zip") as sink:
        archive = StoredZipWriter(sink)
        for done, invoice in enumerate(invoices, 1):
            wanted = FILE_KINDS if kinds is None else kinds.get(invoice.id, ())
            files = []
            if "xml" in wanted:
                files.append(("xml", invoice.xml_key, invoice.xml_size, invoice.xml_crc32))
            if invoice.pdf_key and "pdf" in wanted:
                files.append(("pdf", invoice.pdf_key, invoice.pdf_size, invoice.pdf_crc32))
            for ext, source_key, size, crc in files:
                name = _unique_name(Invoice.file_name(invoice, ext), used)
                with storage.open(source_key) as source:
                    archive.add(name, size, crc, invoice.issue_date, source)
            if on_progress and time.monotonic() - last > PROGRESS_EVERY:
                on_progress(done)
                last = time.monotonic()
        return archive.close()

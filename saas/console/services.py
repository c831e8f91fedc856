"""The staff console: dashboard figures, the invoices search, bulk uploads, settings.

Reads start from `portal.services.staff_invoices(user)`, the one scope of what a staff
user may see. Bulk uploads are stored first, then published by a job that records a
result per file (imported, already present, or the reason it failed).
"""

from __future__ import annotations

import hashlib
import io
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date

from flask import g
from sqlalchemy import case, func, or_, select

from saas import audit, clock
from saas.auth.models import User
from saas.console.models import UploadBatch
from saas.einvoice import MAX_BYTES
from saas.extensions import db
from saas.jobs import enqueue, job
from saas.portal import services as portal
from saas.portal.models import Company, Invoice
from saas.storage import get_storage, tenant_key

MAX_FILES = 1000  # per upload, counting the files inside a zip
MAX_ZIP_BYTES = 200 * 1024 * 1024
PROGRESS_EVERY = 0.5  # seconds between progress commits
INVOICE_SUFFIXES = (".xml", ".p7m")


class UploadError(ValueError):
    """The upload cannot be accepted as a whole; the message says why."""


# --- dashboard ---------------------------------------------------------------------


@dataclass
class Dashboard:
    months: list[tuple[date, int]]  # first day of month, invoices published that month
    downloaded: int
    pending: int
    issuers: list[tuple[str, int, int]]  # issuer name, invoices, still pending

    @property
    def total(self) -> int:
        return self.downloaded + self.pending


def _month_start(day: date, back: int) -> date:
    month = day.month - back
    year = day.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1)


def dashboard(user: User, months: int = 12) -> Dashboard:
    """Invoices published per month (last `months`), downloaded against pending, per issuer."""
    scope = portal.staff_invoices(user).subquery()
    today = clock.now().date()
    first = _month_start(today, months - 1)
    created = db.session.execute(
        select(scope.c.created_at).where(scope.c.created_at >= first)
    ).scalars()
    counts: dict[date, int] = {}
    for moment in created:
        key = date(moment.year, moment.month, 1)
        counts[key] = counts.get(key, 0) + 1
    series = [(m, counts.get(m, 0)) for m in (_month_start(today, b) for b in range(months))]
    series.reverse()
    pending_flag = case((scope.c.first_downloaded_at.is_(None), 1), else_=0)
    downloaded, pending = db.session.execute(
        select(func.count(scope.c.first_downloaded_at), func.coalesce(func.sum(pending_flag), 0))
    ).one()
    issuers = db.session.execute(
        select(Company.name, func.count(scope.c.id), func.coalesce(func.sum(pending_flag), 0))
        .join(Company, Company.id == scope.c.issuer_company_id)
        .group_by(Company.id, Company.name)
        .order_by(func.count(scope.c.id).desc(), Company.name)
        .limit(10)
    ).all()
    return Dashboard(
        months=series,
        downloaded=int(downloaded),
        pending=int(pending),
        issuers=[(name, int(n), int(p)) for name, n, p in issuers],
    )


# --- issuer companies ------------------------------------------------------------------


class CustomerTaxId(ValueError):
    """The tax id is one of the tenant's customers, not an issuer."""


def issuer_companies(tenant) -> list[Company]:
    return list(
        db.session.scalars(
            select(Company)
            .where(Company.tenant_id == tenant.id, Company.kind == "issuer")
            .order_by(Company.name)
        )
    )


def save_issuer_company(tenant, by: User, *, tax_id: str, name: str, email: str | None):
    """Add the issuer company with this (normalised) tax id, or update its name and
    registered email. Raises CustomerTaxId when the tax id is a customer's."""
    company = db.session.scalar(
        select(Company).where(Company.tenant_id == tenant.id, Company.tax_id == tax_id)
    )
    if company is not None and company.kind != "issuer":
        raise CustomerTaxId(tax_id)
    if company is None:
        company = Company(tenant_id=tenant.id, tax_id=tax_id, kind="issuer", name=name)
        db.session.add(company)
    company.name, company.email = name, email or None
    db.session.flush()
    audit.record("company.saved", user_id=by.id, company=company.id, tax_id=tax_id)
    db.session.commit()
    return company


# --- the invoices of every customer --------------------------------------------------

PAGE_SIZE = 50


def search_invoices(user: User, *, text="", start=None, end=None, cursor=None):
    """A page of the tenant's invoices, newest first by keyset; `text` matches the
    number, the customer's name or its tax id. Returns (invoices, next_cursor)."""
    query = portal.staff_invoices(user).where(*portal.issue_date_range(start, end))
    text = (text or "").strip()[:100]
    if text:
        pattern = f"%{text.lower()}%"
        customers = select(Company.id).where(
            Company.tenant_id == user.tenant_id,
            or_(func.lower(Company.name).like(pattern), func.lower(Company.tax_id).like(pattern)),
        )
        query = query.where(
            or_(
                func.lower(Invoice.number).like(pattern),
                Invoice.customer_company_id.in_(customers),
            )
        )
    return portal.newest_first(query, cursor, PAGE_SIZE)


# --- bulk upload ---------------------------------------------------------------------


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith(".pdf"):
        return "pdf"
    if lower.endswith(INVOICE_SUFFIXES):
        return "invoice"
    return None


def stem(name: str) -> str:
    """The name PDFs and invoices are matched by: no folder, no .xml/.p7m/.pdf, any case."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    for suffix in (".p7m", ".xml", ".pdf"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base


def start_upload(user: User, uploads) -> UploadBatch:
    """Store the uploaded files and queue the job that publishes them.

    `uploads` are Werkzeug FileStorage objects. Each XML, .p7m or PDF may be 10 MB, a
    zip 200 MB; anything else stops the whole upload before any file is stored.
    """
    uploads = [u for u in uploads if u and u.filename]
    if not uploads:
        raise UploadError("no_files")
    if len(uploads) > MAX_FILES:
        raise UploadError("too_many")
    batch = UploadBatch(tenant_id=user.tenant_id, user_id=user.id, status="queued")
    db.session.add(batch)
    db.session.flush()
    storage = get_storage()
    stored = []
    try:
        for upload in uploads:
            name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
            kind = _kind(name)
            if kind is None:
                raise UploadError("unknown_type:" + name)
            limit = MAX_ZIP_BYTES if kind == "zip" else MAX_BYTES
            data = upload.stream.read(limit + 1)
            if len(data) > limit:
                raise UploadError("too_big:" + name)
            key = tenant_key(user.tenant_id, "uploads", str(batch.id), f"{uuid.uuid4().hex}")
            storage.put(key, data, upload.mimetype or "application/octet-stream")
            stored.append({"name": name, "key": key, "size": len(data), "kind": kind})
    except UploadError:
        for item in stored:
            storage.delete(item["key"])
        db.session.rollback()
        raise
    batch.files = stored
    audit.record("upload.started", user_id=user.id, batch=batch.id, files=len(stored))
    enqueue(process_upload, user.tenant_id, batch.id)
    db.session.commit()
    return batch


def _expand(files: list[dict]) -> list[tuple[str, bytes | None, str | None]]:
    """(name, bytes, problem) for every file, zips opened; bounded against zip bombs."""
    storage = get_storage()
    out = []
    for item in files:
        with storage.open(item["key"]) as handle:
            data = handle.read()
        if item["kind"] != "zip":
            out.append((item["name"], data, None))
            continue
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [m for m in archive.infolist() if not m.is_dir()]
        except zipfile.BadZipFile:
            out.append((item["name"], None, "bad_zip"))
            continue
        for member in members:
            name = member.filename.replace("\\", "/").rsplit("/", 1)[-1]
            if name.startswith(".") or "__MACOSX" in member.filename or not name:
                continue
            if _kind(name) in (None, "zip"):
                out.append((name, None, "unknown_type"))
            elif member.file_size > MAX_BYTES:
                out.append((name, None, "too_big"))
            elif len(out) >= MAX_FILES:
                out.append((name, None, "too_many"))
                break
            else:
                with archive.open(member) as source:
                    content = source.read(MAX_BYTES + 1)  # the header may lie about the size
                if len(content) > MAX_BYTES:
                    out.append((name, None, "too_big"))
                else:
                    out.append((name, content, None))
    return out


@job(queue="default")
def process_upload(batch_id: int) -> None:
    """Publish every invoice of an upload, PDFs matched by file stem; a result per file."""
    tenant = g.tenant
    batch = db.session.get(UploadBatch, batch_id)
    if batch is None or batch.tenant_id != tenant.id or batch.status != "queued":
        return
    user = db.session.get(User, batch.user_id)
    batch.status = "running"
    db.session.commit()
    try:
        items = _expand(batch.files)
        pdfs = {stem(n): d for n, d, p in items if p is None and _kind(n) == "pdf"}
        invoices = [(n, d, p) for n, d, p in items if _kind(n) != "pdf" or p is not None]
        batch.total = len(invoices)
        db.session.commit()
        results, last = [], time.monotonic()
        for done, (name, data, problem) in enumerate(invoices, 1):
            if problem is None:
                results.append(_publish_file(tenant, user, name, data, pdfs.get(stem(name))))
            else:
                results.append({"file": name, "status": "error", "code": problem})
            if time.monotonic() - last > PROGRESS_EVERY:
                _save_progress(batch_id, done, results)
                last = time.monotonic()
        invoice_stems = {stem(name) for name, _, _ in invoices}
        for name, _, problem in items:
            if problem is None and _kind(name) == "pdf" and stem(name) not in invoice_stems:
                results.append({"file": name, "status": "error", "code": "pdf_without_xml"})
        batch = db.session.get(UploadBatch, batch_id)
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
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        batch = db.session.get(UploadBatch, batch_id)
        batch.status, batch.error, batch.finished_at = "failed", str(error)[:1000], clock.now()
        db.session.commit()
        raise
    finally:
        storage = get_storage()
        for item in batch.files:
            storage.delete(item["key"])


def _publish_file(tenant, user, name: str, data: bytes, pdf: bytes | None) -> dict:
    try:
        result = portal.publish(tenant, data, pdf, source="console", user_id=user.id)
    except portal.PublishError as problem:
        db.session.rollback()
        return {"file": name, "status": "error", "message": str(problem)}
    numbers = [i.number for i in result.invoices]
    return {
        "file": name,
        "status": "imported" if result.any_created else "present",
        "numbers": numbers,
        "has_pdf": pdf is not None,
    }


def _save_progress(batch_id: int, done: int, results: list[dict]) -> None:
    db.session.execute(
        UploadBatch.__table__.update()
        .where(UploadBatch.id == batch_id)
        .values(done=done, results=list(results))
    )
    db.session.commit()


def own_upload(user: User, batch_id: int) -> UploadBatch | None:
    batch = db.session.get(UploadBatch, batch_id)
    if batch is None or batch.tenant_id != user.tenant_id or batch.user_id != user.id:
        return None
    return batch


# --- tenant settings ---------------------------------------------------------------------

SETTING_FIELDS = (
    "name",
    "primary_color",
    "accent_color",
    "support_phones",
    "locales",
    "login_methods",
    "password_reset",
    "onboarding",
    "password_max_age_days",
)


def brand_contrast(primary: str, accent: str | None) -> dict[str, float]:
    """Contrast ratios the theme will have: button text on each colour, links on white."""
    from saas.branding import WHITE, contrast, readable_on_white, text_on

    ratios = {
        "primary_text": contrast(primary, text_on(primary)),
        "links": contrast(readable_on_white(primary), WHITE),
    }
    if accent:
        ratios["accent_text"] = contrast(accent, text_on(accent))
    return {k: round(v, 1) for k, v in ratios.items()}


def update_settings(tenant, user: User, values: dict, logo=None, remove_logo=False) -> list[str]:
    """Apply an Administrator's settings at once; returns the names that changed.

    Each changed name is remembered in `tenant.console_settings`, so `flask tenants
    sync` no longer overwrites it from the tenant file. Audit-logged with the changes.
    """
    changed = []
    for name in SETTING_FIELDS:
        if name in values and getattr(tenant, name) != values[name]:
            setattr(tenant, name, values[name])
            changed.append(name)
    if logo is not None:
        data, content_type, ext = logo
        digest = hashlib.sha256(data).hexdigest()[:16]
        key = tenant_key(tenant.id, "branding", f"logo-{digest}{ext}")
        if key != tenant.logo_key:
            get_storage().put(key, data, content_type)
            tenant.logo_key, tenant.logo_content_type = key, content_type
            changed.append("logo")
    elif remove_logo and tenant.logo_key:
        tenant.logo_key = tenant.logo_content_type = None
        changed.append("logo")
    if changed:
        tenant.console_settings = sorted(set(tenant.console_settings or ()) | set(changed))
        audit.record("tenant.settings_changed", user_id=user.id, fields=changed)
    db.session.commit()
    return changed

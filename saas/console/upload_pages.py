"""Console uploads: one invoice with its PDF, and bulk uploads of zips and files run as
a job with a progress bar; the limits shown are the ones enforced."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from saas.console import upload_messages
from saas.console import uploads as bulk
from saas.console.blueprint import bp, staff
from saas.einvoice import ZIP_MAGIC
from saas.errors import render_error
from saas.htmx import render
from saas.permissions import can, requires
from saas.portal import publishing
from saas.tenancy import current_tenant


def max_upload() -> int:
    """Bytes the invoice's XML and its PDF may have each: UPLOAD_FILE_MAX_BYTES."""
    return current_app.config["UPLOAD_FILE_MAX_BYTES"]


def too_big_message() -> str:
    return _("Files may be at most %(size)s MB.", size=_mb(max_upload()))


def invalid_address_message(address: str) -> str:
    return _(
        "The email address %(address)s in the invoice is not valid: the invoice is "
        "published, but no one was told.",
        address=address[:100],
    )


@bp.route("/t/<tenant>/console/upload", methods=["GET", "POST"])
@requires("invoices.upload")
def upload():
    if request.method == "GET":
        return render("console/upload.html", error=None)
    xml, pdf = request.files.get("xml"), request.files.get("pdf")
    email = (request.form.get("email") or "").strip() or None
    error = None
    if xml is None or not xml.filename:
        # An empty field's error goes under that field, as every form's does.
        return render(
            "console/upload.html",
            status=422,
            error=None,
            xml_error=_("Choose the invoice's XML file."),
            email=email,
        )
    if _is_zip(xml):
        return _publish_zip(xml)
    else:
        limit = max_upload()
        xml_data = xml.read(limit + 1)
        pdf_data = pdf.read(limit + 1) if pdf is not None and pdf.filename else None
        if len(xml_data) > limit or (pdf_data and len(pdf_data) > limit):
            error = too_big_message()
        else:
            try:
                result = publishing.publish(
                    current_tenant,
                    xml_data,
                    pdf_data,
                    email=email,
                    source="console",
                    user_id=staff().id,
                )
            except publishing.PublishError as problem:
                error = upload_messages.describe_error(problem)
            else:
                numbers = ", ".join(i.number for i in result.invoices)
                if result.any_created:
                    flash(_("Published: %(numbers)s.", numbers=numbers), "success")
                else:
                    flash(
                        _("Already published: %(numbers)s. Nothing changed.", numbers=numbers),
                        "info",
                    )
                for address in result.invalid_addresses:
                    flash(invalid_address_message(address), "warning")
                return redirect(url_for("console.upload"))
    return render("console/upload.html", status=422, error=error, email=email)


def _is_zip(upload) -> bool:
    start = upload.stream.read(len(ZIP_MAGIC))
    upload.stream.seek(0)
    return start == ZIP_MAGIC or upload.filename.lower().endswith(".zip")


def _publish_zip(upload):
    """A zip given as the one invoice: it is opened as a bulk upload (its invoices and
    the PDFs of the same name), whose page follows it."""
    if not upload.filename.lower().endswith(".zip"):  # the bulk upload goes by the name
        upload.filename += ".zip"
    try:
        batch = bulk.start_upload(staff(), [upload])
    except bulk.UploadError as problem:
        return render("console/upload.html", status=422, error=_problem(problem), email=None)
    flash(
        _(
            "The zip is being published as a bulk upload: every invoice in it, each with "
            "the PDF of the same name."
        ),
        "info",
    )
    return redirect(url_for("console.upload_status", batch_id=batch.id), 303)


# --- bulk upload ----------------------------------------------------------------------


def _mb(size: int) -> str:
    """A size in MB (of 1024 * 1024 bytes, as the limits are written), for the locale."""
    return format_decimal(round(size / (1024 * 1024), 1))


def _limits() -> dict:
    """The bulk upload's limits as the pages show them."""
    limits = bulk.upload_limits()
    return {
        "file_size": _mb(limits["file_bytes"]),
        "zip_size": _mb(limits["zip_bytes"]),
        "expanded_size": _mb(limits["expanded_bytes"]),
        "files": format_decimal(limits["files"]),
        "ratio": format_decimal(limits["ratio"]),
    }


UPLOAD_PROBLEMS = {
    "no_files": lambda name, n: _("Choose the files to upload."),
    "too_many": lambda name, n: _("At most %(n)s files at once.", n=n["files"]),
    "unknown_type": lambda name, n: _(
        "%(name)s is not an XML, .p7m, PDF or zip file.", name=name or _("A file")
    ),
    "too_big": lambda name, n: _(
        "%(name)s is too big: invoices and PDFs may be %(file_size)s MB, a zip %(zip_size)s MB.",
        name=name,
        file_size=n["file_size"],
        zip_size=n["zip_size"],
    ),
    "expands_too_much": lambda name, n: _(
        "%(name)s expands to more than %(expanded_size)s MB: split it into smaller zips.",
        name=name,
        expanded_size=n["expanded_size"],
    ),
}


def _problem(problem: bulk.UploadError) -> str:
    """An UploadError ("code" or "code:file name") in the uploader's words."""
    code, _sep, name = str(problem).partition(":")
    return UPLOAD_PROBLEMS[code](name, _limits())


@bp.route("/t/<tenant>/console/uploads", methods=["GET", "POST"])
@requires("invoices.upload")
def uploads():
    if request.method == "POST":
        try:
            batch = bulk.start_upload(staff(), request.files.getlist("files"))
        except bulk.UploadError as problem:
            return render(
                "console/uploads.html", status=422, error=_problem(problem), limits=_limits()
            )
        return redirect(url_for("console.upload_status", batch_id=batch.id), 303)
    return render("console/uploads.html", error=None, limits=_limits())


@bp.get("/t/<tenant>/console/uploads/<id:batch_id>")
@requires("invoices.upload")
def upload_status(batch_id: int):
    batch = bulk.own_upload(staff(), batch_id)
    if batch is None:
        abort(404)
    return render(
        "console/upload_status.html",
        "console/_upload_progress.html",
        batch=batch,
        limits=_limits(),
        describe_problem=upload_messages.describe,
    )


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """A request over MAX_CONTENT_LENGTH on the upload pages: the page again, saying so.
    (Werkzeug refuses it while reading the form, before the view and its sign-in check.)"""
    allowed = current_user.is_authenticated and can(current_user, "invoices.upload")
    if allowed and request.endpoint == "console.uploads":
        message = _(
            "The upload is larger than %(zip_size)s MB, the most one upload may be. Send "
            "fewer files at once or split the zip.",
            zip_size=_limits()["zip_size"],
        )
        return render("console/uploads.html", status=413, error=message, limits=_limits())
    if allowed and request.endpoint == "console.upload":
        return render("console/upload.html", status=413, error=too_big_message(), email=None)
    return render_error(error)


# --- API keys ("Invio file") ------------------------------------------------------------

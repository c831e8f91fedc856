"""Support pages: the recipient's requests and threads in the portal; the queue, threads,
answers and closing in the console (Support and Administrators)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from saas.console.blueprint import staff
from saas.extensions import db
from saas.htmx import render
from saas.permissions import requires
from saas.storage import serve
from saas.support import services
from saas.support.models import STATUSES
from saas.tenancy import current_tenant

bp = Blueprint("support", __name__, template_folder="templates")
bp.add_app_template_global(services.attachment_limit_mb, "attachment_limit_mb")

PROBLEMS = {
    "required": lambda: _("Fill in this field."),
    "too_long": lambda: _("This is too long."),
    "invoice": lambda: _("This invoice is not one of yours."),
    "number": lambda: _(
        "No invoice you may see has this number, or several do. Check it, or leave it empty."
    ),
    "closed": lambda: _("This request is closed: open a new one."),
    "too_big": lambda: _(
        "The attachment may be at most %(size)s MB.", size=services.attachment_limit_mb()
    ),
    "type": lambda: _("The attachment must be a PDF, PNG or JPEG file."),
}


def recipient():
    user = current_user._get_current_object()
    if user.kind != "recipient":
        abort(404)  # staff have the console's queue
    return user


def _form_error(problem: services.SupportProblem) -> dict:
    return {problem.field: PROBLEMS[problem.code]()}


# --- portal ---------------------------------------------------------------------------


@bp.get("/t/<tenant>/support")
@login_required
def requests():
    user = recipient()
    rows = db.session.scalars(services.own_requests(user)).all()
    return render("support/requests.html", rows=rows)


@bp.route("/t/<tenant>/support/new", methods=["GET", "POST"])
@login_required
def new():
    return _new(recipient(), "support/new.html", "support.thread")


@bp.route("/t/<tenant>/support/<id:request_id>", methods=["GET", "POST"])
@login_required
def thread(request_id: int):
    return _thread(recipient(), request_id, "support/thread.html", "support.thread")


@bp.get("/t/<tenant>/support/<id:request_id>/files/<id:message_id>")
@login_required
def attachment(request_id: int, message_id: int):
    found = services.request_for_requester(recipient(), request_id)
    return _attachment(found, message_id)


def _new(user, template: str, thread_endpoint: str):
    """Open a request (a recipient in the portal, a staff user in the console, who may
    name the invoice by its number)."""
    invoice_id = request.values.get("invoice", type=int)
    invoice = services.invoice_for_requester(user, invoice_id) if invoice_id else None
    if request.method == "GET":
        return render(template, errors={}, form={}, invoice=invoice)
    number = (request.form.get("invoice_number") or "").strip() if user.kind == "staff" else ""
    try:
        if number and not invoice_id:
            invoice_id = services.staff_invoice_numbered(user, number)
            if invoice_id is None:
                raise services.SupportProblem("invoice_number", "number")
        opened = services.open_request(
            user,
            request.form.get("subject"),
            request.form.get("body"),
            invoice_id,
            request.files.get("attachment"),
        )
    except services.SupportProblem as problem:
        return render(
            template, status=422, errors=_form_error(problem), form=request.form, invoice=invoice
        )
    flash(_("Your request was sent. We will answer by email."), "success")
    return redirect(_thread_url(thread_endpoint, opened.id), 303)


def _thread_url(endpoint: str, request_id: int) -> str:
    return url_for(endpoint, **thread_args(endpoint, request_id))


@bp.app_template_global()
def thread_args(endpoint: str, request_id: int, message_id: int | None = None) -> dict:
    """The URL arguments of a thread's page or file: a staff user's own request is named
    `own_request_id` (see `mine`), every other `request_id`."""
    own = endpoint.startswith("support.mine")
    args = {"own_request_id" if own else "request_id": request_id}
    if message_id is not None:
        args["own_message_id" if own else "message_id"] = message_id
    return args


def _thread(user, request_id: int, template: str, thread_endpoint: str, side: str = "portal"):
    """The requester's thread: read it, and write again."""
    found = services.request_for_requester(user, request_id)
    if found is None:
        abort(404)
    if request.method == "POST":
        try:
            services.reply(user, found, request.form.get("body"), request.files.get("attachment"))
        except services.SupportProblem as problem:
            return render(
                template, status=422, item=found, errors=_form_error(problem),
                form=request.form, staff_view=False, side=side,
            )  # fmt: skip
        flash(_("Your message was added."), "success")
        return redirect(_thread_url(thread_endpoint, found.id), 303)
    return render(template, item=found, errors={}, form={}, staff_view=False, side=side)


# --- console: a staff user's own requests ----------------------------------------------


@bp.get("/t/<tenant>/console/support/mine")
@requires("support.open")
def my_requests():
    rows = db.session.scalars(services.own_requests(staff())).all()
    return render("support/console_requests.html", rows=rows)


@bp.route("/t/<tenant>/console/support/new", methods=["GET", "POST"])
@requires("support.open")
def staff_new():
    return _new(staff(), "support/console_new.html", "support.mine")


# Their own argument names: a staff user's own request is another row than the ones
# Support answers (and the isolation sweep fills each name with its own kind of row).
@bp.route("/t/<tenant>/console/support/mine/<id:own_request_id>", methods=["GET", "POST"])
@requires("support.open")
def mine(own_request_id: int):
    return _thread(staff(), own_request_id, "support/console_thread.html", "support.mine", "mine")


@bp.get("/t/<tenant>/console/support/mine/<id:own_request_id>/files/<id:own_message_id>")
@requires("support.open")
def mine_attachment(own_request_id: int, own_message_id: int):
    found = services.request_for_requester(staff(), own_request_id)
    return _attachment(found, own_message_id)


# --- console --------------------------------------------------------------------------


@bp.get("/t/<tenant>/console/support")
@requires("support.answer")
def queue():
    status = request.args.get("status", "open")
    if status not in (*STATUSES, "all"):
        status = "open"
    rows = db.session.scalars(services.queue(staff(), None if status == "all" else status)).all()
    return render("support/queue.html", rows=rows, status=status, statuses=STATUSES)


@bp.route("/t/<tenant>/console/support/<id:request_id>", methods=["GET", "POST"])
@requires("support.answer")
def answer(request_id: int):
    found = services.request_for_staff(staff(), request_id)
    if found is None:
        abort(404)
    if request.method == "POST":
        try:
            services.answer(
                staff(), found, request.form.get("body"), request.files.get("attachment"),
                current_tenant,
            )  # fmt: skip
        except services.SupportProblem as problem:
            return render(
                "support/console_thread.html", status=422, item=found,
                errors=_form_error(problem), form=request.form, staff_view=True,
            )  # fmt: skip
        flash(_("Your answer was sent to %(email)s.", email=found.requester.email), "success")
        return redirect(url_for("support.answer", request_id=found.id), 303)
    return render("support/console_thread.html", item=found, errors={}, form={}, staff_view=True)


@bp.post("/t/<tenant>/console/support/<id:request_id>/close")
@requires("support.answer")
def close(request_id: int):
    found = services.request_for_staff(staff(), request_id)
    if found is None:
        abort(404)
    services.close(staff(), found)
    flash(_("The request is closed."), "success")
    return redirect(url_for("support.queue"), 303)


@bp.get("/t/<tenant>/console/support/<id:request_id>/files/<id:message_id>")
@requires("support.answer")
def staff_attachment(request_id: int, message_id: int):
    return _attachment(services.request_for_staff(staff(), request_id), message_id)


def _attachment(found, message_id: int):
    message = services.attachment_of(found, message_id) if found is not None else None
    if message is None:
        abort(404)
    return serve(message.attachment_key, message.attachment_name, message.attachment_type)

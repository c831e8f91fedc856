"""Seats pages of the console: the tenant's staff users (each holding a seat), their
invitations, and the purchase of extra users. Their own blueprint; the console's layout
and permissions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from wtforms import SelectChoice

from saas.auth.forms import ChoosePasswordForm
from saas.auth.models import User
from saas.auth.passwords import password_problem
from saas.auth.services import UserError
from saas.auth.sessions import start_session
from saas.console import services as console
from saas.console.blueprint import staff
from saas.console.forms import BuySeatsForm, StaffUserForm
from saas.htmx import render
from saas.permissions import ROLE_DESCRIPTIONS, ROLE_LABELS, ROLES, requires
from saas.seats import invitations, ledger, purchases, staff_accounts
from saas.seats.models import SeatPurchase
from saas.tenancy import current_tenant, get_or_404

bp = Blueprint("seats", __name__, template_folder="templates")

SEAT_PROBLEMS = {
    "no_free_seat": lambda: _(
        "There is no free seat: buy extra users, or reuse a deactivated user."
    ),
    "last_admin": lambda: _("This is the last active Administrator: the portal needs one."),
    "owner": lambda: _("The owner of the portal cannot be deleted, deactivated or demoted."),
    "quantity": lambda: _("Choose between 1 and 100 extra users."),
    "owner_credentials": lambda: _(
        "Only the owner of the portal can change its email and password, on their account page."
    ),
    "owner_scope": lambda: _("Only the owner of the portal can change the companies they see."),
    "not_invited": lambda: _("This user has already chosen a password."),
    "inactive": lambda: _("Reactivate the user first: the invitation is sent then."),
    "not_pending": lambda: _("This purchase is no longer pending."),
}


@bp.app_template_global()
def is_invited(user: User) -> bool:
    return invitations.is_pending(user)


@bp.app_template_global()
def purchase_status(status: str) -> str:
    """A purchase's status in the page's language (the Buy page and the platform's)."""
    return {
        "pending": _("Waiting for activation"),
        "active": _("Active"),
        "rejected": _("Rejected"),
        "cancelled": _("Cancelled"),
        "expired": _("Expired"),
    }.get(status, status)


def show_user_problem(form, problem: UserError) -> None:
    """Put a refused user's reason on the field it is about, in the page's language."""
    field, message = {
        "invalid_email": (form.email, lambda: _("This is not an email address.")),
        "email_taken": (form.email, lambda: _("Another user already has this email.")),
        "name_required": (form.name, lambda: _("Write the person's full name.")),
        "invalid_name": (
            form.name,
            lambda: _("Use letters, digits and punctuation only, on one line."),
        ),
        "invalid_role": (form.role, lambda: _("Choose a profile.")),
        "password_required": (
            form.password,
            lambda: _("A new email address means a new person: choose a password for them."),
        ),
        "weak_password": (form.password, lambda: str(problem)),  # already in this language
    }.get(problem.code, (form.email, lambda: str(problem)))
    field.errors = [*field.errors, message()]


def _user_form(user: User | None = None) -> StaffUserForm:
    form = StaffUserForm(obj=user if request.method == "GET" else None)
    form.role.choices = [SelectChoice(r, ROLE_LABELS[r]) for r in ROLES]
    form.companies.choices = [
        SelectChoice(c.id, f"{c.name} ({c.tax_id})") for c in console.issuer_companies()
    ]
    if request.method == "GET" and user is not None:
        form.companies.data = [c.id for c in user.companies]
    return form


def _staff_or_404(user_id: int) -> User:
    user = get_or_404(User, user_id)
    if user.kind != "staff" or user.deleted_at is not None:
        abort(404)
    return user


def _page(form, status=200, **extra):
    return render(
        "seats/users.html",
        status=status,
        form=form,
        users=staff_accounts.staff_users(),
        seat=ledger.summary(current_tenant),
        seat_of=ledger.seat_holders(),
        descriptions=ROLE_DESCRIPTIONS,
        **extra,
    )


def _password_mode(form) -> str:
    """How the new user gets a password: the form's choice; a client that sends no choice
    sets the password it sends, or, sending none, has the person invited."""
    if "password_mode" in request.form:
        return form.password_mode.data
    return "set" if form.password.data else "invite"


def _invited_message(user: User) -> str:
    days = invitations.link_days()
    return ngettext(
        "We emailed %(name)s a link to choose a password; it works once, for %(num)s day.",
        "We emailed %(name)s a link to choose a password; it works once, for %(num)s days.",
        days,
        name=user.name,
    )


@bp.route("/t/<tenant>/console/users", methods=["GET", "POST"])
@requires("users.manage")
def users():
    form = _user_form()
    if request.method == "POST":
        mode = _password_mode(form)
        valid = form.validate()  # every field's mistakes at once, the password's among them
        if mode == "set" and not form.password.data:
            form.password.errors = [*form.password.errors, _("Choose a password for the new user.")]
        elif mode == "invite" and form.password.data:
            # Never drop a typed password silently: the person would be told another way in.
            form.password.errors = [
                _(
                    "To send an invitation, leave the password empty; "
                    "or choose “Set a password myself”."
                )
            ]
        elif valid:
            companies = [
                c for c in console.issuer_companies() if c.id in (form.companies.data or [])
            ]
            try:
                created = staff_accounts.create_user(
                    current_tenant,
                    staff(),
                    name=form.name.data,
                    email=form.email.data,
                    password=form.password.data if mode == "set" else None,
                    role=form.role.data,
                    companies=companies,
                )
            except ledger.SeatError as problem:
                return _page(form, 409, problem=SEAT_PROBLEMS[problem.code]())
            except UserError as problem:
                show_user_problem(form, problem)
            else:
                if mode == "invite":
                    flash(_invited_message(created), "success")
                else:
                    flash(
                        _(
                            "%(name)s can now sign in as %(username)s.",
                            name=created.name,
                            username=created.username,
                        ),
                        "success",
                    )
                return redirect(url_for("seats.users"), 303)
        return _page(form, 422)
    return _page(form)


@bp.route("/t/<tenant>/console/users/<id:user_id>", methods=["GET", "POST"])
@requires("users.manage")
def edit_user(user_id: int):
    user = _staff_or_404(user_id)
    form = _user_form(user)
    if request.method == "POST" and form.validate():
        companies = [c for c in console.issuer_companies() if c.id in (form.companies.data or [])]
        try:
            invited = staff_accounts.update_user(
                current_tenant,
                staff(),
                user,
                name=form.name.data.strip(),
                email=form.email.data,
                role=form.role.data,
                companies=companies,
                password=form.password.data or None,
            )
        except ledger.SeatError as problem:
            field = {"owner_credentials": form.email, "owner_scope": form.companies}.get(
                problem.code, form.role
            )
            field.errors = [SEAT_PROBLEMS[problem.code]()]
        except UserError as problem:
            show_user_problem(form, problem)
        else:
            flash(_("Changes to %(name)s saved.", name=user.name), "success")
            if invited:
                flash(_invited_message(user), "success")
            return redirect(url_for("seats.users"), 303)
    status = 422 if request.method == "POST" else 200
    return render(
        "seats/user_edit.html",
        status=status,
        form=form,
        user=user,
        descriptions=ROLE_DESCRIPTIONS,
    )


@bp.post(
    "/t/<tenant>/console/users/<id:user_id>/<any(deactivate, reactivate, delete, invite):action>"
)
@requires("users.manage")
def user_action(user_id: int, action: str):
    user = _staff_or_404(user_id)
    act = {
        "deactivate": staff_accounts.deactivate_user,
        "reactivate": staff_accounts.reactivate_user,
        "delete": staff_accounts.delete_user,
        "invite": invitations.resend,
    }[action]
    try:
        act(current_tenant, staff(), user)
    except ledger.SeatError as problem:
        flash(SEAT_PROBLEMS[problem.code](), "error")
    else:
        messages = {
            "deactivate": _("%(name)s is deactivated; the seat stays assigned for reuse."),
            "reactivate": _("%(name)s can sign in again."),
            "delete": _("%(name)s was deleted; that seat is used up."),
        }
        if action != "invite":
            flash(messages[action] % {"name": user.name}, "success")
        if action == "invite" or (action == "reactivate" and invitations.is_pending(user)):
            flash(_invited_message(user), "success")
    return redirect(url_for("seats.users"), 303)


@bp.route("/t/<tenant>/console/users/buy", methods=["GET", "POST"])
@requires("users.manage")
def buy_seats():
    # A GET with ?quantity= (the htmx price update) reads the query string; a POST its form.
    form = BuySeatsForm(request.args) if request.method == "GET" else BuySeatsForm()
    quantity = form.quantity.data if form.quantity.data and 1 <= form.quantity.data <= 100 else 1
    quote = purchases.price(current_tenant, quantity)
    if request.method == "POST" and form.validate():
        purchases.request_purchase(current_tenant, staff(), form.quantity.data)
        flash(
            _(
                "Thank you. Your %(n)s extra users will be active once we confirm the purchase; "
                "we will email you.",
                n=form.quantity.data,
            ),
            "success",
        )
        return redirect(url_for("seats.users"), 303)
    status = 422 if request.method == "POST" else 200
    return render(
        "seats/buy.html",
        "seats/_quote.html",
        status=status,
        form=form,
        quote=quote,
        plan=ledger.plan_of(current_tenant),
        history=purchases.tenant_purchases(),
    )


@bp.post("/t/<tenant>/console/users/purchases/<id:purchase_id>/cancel")
@requires("users.manage")
def cancel_purchase(purchase_id: int):
    purchase = get_or_404(SeatPurchase, purchase_id)
    try:
        purchases.cancel_purchase(purchase, staff())
    except ledger.SeatError as problem:
        flash(SEAT_PROBLEMS[problem.code](), "error")
    else:
        flash(
            ngettext(
                "The purchase of %(num)s extra user is cancelled.",
                "The purchase of %(num)s extra users is cancelled.",
                purchase.quantity,
            ),
            "success",
        )
    return redirect(url_for("seats.buy_seats"), 303)


# --- the invitation's link -----------------------------------------------------------


@bp.route("/t/<tenant>/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """The invited person chooses a password and is signed in. Opening the link spends
    nothing (mail scanners open links); only choosing the password does, once."""
    user = invitations.invited_user(token)
    if user is None:
        return render("seats/invitation_invalid.html", status=410)
    form = ChoosePasswordForm()
    if request.method == "POST":
        if form.validate():
            problem = password_problem(
                form.new_password.data, email=user.email, username=user.username
            )
            if problem:
                form.new_password.errors.append(problem)
            else:
                accepted = invitations.accept(token, form.new_password.data)
                if accepted is None:  # another request used it a moment ago
                    return render("seats/invitation_invalid.html", status=410)
                start_session(accepted, method="staff_invitation")
                return redirect(url_for("console.dashboard"), 303)
        return render("seats/invitation.html", status=422, form=form, user=user)
    return render("seats/invitation.html", form=form, user=user)

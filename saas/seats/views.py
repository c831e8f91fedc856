"""Seats pages of the console: the tenant's staff users (each holding a seat) and the
purchase of extra users. Their own blueprint; the console's layout and permissions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from saas.auth.models import User
from saas.auth.services import UserError
from saas.console import services as console
from saas.console.blueprint import staff
from saas.console.forms import BuySeatsForm, StaffUserForm
from saas.htmx import render
from saas.permissions import ROLE_DESCRIPTIONS, ROLE_LABELS, ROLES, requires
from saas.seats import ledger, purchases, staff_accounts
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
}


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


@bp.route("/t/<tenant>/console/users", methods=["GET", "POST"])
@requires("users.manage")
def users():
    form = _user_form()
    if request.method == "POST":
        if not form.password.data:
            form.password.errors = [_("Choose a password for the new user.")]
        elif form.validate():
            companies = [
                c for c in console.issuer_companies() if c.id in (form.companies.data or [])
            ]
            try:
                created = staff_accounts.create_user(
                    current_tenant,
                    staff(),
                    name=form.name.data,
                    email=form.email.data,
                    password=form.password.data,
                    role=form.role.data,
                    companies=companies,
                )
            except ledger.SeatError as problem:
                return _page(form, 409, problem=SEAT_PROBLEMS[problem.code]())
            except UserError as problem:
                show_user_problem(form, problem)
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
            staff_accounts.update_user(
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
            return redirect(url_for("seats.users"), 303)
    status = 422 if request.method == "POST" else 200
    return render(
        "seats/user_edit.html",
        status=status,
        form=form,
        user=user,
        descriptions=ROLE_DESCRIPTIONS,
    )


@bp.post("/t/<tenant>/console/users/<id:user_id>/<any(deactivate, reactivate, delete):action>")
@requires("users.manage")
def user_action(user_id: int, action: str):
    user = _staff_or_404(user_id)
    act = {
        "deactivate": staff_accounts.deactivate_user,
        "reactivate": staff_accounts.reactivate_user,
        "delete": staff_accounts.delete_user,
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
        flash(messages[action] % {"name": user.name}, "success")
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
    )

"""Staff users as seats: creating, editing, deactivating and deleting them.

An Administrator can deactivate a user and later edit that user's data for another
person (the seat stays). Deleting a user burns the seat unless the plan's
`delete_releases_seat` says otherwise. The owner and the last active Administrator
cannot be removed.

A new person (a new user, or a new address on a reused seat) is invited by email to
choose their own password (saas.seats.invitations), unless the Administrator sets one,
which the person then changes at their first sign-in.
"""

from __future__ import annotations

from sqlalchemy import func, select

from saas import audit, clock
from saas.auth import tokens
from saas.auth.apikeys import revoke_user_keys
from saas.auth.models import ROLES, User
from saas.auth.passwords import password_problem
from saas.auth.services import (
    UserError,
    change_password,
    checked_email,
    checked_name,
    end_other_sessions,
    find_user_by_email,
    unique_username,
)
from saas.extensions import db
from saas.seats import invitations
from saas.seats.ledger import SeatError, plan_of, seat_of, take_seat
from saas.security import hash_password


def staff_users() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.kind == "staff", User.deleted_at.is_(None))
            .order_by(User.is_owner.desc(), User.name)
        )
    )


def _active_admins() -> int:
    return db.session.execute(
        select(func.count(User.id)).where(
            User.kind == "staff",
            User.role == "admin",
            User.active.is_(True),
            User.deleted_at.is_(None),
        )
    ).scalar_one()


def _guard_last_admin(user: User) -> None:
    if user.is_owner:
        raise SeatError("owner")
    if user.role == "admin" and user.active and _active_admins() <= 1:
        raise SeatError("last_admin")


def _new_staff_user(
    tenant, *, email: str, name: str, role: str, password: str | None, companies=()
) -> User:
    """The user row of a new staff member (create_user gives it its seat); with no
    password, the person has none until they accept the invitation."""
    email = checked_email(email)
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}", "invalid_role")
    checked_name(name)
    if find_user_by_email(email) is not None:
        raise UserError(f"{email} already has an account in {tenant.slug}", "email_taken")
    username = unique_username(email)
    problem = password is not None and password_problem(password, email=email, username=username)
    if problem:
        raise UserError(problem, "weak_password")
    first_staff = not db.session.scalar(select(func.count(User.id)).where(User.kind == "staff"))
    user = User(
        tenant_id=tenant.id,
        email=email,
        username=username,
        name=name.strip(),
        password_hash=hash_password(password) if password is not None else None,
        password_changed_at=clock.now() if password is not None else None,
        kind="staff",
        role=role,
        companies=list(companies),
        # The tenant's first Administrator owns it: no seat, never deleted or demoted.
        is_owner=first_staff and role == "admin",
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", tenant_id=tenant.id, user_id=user.id, role=role)
    return user


def create_user(
    tenant, by: User | None, *, name, email, password: str | None, role, companies=()
) -> User:
    """A new staff user holding a free seat (the tenant's first Administrator holds none).

    With no password the person is emailed an invitation to choose one. Raises
    SeatError("no_free_seat") or UserError; nothing is written then.
    """
    with db.session.begin_nested():  # a refusal undoes the user row, and only it
        user = _new_staff_user(
            tenant, email=email, name=name, role=role, password=password, companies=companies
        )
        if not user.is_owner:
            take_seat(tenant, user)
    if password is None:
        invitations.invite(tenant, by, user)
    elif by is not None:  # an Administrator chose the password: changed at first sign-in
        user.must_change_password = True
    audit.record("seat.assigned", user_id=by.id if by else None, target=user.id)
    return user


def update_user(
    tenant, by: User, user: User, *, name, email, role, companies, password=None
) -> bool:
    """Edit any field; the seat stays with the row. True when the new person was invited.

    A new email address means another person takes the seat: they get a username of
    their own and an invitation to choose a password (sent when the user is active;
    a deactivated one gets it when reactivated), unless the Administrator sets one;
    what the previous person held (their password, sessions, API keys and unused
    links) ends. A password set by someone else is changed at the first sign-in. The
    owner's email and password are the owner's alone to change.
    """
    if user.is_owner and role != "admin":
        raise SeatError("owner")
    if user.role == "admin" and role != "admin":
        _guard_last_admin(user)
    email, name = checked_email(email), checked_name(name)
    new_person = email != user.email
    if user.is_owner and by.id != user.id and (new_person or password):
        raise SeatError("owner_credentials")
    if (
        user.is_owner
        and by.id != user.id
        and {c.id for c in companies} != {c.id for c in user.companies}
    ):
        raise SeatError("owner_scope")  # the owner's scope is the owner's alone to change
    other = find_user_by_email(email)
    if other is not None and other.id != user.id:
        raise UserError(f"{email} already has an account", "email_taken")
    if new_person and not password and by.id == user.id:
        # One's own new address is not a new person: they keep choosing their password.
        raise UserError("another person needs a password of their own", "password_required")
    username = unique_username(email) if new_person else user.username
    if password:
        problem = password_problem(password, email=email, username=username)
        if problem:
            raise UserError(problem, "weak_password")
    changed = [
        f
        for f, new in (("name", name), ("email", email), ("role", role))
        if getattr(user, f) != new
    ]
    user.name, user.email, user.role, user.username = name, email, role, username
    user.companies = list(companies)
    invited = False
    if new_person:
        # The seat changes hands: nothing of the previous person's access carries over,
        # not even a link mailed to their address before.
        end_other_sessions(user)
        revoke_user_keys(user, "user_replaced")
        tokens.revoke_user_tokens(user.id)
        if not password:
            user.password_hash, user.password_changed_at = None, None
            user.must_change_password = False
            if user.active:
                invitations.invite(tenant, by, user)
                invited = True
    if password:
        change_password(user, password, reason="set_by_admin" if by.id != user.id else "changed")
        user.must_change_password = by.id != user.id
    audit.record("user.updated", user_id=by.id, target=user.id, fields=changed)
    return invited


def deactivate_user(tenant, by: User, user: User) -> None:
    """The user can no longer sign in or use an API key; the seat stays assigned."""
    _guard_last_admin(user)
    user.active = False
    end_other_sessions(user)
    revoke_user_keys(user, "user_deactivated")
    tokens.revoke_user_tokens(user.id)  # an invitation or reset link mailed before dies too
    audit.record("user.deactivated", user_id=by.id, target=user.id)


def reactivate_user(tenant, by: User, user: User) -> None:
    """A deactivated user comes back; one who lost the seat at an expiry needs a free one.
    One who never chose a password gets a new invitation (deactivating killed the old)."""
    if not user.is_owner and seat_of(user) is None:
        take_seat(tenant, user)  # raises before anything is written when none is free
    user.active = True
    audit.record("user.reactivated", user_id=by.id, target=user.id)
    if invitations.is_pending(user):
        invitations.invite(tenant, by, user)


def delete_user(tenant, by: User, user: User) -> None:
    """The user stops existing for sign-in; the row and its history stay. The seat burns."""
    _guard_last_admin(user)
    seat = seat_of(user)
    releases = plan_of(tenant).delete_releases_seat
    if seat is not None:
        seat.state = "free" if releases else "burned"
        if releases:
            seat.user_id = None
    user.active = False
    user.deleted_at = clock.now()
    revoke_user_keys(user, "user_deleted")
    tokens.revoke_user_tokens(user.id)
    # The address and username become free for a new user; the originals stay in the audit.
    original = (user.email, user.username)
    user.email = f"deleted-{user.id}.{user.email}"[:254]
    user.username = f"deleted-{user.id}.{user.username}"[:64]
    end_other_sessions(user)
    audit.record(
        "user.deleted", user_id=by.id, target=user.id, email=original[0], username=original[1]
    )

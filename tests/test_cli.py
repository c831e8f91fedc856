"""The command line (README, "Command line"): users create, demo."""

from sqlalchemy import select

from saas.auth.models import User
from saas.extensions import db
from saas.security import verify_password
from saas.tenancy import all_tenants


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_users_create(app, tenants, ctx):
    result = run(
        app,
        "users",
        "create",
        "--tenant",
        "intertec",
        "--email",
        "Ana.Gomez@Example.com",
        "--name",
        "Ana Gómez",
        "--role",
        "biller",
        "--password",
        "una clave bastante larga",
    )
    assert result.exit_code == 0, result.output
    assert (
        "Created ana.gomez@example.com (username ana.gomez, biller) in intertec." in result.stdout
    )
    user = db.session.scalars(select(User)).one()
    assert user.tenant_id == tenants["intertec"].id
    assert user.kind == "staff" and user.role == "biller" and user.active
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "una clave bastante larga")
    assert not verify_password(user.password_hash, "wrong")


def test_users_create_refuses_duplicates_short_passwords_and_unknown_tenants(app, tenants, ctx):
    args = ["users", "create", "--email", "a@example.com", "--name", "A", "--role", "admin"]
    assert run(app, *args, "--tenant", "intertec", "--password", "long enough pass").exit_code == 0
    again = run(app, *args, "--tenant", "intertec", "--password", "long enough pass")
    assert again.exit_code == 1 and "already has an account in intertec" in again.output
    # The same email in another tenant is another person.
    assert run(app, *args, "--tenant", "azteca", "--password", "long enough pass").exit_code == 0
    short = run(
        app,
        *args[:-4],
        "--email",
        "b@example.com",
        "--name",
        "B",
        "--role",
        "admin",
        "--tenant",
        "intertec",
        "--password",
        "short",
    )
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    unknown = run(app, *args, "--tenant", "nobody", "--password", "long enough pass")
    assert unknown.exit_code == 1 and "no tenant 'nobody'" in unknown.output
    bad_role = run(
        app, *args[:-2], "--role", "owner", "--tenant", "intertec", "--password", "x" * 12
    )
    assert bad_role.exit_code == 2


def test_demo_is_idempotent_and_prints_sign_in_details(app, tenants, ctx):
    first = run(app, "demo")
    assert first.exit_code == 0, first.output
    assert "admin@intertec.example / demo-intertec-2026" in first.stdout
    assert "http://portal.test/t/azteca/login" in first.stdout
    assert "cliente@azteca.example / demo-azteca-2026-cliente  (recipient" in first.stdout
    with all_tenants():
        counts = db.session.scalar(select(db.func.count(User.id)))
    second = run(app, "demo")
    assert second.exit_code == 0 and second.stdout == first.stdout
    with all_tenants():
        assert db.session.scalar(select(db.func.count(User.id))) == counts == 6
        admin = db.session.scalars(
            select(User).where(User.email == "admin@adriatica.example")
        ).one()
        assert verify_password(admin.password_hash, "demo-adriatica-2026")
        assert admin.companies == []  # the owner sees the whole tenant


def test_demo_without_tenants_says_what_to_do(app, ctx):
    result = run(app, "demo")
    assert result.exit_code == 1 and "flask tenants sync" in result.output


def test_worker_without_redis_says_so(app, ctx):
    result = run(app, "worker", "--burst")
    assert result.exit_code == 1 and "REDIS_URL is not set" in result.output

"""Command line: `flask --app wsgi <command>` (the contract: README, "Command line")."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app, g
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from saas.extensions import db
from saas.tenancy.scoping import all_tenants
from saas.transactions import owns_transaction


class Commands(AppGroup):
    """A group whose every command owns its transaction: what it wrote is committed
    when it returns, rolled back when it fails (see saas.transactions)."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)
        return lambda f: register(owns_transaction(f))


tenants_cli = Commands("tenants", help="Tenants and their files.")
users_cli = Commands("users", help="Users of a tenant.")
platform_cli = Commands("platform", help="Operators of the whole platform.")
outbox_cli = Commands("outbox", help="Queued email: list, retry, flush.")
invoices_cli = Commands("invoices", help="Publishing invoices.")


def _tenant_or_fail(slug: str):
    from saas.tenancy import load_tenant

    tenant = load_tenant(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}; run `flask tenants sync` first")
    g.tenant = tenant  # the command works inside this tenant, as its requests do
    return tenant


@tenants_cli.command("sync")
def tenants_sync():
    """Create or update every tenant from $TENANTS_DIR/*/tenant.toml (all or nothing)."""
    from saas.tenancy.files import TenantFileError
    from saas.tenancy.services import sync_tenants

    try:
        results = sync_tenants()
    except TenantFileError as error:
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo("No tenant was changed.", err=True)
        raise SystemExit(1) from None
    if not results:
        click.echo(f"No tenant files in {current_app.config['TENANTS_DIR']}.")
    for slug, action in results:
        click.echo(f"{slug}: {action}")


@tenants_cli.command("list")
@all_tenants()
def tenants_list():
    """Tenants with their country, languages, domains, origin (file or signup) and status."""
    from saas.tenancy.models import Tenant

    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)):
        domains = ", ".join(d.host for d in tenant.domains) or "-"
        click.echo(
            f"{tenant.slug}\t{tenant.country}\t{','.join(tenant.locales)}\t{domains}"
            f"\t{tenant.origin}\t{tenant.status}"
        )


@users_cli.command("create")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["admin", "biller", "accountant", "support"])
)
@click.option("--password", required=True, help="At least 10 characters.")
def users_create(slug, email, name, role, password):
    """Create a staff user of a tenant."""
    from saas.auth.services import UserError
    from saas.seats.ledger import SeatError
    from saas.seats.staff_accounts import create_user

    tenant = _tenant_or_fail(slug)
    try:
        with force_locale("en"):  # an operator's terminal, not the tenant's pages
            user = create_user(tenant, None, email=email, name=name, role=role, password=password)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    except SeatError:
        raise click.ClickException(
            f"{tenant.slug} has no free seat: its first Administrator holds none, every other "
            "user holds one; buy extra users on the console's Users page"
        ) from None
    click.echo(f"Created {user.email} (username {user.username}, {role}) in {tenant.slug}.")


@platform_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", required=True, help="At least 10 characters.")
def platform_create_admin(email, name, password):
    """Create an operator of the platform console at /platform/ (activates seat purchases)."""
    from saas.platform.views import PlatformError, create_platform_admin

    try:
        admin = create_platform_admin(email=email, name=name, password=password)
    except PlatformError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created platform administrator {admin.email}; sign in at /platform/login.")


@click.command("demo")
@with_appcontext
@owns_transaction
@all_tenants()  # every tenant's demo data (each written as its tenant)
def demo():
    """Demo companies, an admin, a recipient and invoices for every tenant; prints how to
    sign in. Running it again publishes nothing twice."""
    from saas.demo import create_demo_data

    rows = create_demo_data()
    if not rows:
        raise click.ClickException("no tenants; run `flask tenants sync` first")
    base = current_app.config["BASE_URL"]
    click.echo("Demo sign-in details:")
    for tenant, user, password in rows:
        who = user.role or "recipient, must change the password"
        click.echo(
            f"  {tenant.name}: {base}/t/{tenant.slug}/login  {user.email} / {password}  ({who})"
        )
    click.echo(f"Emails (magic links, notices) are kept at {base}/dev/outbox")


@click.command("scheduler")
def scheduler():
    """Queue the periodic sweep every minute: due mail retries, lost jobs (needs REDIS_URL)."""
    from saas.jobs import run_scheduler

    try:
        run_scheduler(current_app._get_current_object())
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(burst):
    """Run an rq worker on every queue (needs REDIS_URL)."""
    from saas.jobs import run_worker

    try:
        run_worker(current_app._get_current_object(), burst=burst)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None


@click.command("daily")
@with_appcontext
@owns_transaction
def daily():
    """Queue the daily tasks (password expiry reminders) for every tenant, and forget the
    sign-ups never confirmed; run it from cron."""
    from saas.daily import run_daily
    from saas.signup.services import forget_stale_signups

    queued = run_daily()
    click.echo(f"Queued {queued} daily job(s).")
    click.echo(f"Forgot {forget_stale_signups()} sign-up(s) never confirmed.")


@outbox_cli.command("list")
@click.option("--status", type=click.Choice(["kept", "pending", "sending", "sent", "failed"]))
@click.option("--limit", default=50, show_default=True)
@all_tenants()
def outbox_list(status, limit):
    """The newest outbox messages (status, attempts, last error)."""
    from saas.mail import OutboxMessage

    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    for m in db.session.scalars(query):
        error = f"  {m.last_error}" if m.last_error else ""
        click.echo(f"{m.id}\t{m.status}\t{m.attempts}\t{m.to_addr}\t{m.subject}{error}")


@outbox_cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
def outbox_retry(ids):
    """Send failed messages again (all failed ones, or those IDS)."""
    from saas.mail import retry

    click.echo(f"{retry(list(ids))} message(s) queued again.")


@outbox_cli.command("flush")
def outbox_flush():
    """Queue messages that are due (after a worker or Redis restart), the digests of new
    invoices whose time has come but whose job was lost, and exports and uploads still
    queued; fail those whose worker died. What the scheduler does every minute."""
    from saas.mail import flush
    from saas.maintenance import watch_work
    from saas.portal import notices

    click.echo(f"{flush()} message(s) queued.")
    click.echo(f"{notices.flush()} invoice digest(s) queued.")
    queued, failed = watch_work()
    click.echo(
        f"{queued} export(s) and upload(s) queued again, {failed} interrupted one(s) failed."
    )


@outbox_cli.command("test")
@click.option("--tenant", "slug", required=True)
@click.option("--to", "to", required=True)
@click.option("--lang", default=None)
def outbox_test(slug, to, lang):
    """Send a branded test email, to check the mail settings."""
    from flask import g

    from saas.mail import send_email

    tenant = _tenant_or_fail(slug)
    g.tenant = tenant
    message = send_email(to, "test", tenant=tenant, locale=lang)
    db.session.flush()
    click.echo(f"Message {message.id} to {to}: {message.status}.")


def matching_pdf(xml_path: Path) -> Path | None:
    """The PDF beside an XML with the same stem: FE-1.xml or FE-1.xml.p7m -> FE-1.pdf."""
    name = xml_path.name
    for suffix in (".xml.p7m", ".p7m", ".xml"):
        if name.lower().endswith(suffix):
            candidate = xml_path.with_name(name[: -len(suffix)] + ".pdf")
            return candidate if candidate.is_file() else None
    return None


@invoices_cli.command("import")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--email", default=None, help="Recipient email, when the XML has none.")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def invoices_import(slug, email, files):
    """Publish invoice XML files (a PDF with the same stem is attached); one line per file."""
    from flask import g

    from saas.portal.publishing import PublishError, publish

    tenant = _tenant_or_fail(slug)
    g.tenant = tenant
    xml_files = [f for f in files if f.suffix.lower() != ".pdf"]
    attached = {matching_pdf(f) for f in xml_files} - {None}
    failed = 0
    for path in files:
        if path.suffix.lower() == ".pdf":
            if path not in attached:
                click.echo(f"{path.name}: error: a PDF needs an XML with the same name")
                failed += 1
            continue
        pdf_path = matching_pdf(path)
        try:
            result = publish(
                tenant,
                path.read_bytes(),
                pdf_path.read_bytes() if pdf_path else None,
                email=email,
                source="cli",
            )
        except PublishError as error:  # nothing of this file was written
            click.echo(f"{path.name}: error: {error}")
            failed += 1
            continue
        for invoice, created in zip(result.invoices, result.created, strict=True):
            state = "imported" if created else "already present"
            pdf_note = f" with {pdf_path.name}" if pdf_path and created else ""
            click.echo(f"{path.name}: {state} {invoice.number}{pdf_note}")
    if failed:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(invoices_cli)
    app.cli.add_command(tenants_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(platform_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(demo)
    app.cli.add_command(worker)
    app.cli.add_command(scheduler)
    app.cli.add_command(daily)

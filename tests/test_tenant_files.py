"""`flask tenants sync`: idempotent, all-or-nothing, with errors that name file and key."""

import shutil
import textwrap

import pytest
from sqlalchemy import func, select

from saas.audit import AuditEvent
from saas.extensions import db
from saas.storage import get_storage
from saas.tenancy import all_tenants
from saas.tenancy.models import Tenant
from tests.conftest import ROOT

GOOD = """
name = "Good One"
country = "CO"
locales = ["es", "en"]
[branding]
primary_color = "#123456"
logo = "logo.svg"
[[support_phones]]
label = "Línea de servicio"
number = "300 3292"
"""
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<rect width="10" height="10"/></svg>'
)


def write_tenant(folder, slug, content, logo=LOGO):
    path = folder / slug
    path.mkdir(parents=True, exist_ok=True)
    (path / "tenant.toml").write_text(textwrap.dedent(content))
    if logo is not None:
        (path / "logo.svg").write_text(logo)
    return path / "tenant.toml"


@pytest.fixture
def tenants_dir(tmp_path):
    folder = tmp_path / "tenants"
    folder.mkdir()
    return folder


def sync(app, folder):
    app.config["TENANTS_DIR"] = str(folder)
    return app.test_cli_runner().invoke(args=["tenants", "sync"])


def count_tenants():
    return db.session.scalar(select(func.count(Tenant.id)))


def test_shipped_tenants_sync_and_are_idempotent(app, ctx):
    first = sync(app, ROOT / "tenants")
    assert first.exit_code == 0, first.output
    assert sorted(first.stdout.split()) == sorted(
        ["adriatica:", "created", "azteca:", "created", "intertec:", "created"]
    )
    second = sync(app, ROOT / "tenants")
    assert second.exit_code == 0
    assert second.stdout.count("unchanged") == 3
    countries = {t.slug: t.country for t in db.session.scalars(select(Tenant))}
    assert countries == {"intertec": "CO", "adriatica": "IT", "azteca": "MX"}
    intertec = db.session.scalars(select(Tenant).where(Tenant.slug == "intertec")).one()
    assert intertec.logo_key.startswith(f"tenants/{intertec.id}/branding/logo-")
    assert get_storage().read(intertec.logo_key).startswith(b"<svg")
    assert intertec.default_locale == "es"
    with all_tenants():
        audits = db.session.scalars(select(AuditEvent.event)).all()
    assert audits.count("tenant.created") == 3 and "tenant.updated" not in audits


def test_changed_file_updates_the_tenant(app, ctx, tenants_dir):
    path = write_tenant(tenants_dir, "good", GOOD)
    assert sync(app, tenants_dir).exit_code == 0
    path.write_text(path.read_text().replace("#123456", "#abcdef"))
    result = sync(app, tenants_dir)
    assert result.stdout.strip() == "good: updated"
    tenant = db.session.scalars(select(Tenant)).one()
    db.session.refresh(tenant)
    assert tenant.primary_color == "#abcdef"


@pytest.mark.parametrize(
    "content, key, problem",
    [
        ('colour_scheme = "dark"\n' + GOOD, "colour_scheme", "unknown key"),
        (GOOD.replace('"Good One"', "42"), "name", "must be text, not a number"),
        (GOOD.replace('"CO"', '"FR"'), "country", "'FR' is not one of CO, IT, MX"),
        (GOOD.replace('["es", "en"]', '["es", "de"]'), "locales", "'de' has no translation"),
        (GOOD.replace("#123456", "blue"), "branding.primary_color", "'blue' is not a colour"),
        (GOOD.replace("logo.svg", "missing.svg"), "branding.logo", "does not exist"),
        ("password_max_age_days = true\n" + GOOD, "password_max_age_days", "whole number"),
        ('login_methods = ["sms"]\n' + GOOD, "login_methods", "'sms' is not one of"),
        (GOOD.replace('"300 3292"', '"call me"'), "support_phones[0].number", "not a phone"),
        ('domains = ["not a host"]\n' + GOOD, "domains", "is not a host name"),
        ('plan = "gold"\n' + GOOD, "plan", "'gold' is not one of"),
        ('tax_id = "900123456-7"\n' + GOOD, "tax_id", "has a wrong check digit"),
        ('tax_id = "H&E951128469"\n' + GOOD, "tax_id", "NIT"),  # a Mexican RFC, in CO
    ],
)
def test_bad_file_names_file_and_key_and_writes_nothing(
    app, ctx, tenants_dir, content, key, problem
):
    write_tenant(tenants_dir, "aaa-valid", GOOD)  # a good file beside it is not written either
    bad = write_tenant(tenants_dir, "bad", content)
    result = sync(app, tenants_dir)
    assert result.exit_code == 1
    line = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert str(bad) in line
    assert f": {key}: " in line
    assert problem in line
    assert "No tenant was changed." in result.stderr
    assert count_tenants() == 0
    assert not (
        app.config["STORAGE"]["root"]
        and list(__import__("pathlib").Path(app.config["STORAGE"]["root"]).glob("**/*.svg"))
    )


def test_every_problem_is_reported_at_once(app, ctx, tenants_dir):
    bad = "extra = 1\n" + GOOD.replace('"CO"', '"FR"').replace("#123456", "red")
    write_tenant(tenants_dir, "bad", bad)
    result = sync(app, tenants_dir)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3


def test_invalid_toml_and_svg_with_script_are_refused(app, ctx, tenants_dir):
    write_tenant(tenants_dir, "broken", "name = ")
    write_tenant(
        tenants_dir, "scripted", GOOD, logo=LOGO.replace("<rect", "<script>x()</script><rect")
    )
    result = sync(app, tenants_dir)
    assert result.exit_code == 1
    assert "broken/tenant.toml: not valid TOML" in result.stderr
    assert "branding.logo: 'logo.svg': an SVG may not contain scripts" in result.stderr
    assert count_tenants() == 0


def test_a_domain_cannot_belong_to_two_tenants(app, ctx, tenants_dir):
    write_tenant(tenants_dir, "one", 'domains = ["facturas.example.com"]\n' + GOOD)
    write_tenant(tenants_dir, "two", 'domains = ["FACTURAS.example.com"]\n' + GOOD)
    result = sync(app, tenants_dir)
    assert result.exit_code == 1
    assert "'facturas.example.com' is also a domain of 'one'" in result.stderr


def test_a_tax_id_belongs_to_one_tenant(app, ctx, tenants_dir):
    write_tenant(tenants_dir, "one", 'tax_id = "900.123.456-8"\n' + GOOD)
    write_tenant(tenants_dir, "two", 'tax_id = "9001234568"\n' + GOOD)
    result = sync(app, tenants_dir)
    assert result.exit_code == 1
    assert "'900123456-8' is also the tax id of 'one'" in result.stderr
    (tenants_dir / "two").rename(tenants_dir / "zzz-unused")
    shutil.rmtree(tenants_dir / "zzz-unused")
    assert sync(app, tenants_dir).exit_code == 0
    with all_tenants():
        assert db.session.scalars(select(Tenant.tax_id)).all() == ["900123456-8"]


def test_domains_are_updated_by_difference(app, ctx, tenants_dir):
    path = write_tenant(
        tenants_dir, "good", 'domains = ["a.example.com", "b.example.com"]\n' + GOOD
    )
    assert sync(app, tenants_dir).exit_code == 0
    path.write_text(
        path.read_text()
        .replace('"a.example.com", ', "")
        .replace('"b.example.com"', '"b.example.com", "c.example.com"')
    )
    assert sync(app, tenants_dir).stdout.strip() == "good: updated"
    tenant = db.session.scalars(select(Tenant)).one()
    db.session.refresh(tenant)
    with all_tenants():
        assert [d.host for d in tenant.domains] == ["b.example.com", "c.example.com"]


def test_missing_folder_is_an_error(app, ctx, tmp_path):
    result = sync(app, tmp_path / "nowhere")
    assert result.exit_code == 1
    assert "TENANTS_DIR is not a folder" in result.stderr


def test_shipped_tenant_files_are_valid_copies(tmp_path, app, ctx):
    # The demo tenants are what `make run` serves: they must stay valid.
    shutil.copytree(ROOT / "tenants", tmp_path / "copy")
    assert sync(app, tmp_path / "copy").exit_code == 0


@pytest.mark.parametrize(
    "svg, problem",
    [
        ('<svg xmlns="http://www.w3.org/2000/svg"><rect onclick="x()"/></svg>', "event handlers"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><image href="http://e/x.png"/></svg>', "link"),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><style>@import "//e/x.css";</style></svg>',
            "link",
        ),
        ('<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(//e/x)"/></svg>', "link"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>', "scripts"),
        ("<html/>", "not an SVG image"),
        ("x" * 10, "not a valid SVG"),
    ],
)
def test_logos_that_could_run_or_load_something_are_refused(svg, problem):
    from saas.tenancy.files import check_logo

    assert problem in check_logo(svg.encode(), ".svg")


def test_a_plain_logo_with_its_own_gradient_is_fine():
    from saas.tenancy.files import LOGO_MAX_BYTES, check_logo

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g"/></defs>'
        '<style>.a{fill:url(#g)}</style><rect class="a" style="stroke:url(#g)"/></svg>'
    )
    assert check_logo(svg.encode(), ".svg") is None
    assert check_logo(b"\x89PNG\r\n\x1a\n" + b"0" * 10, ".png") is None
    assert "larger than" in check_logo(b"\x89PNG\r\n\x1a\n" + b"0" * LOGO_MAX_BYTES, ".png")

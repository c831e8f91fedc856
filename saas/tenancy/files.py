"""Reading and checking tenant files: `tenants/<slug>/tenant.toml`.

A file is checked whole, by its pydantic model (saas.tenancy.settings_model.TenantFile,
the rules the Settings page applies too): every unknown key, wrong type or bad value is
reported with the file, the key and the problem, so an operator can fix them all in one
go.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from pydantic import ValidationError

from saas.tenancy.models import COUNTRIES
from saas.tenancy.settings_model import LOGIN_METHODS, TenantFile

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
LOGO_MAX_BYTES = 512 * 1024


@dataclass
class TenantSpec:
    """A checked tenant file, ready to be written."""

    slug: str
    path: Path
    values: dict
    domains: list[str]
    logo: bytes | None = None
    logo_content_type: str | None = None
    logo_ext: str | None = None
    # What works but may not be what the file meant (a sign-in method this server
    # cannot serve, while another one lets people in): said, not refused.
    warnings: list[str] = field(default_factory=list)

    @property
    def logo_digest(self) -> str | None:
        return hashlib.sha256(self.logo).hexdigest()[:16] if self.logo else None


@dataclass
class Problems:
    items: list[str] = field(default_factory=list)

    def add(self, path: Path, key: str | None, message: str) -> None:
        self.items.append(f"{path}: {key}: {message}" if key else f"{path}: {message}")


class TenantFileError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def catalog_locales(translations_dir: Path) -> set[str]:
    """English (the source language) and every language with a catalog."""
    found = {p.parent.parent.name for p in translations_dir.glob("*/LC_MESSAGES/messages.po")}
    return found | {"en"}


def tenant_files(tenants_dir: Path) -> list[Path]:
    """Every `<slug>/tenant.toml` under the folder, by slug."""
    return sorted(tenants_dir.glob("*/tenant.toml")) if tenants_dir.is_dir() else []


def load_tenant_files(
    tenants_dir: Path, translations_dir: Path, login_methods: frozenset[str] | None = None
) -> list[TenantSpec]:
    """Every tenant file under `tenants_dir`, checked; TenantFileError lists all problems.

    `login_methods`: the sign-in methods this server can serve
    (saas.config.configured_login_methods). A file whose methods are all unserved is
    refused, like any broken rule: synced, it would be a portal nobody can sign in to,
    not even its Administrators to repair it from Settings, and the sync is the moment
    an operator is there to fix the file or the server's configuration. A file that
    also lists a working method is synced with a warning (spec.warnings): people get
    in, and the unserved method appears once the server is configured for it.
    """
    problems = Problems()
    if not tenants_dir.is_dir():
        raise TenantFileError([f"{tenants_dir}: TENANTS_DIR is not a folder"])
    locales = catalog_locales(translations_dir)
    specs = []
    for path in tenant_files(tenants_dir):
        spec = check_tenant_file(path, locales, problems, login_methods)
        if spec is not None:
            specs.append(spec)
    seen: dict[str, str] = {}
    for spec in specs:
        for host in spec.domains:
            if host in seen:
                problems.add(spec.path, "domains", f"{host!r} is also a domain of {seen[host]!r}")
            seen[host] = spec.slug
    tax_ids: dict[tuple[str, str], str] = {}
    for spec in specs:
        tax_id = spec.values.get("tax_id")
        if tax_id is None:
            continue
        company = (spec.values["country"], tax_id)
        if company in tax_ids:
            problems.add(
                spec.path, "tax_id", f"{tax_id!r} is also the tax id of {tax_ids[company]!r}"
            )
        tax_ids[company] = spec.slug
    if problems.items:
        raise TenantFileError(problems.items)
    return specs


def check_tenant_file(
    path: Path, locales: set[str], problems: Problems, login_methods: frozenset[str] | None = None
) -> TenantSpec | None:
    start = len(problems.items)
    slug = path.parent.name
    if not SLUG_RE.match(slug):
        problems.add(path, None, f"folder name {slug!r} is not a slug (a-z, 0-9 and -)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        problems.add(path, None, f"not valid TOML: {error}")
        return None
    try:
        checked = TenantFile.model_validate(
            data, context={"locales": locales, "login_methods": login_methods}
        )
    except ValidationError as error:
        for key, message in file_problems(error):
            problems.add(path, key, message)
        checked = None
    spec = None
    if checked is not None:
        currency, default_tz, _label = COUNTRIES[checked.country]
        values = checked.model_dump(exclude={"branding", "domains"})
        values["currency"] = currency
        values["timezone"] = checked.timezone or default_tz
        values["primary_color"] = checked.branding.primary_color
        values["accent_color"] = checked.branding.accent_color
        spec = TenantSpec(slug=slug, path=path, values=values, domains=checked.domains)
        unserved = [m for m in checked.login_methods if m not in (login_methods or LOGIN_METHODS)]
        if unserved:
            spec.warnings.append(
                f"{path}: login_methods: {', '.join(unserved)} is not configured on this "
                "server (Google needs GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET); the "
                "sign-in page leaves it out until it is"
            )
    branding = data.get("branding")
    logo_name = branding.get("logo") if isinstance(branding, dict) else None
    if isinstance(logo_name, str) and logo_name.strip():
        # Checked even when other keys are wrong, so that one run reports everything.
        spec = spec or TenantSpec(slug=slug, path=path, values={}, domains=[])
        _load_logo(spec, path.parent, logo_name.strip(), problems)
    return spec if len(problems.items) == start else None


def file_problems(error: ValidationError) -> list[tuple[str, str]]:
    """(key, message) of each broken rule, with the key as the file writes it
    (`branding.primary_color`, `support_phones[0].number`); a wrong item of a list of
    values is reported on the list (`login_methods`)."""
    found = []
    for problem in error.errors(include_url=False):
        loc = list(problem["loc"])
        if len(loc) > 1 and isinstance(loc[-1], int) and problem["type"] != "model_type":
            loc.pop()
        key = ""
        for part in loc:
            key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else str(part)
        found.append((key, _message(problem)))
    return found


_KINDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "list_type": "a list",
    "model_type": "a table",
    "dict_type": "a table",
}


def _message(problem) -> str:
    kind = problem["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in _KINDS:
        return f"must be {_KINDS[kind]}, not {_type(problem['input'])}"
    if kind == "string_too_long":
        return f"is longer than {problem['ctx']['max_length']} characters"
    return problem["msg"]  # the rule's own message (saas.tenancy.settings_model)


def _load_logo(spec: TenantSpec, folder: Path, name: str, problems: Problems) -> None:
    logo = (folder / name).resolve()
    ext = logo.suffix.lower()
    if logo.parent != folder.resolve():
        problems.add(spec.path, "branding.logo", f"{name!r} must be a file in {folder}")
    elif ext not in LOGO_TYPES:
        problems.add(spec.path, "branding.logo", f"{name!r} must be an .svg or .png file")
    elif not logo.is_file():
        problems.add(spec.path, "branding.logo", f"file {name!r} does not exist in {folder}")
    else:
        data = logo.read_bytes()
        problem = check_logo(data, ext)
        if problem:
            problems.add(spec.path, "branding.logo", f"{name!r}: {problem}")
        else:
            spec.logo, spec.logo_content_type, spec.logo_ext = data, LOGO_TYPES[ext], ext


def check_logo(data: bytes, ext: str) -> str | None:
    """Why a logo cannot be used, or None. SVGs may not carry scripts or external links."""
    if len(data) > LOGO_MAX_BYTES:
        return f"larger than {LOGO_MAX_BYTES // 1024} KiB"
    if ext == ".png":
        return None if data.startswith(b"\x89PNG\r\n\x1a\n") else "not a PNG image"
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        return "an SVG may not have a DOCTYPE or entities"
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        return f"not a valid SVG: {error}"
    if etree.QName(root).localname != "svg":
        return "not an SVG image"
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if etree.QName(element).localname in ("script", "foreignObject"):
            return "an SVG may not contain scripts"
        for attr, value in element.attrib.items():
            if etree.QName(attr).localname.lower().startswith("on"):
                return "an SVG may not contain event handlers"
            if "href" in attr and not value.startswith("#"):
                return "an SVG may not link to other files"
        # CSS may load files too: in a <style> element or a style attribute.
        css = (
            " ".join([element.text or ""] if etree.QName(element).localname == "style" else [])
            + " "
            + element.attrib.get("style", "")
        )
        if _EXTERNAL_CSS.search(css):
            return "an SVG may not link to other files"
    return None


# url(...) that is not a fragment of the same image, and @import.
_EXTERNAL_CSS = re.compile(r"@import|url\(\s*(?![\s'\"]*#)", re.IGNORECASE)


def _type(value) -> str:
    return {
        str: "text",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)

"""Reading and checking tenant files: `tenants/<slug>/tenant.toml`.

A file is checked whole: every unknown key, wrong type or bad value is reported with
the file, the key and the problem, so an operator can fix them all in one go.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from lxml import etree

from saas.branding import is_color
from saas.plans import PLANS
from saas.tenancy.models import COUNTRIES
from saas.validation import MAX_SUPPORT_PHONES, has_control_characters, is_phone_number

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HOST_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LOGIN_METHODS = ("password", "magic_link", "google")
PASSWORD_RESETS = ("tax_id", "email")
ONBOARDINGS = ("two_emails", "set_password_link")
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
LOGO_MAX_BYTES = 512 * 1024

TOP_KEYS = {
    "name",
    "country",
    "locales",
    "login_methods",
    "password_reset",
    "onboarding",
    "password_max_age_days",
    "magic_link_minutes",
    "plan",
    "domains",
    "timezone",
    "branding",
    "support_phones",
}
BRANDING_KEYS = {"primary_color", "accent_color", "logo"}
PHONE_KEYS = {"label", "number"}


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


def load_tenant_files(tenants_dir: Path, translations_dir: Path) -> list[TenantSpec]:
    """Every tenant file under `tenants_dir`, checked; TenantFileError lists all problems."""
    problems = Problems()
    if not tenants_dir.is_dir():
        raise TenantFileError([f"{tenants_dir}: TENANTS_DIR is not a folder"])
    locales = catalog_locales(translations_dir)
    specs = []
    for path in sorted(tenants_dir.glob("*/tenant.toml")):
        spec = check_tenant_file(path, locales, problems)
        if spec is not None:
            specs.append(spec)
    seen: dict[str, str] = {}
    for spec in specs:
        for host in spec.domains:
            if host in seen:
                problems.add(spec.path, "domains", f"{host!r} is also a domain of {seen[host]!r}")
            seen[host] = spec.slug
    if problems.items:
        raise TenantFileError(problems.items)
    return specs


def check_tenant_file(path: Path, locales: set[str], problems: Problems) -> TenantSpec | None:
    start = len(problems.items)
    slug = path.parent.name
    if not SLUG_RE.match(slug):
        problems.add(path, None, f"folder name {slug!r} is not a slug (a-z, 0-9 and -)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        problems.add(path, None, f"not valid TOML: {error}")
        return None
    c = _Checker(path, data, problems)
    for key in sorted(set(data) - TOP_KEYS):
        problems.add(path, key, "unknown key")

    country = c.choice("country", tuple(COUNTRIES), required=True)
    currency, default_tz, _label = COUNTRIES.get(country, ("EUR", "UTC", ""))
    values = {
        "name": c.text("name", required=True, max_length=200),
        "country": country,
        "currency": currency,
        "locales": c.text_list("locales", default=None, required=True, allowed=locales),
        "login_methods": c.text_list("login_methods", default=["password"], allowed=LOGIN_METHODS),
        "password_reset": c.choice("password_reset", PASSWORD_RESETS, default="email"),
        "onboarding": c.choice("onboarding", ONBOARDINGS, default="two_emails"),
        "password_max_age_days": c.integer("password_max_age_days", 0, 0, 3650),
        "magic_link_minutes": c.integer("magic_link_minutes", 30, 1, 1440),
        "plan": c.choice("plan", tuple(PLANS), default="basic"),
        "timezone": c.timezone("timezone", default_tz),
    }
    domains = [h.lower() for h in c.text_list("domains", default=[])]
    for host in domains:
        if not HOST_RE.match(host):
            problems.add(path, "domains", f"{host!r} is not a host name")

    branding = c.table("branding", BRANDING_KEYS, required=True)
    b = _Checker(path, branding, problems, prefix="branding.")
    values["primary_color"] = b.color("primary_color", required=True)
    values["accent_color"] = b.color("accent_color")
    logo_name = b.text("logo")
    values["support_phones"] = _phones(c, path, problems, locales)

    spec = TenantSpec(slug=slug, path=path, values=values, domains=domains)
    if logo_name:
        _load_logo(spec, path.parent, logo_name, problems)
    return spec if len(problems.items) == start else None


def _phones(c: _Checker, path: Path, problems: Problems, locales: set[str]) -> list[dict]:
    phones: list[dict] = []
    raw = c.data.get("support_phones", [])
    if not isinstance(raw, list):
        problems.add(path, "support_phones", "must be a list of [[support_phones]] tables")
        return phones
    if len(raw) > MAX_SUPPORT_PHONES:
        problems.add(path, "support_phones", f"has {len(raw)} phones; at most {MAX_SUPPORT_PHONES}")
    for i, entry in enumerate(raw):
        key = f"support_phones[{i}]"
        if not isinstance(entry, dict):
            problems.add(path, key, "must be a table with label and number")
            continue
        for extra in sorted(set(entry) - PHONE_KEYS):
            problems.add(path, f"{key}.{extra}", "unknown key")
        label, number = entry.get("label"), entry.get("number")
        if isinstance(label, dict):
            bad = sorted(set(label) - locales)
            if bad or not all(isinstance(v, str) and v.strip() for v in label.values()):
                problems.add(path, f"{key}.label", "must map languages with catalogs to text")
        elif not (isinstance(label, str) and label.strip()):
            problems.add(path, f"{key}.label", "must be text, or a table of language = text")
        if not is_phone_number(number):
            problems.add(path, f"{key}.number", f"{number!r} is not a phone number")
        phones.append({"label": label, "number": number})
    return phones


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


class _Checker:
    """Typed reads of one TOML table that record problems instead of raising."""

    def __init__(self, path: Path, data: dict, problems: Problems, prefix: str = ""):
        self.path, self.data, self.problems, self.prefix = path, data, problems, prefix

    def _problem(self, key: str, message: str) -> None:
        self.problems.add(self.path, self.prefix + key, message)

    def _get(self, key, required):
        if key not in self.data:
            if required:
                self._problem(key, "is required")
            return None
        return self.data[key]

    def text(self, key, required=False, max_length=500):
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self._problem(key, f"must be text, not {_type(value)}")
            return None
        if len(value) > max_length:
            self._problem(key, f"is longer than {max_length} characters")
        if has_control_characters(value):
            # It may reach an email header (the tenant's name is the sender's name).
            self._problem(key, "must be on one line, without control characters")
        return value.strip()

    def choice(self, key, options, required=False, default=None):
        value = self._get(key, required)
        if value is None:
            return default
        if value not in options:
            self._problem(key, f"{value!r} is not one of {', '.join(options)}")
            return default
        return value

    def integer(self, key, default, low, high):
        value = self._get(key, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self._problem(key, f"must be a whole number, not {_type(value)}")
            return default
        if not low <= value <= high:
            self._problem(key, f"{value} is not between {low} and {high}")
        return value

    def text_list(self, key, default, required=False, allowed=None):
        value = self._get(key, required)
        if value is None:
            return default if default is not None else []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self._problem(key, f"must be a list of text, not {_type(value)}")
            return default if default is not None else []
        if required and not value:
            self._problem(key, "must not be empty")
        if len(set(value)) != len(value):
            self._problem(key, "has the same entry twice")
        if allowed is not None:
            for item in value:
                if item not in allowed:
                    if key == "locales":
                        self._problem(key, f"{item!r} has no translation catalog")
                    else:
                        self._problem(key, f"{item!r} is not one of {', '.join(sorted(allowed))}")
        return value

    def color(self, key, required=False):
        value = self._get(key, required)
        if value is None:
            return None
        if not is_color(value):
            self._problem(key, f"{value!r} is not a colour; use #rrggbb")
            return None
        return value.lower()

    def timezone(self, key, default):
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, str) or value not in available_timezones():
            self._problem(key, f"{value!r} is not a time zone such as Europe/Rome")
            return default
        ZoneInfo(value)
        return value

    def table(self, key, keys, required=False):
        value = self._get(key, required)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._problem(key, f"must be a table, not {_type(value)}")
            return {}
        for extra in sorted(set(value) - keys):
            self._problem(f"{key}.{extra}", "unknown key")
        return value


def _type(value) -> str:
    return {
        str: "text",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)

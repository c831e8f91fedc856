"""One colour rule and one phone rule: the console's Settings page and the tenant files
(`flask tenants sync`) refuse and accept the same values. They used to drift: the files
took `#abc`, and a phone number one or two characters longer than the page did."""

import json
import textwrap

import pytest

from saas.tenancy.files import Problems, catalog_locales, check_tenant_file
from tests.auth.conftest import csrf_from
from tests.conftest import ROOT
from tests.console.test_console import settings_data, staff_client
from tests.html import field_error, problems

COLOURS_ACCEPTED = ["#0b5394", "#0B5394", "#7a1f5c"]
COLOURS_REFUSED = ["#abc", "#0b53945", "0b5394", "blue", "#0b539g", "#0b5394\n", " #0b5394"]
PHONES_ACCEPTED = ["300 3292", "+57 601 743 0000", "601.555-01", "+" + "1" * 29, "1" * 30]
# Spaces around a number are not in the list: the page strips what was typed, a file's
# value is taken as written.
PHONES_REFUSED = ["call me", "12", "+12", "(601) 555", "+" + "1" * 30, "1" * 31, "300\n3292"]


def tenant_file(tmp_path, primary="#0b5394", phones=("300 3292",)):
    folder = tmp_path / "good"
    folder.mkdir(exist_ok=True)
    rows = "".join(
        f'[[support_phones]]\nlabel = "Line {i}"\nnumber = {json.dumps(number)}\n'
        for i, number in enumerate(phones)
    )
    path = folder / "tenant.toml"
    path.write_text(
        textwrap.dedent(
            """\
            name = "Good One"
            country = "CO"
            locales = ["es", "en"]
            [branding]
            primary_color = {primary}
            """
        ).format(primary=json.dumps(primary))
        + rows
    )
    problems = Problems()
    spec = check_tenant_file(path, catalog_locales(ROOT / "translations"), problems)
    return spec, problems.items


@pytest.mark.parametrize("colour", COLOURS_ACCEPTED)
def test_a_tenant_file_accepts_the_colours_the_page_accepts(tmp_path, colour):
    spec, problems = tenant_file(tmp_path, primary=colour)
    assert problems == [] and spec.values["primary_color"] == colour.lower()


@pytest.mark.parametrize("colour", COLOURS_REFUSED)
def test_a_tenant_file_refuses_the_colours_the_page_refuses(tmp_path, colour):
    spec, problems = tenant_file(tmp_path, primary=colour)
    assert spec is None and len(problems) == 1
    assert ": branding.primary_color: " in problems[0] and "is not a colour" in problems[0]


@pytest.mark.parametrize("number", PHONES_ACCEPTED)
def test_a_tenant_file_accepts_the_phones_the_page_accepts(tmp_path, number):
    spec, problems = tenant_file(tmp_path, phones=[number])
    assert problems == [] and spec.values["support_phones"][0]["number"] == number


@pytest.mark.parametrize("number", PHONES_REFUSED)
def test_a_tenant_file_refuses_the_phones_the_page_refuses(tmp_path, number):
    spec, problems = tenant_file(tmp_path, phones=[number])
    assert spec is None and len(problems) == 1
    assert ": support_phones[0].number: " in problems[0] and "not a phone" in problems[0]


def test_a_tenant_file_has_at_most_five_phones_like_the_page(tmp_path):
    spec, problems = tenant_file(tmp_path, phones=[f"300 329{i}" for i in range(5)])
    assert problems == []
    spec, problems = tenant_file(tmp_path, phones=[f"300 329{i}" for i in range(6)])
    path = tmp_path / "good" / "tenant.toml"
    assert spec is None and problems == [f"{path}: support_phones: has 6 phones; at most 5"]


def test_the_settings_page_accepts_and_refuses_the_same(app, tenants):
    client = staff_client(app, tenants, "admin")
    url = "/t/intertec/console/settings?lang=en"

    def post(**changes):
        page = client.get(url)
        return client.post(url, data=settings_data(page.text, **changes))

    for colour in COLOURS_ACCEPTED:
        assert post(primary_color=colour).status_code == 303, colour
        assert post(accent_color=colour).status_code == 303, colour
    for colour in COLOURS_REFUSED:
        for field in ("primary_color", "accent_color"):
            refused = post(**{field: colour})
            assert refused.status_code == 422, (field, colour)
            assert field_error(refused, field) == "Use a colour such as #0b5394.", (field, colour)
    for number in PHONES_ACCEPTED:
        assert post(phone_label=["Line", ""], phone_number=[number, ""]).status_code == 303
    for number in PHONES_REFUSED:
        refused = post(phone_label=["Line", ""], phone_number=[number, ""])
        assert refused.status_code == 422, number
        assert any(p.endswith("is not a phone number.") for p in problems(refused)), number
    numbers = [f"300 329{i}" for i in range(6)]
    assert post(phone_label=["Line"] * 5, phone_number=numbers[:5]).status_code == 303
    refused = post(phone_label=["Line"] * 6, phone_number=numbers)
    assert refused.status_code == 422 and "At most 5 support phones." in problems(refused)


def test_the_preview_takes_only_colours_by_the_same_rule(app, tenants):
    client = staff_client(app, tenants, "admin")
    token = csrf_from(client.get("/t/intertec/console/settings?lang=en").text)
    for colour, shown in [("#0B5394", True), ("#abc", False), ("#0b5394\n", False)]:
        preview = client.post(
            "/t/intertec/console/settings/preview?lang=en",
            data={"csrf_token": token, "primary_color": colour},
            headers={"HX-Request": "true"},
        )
        assert ("Contrast:" in preview.text) is shown, colour

"""Every UI and email string is translated to Spanish and Italian."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import ROOT

LANGUAGES = ("es", "it")


def catalog(lang):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_no_empty_or_fuzzy_entries(lang):
    problems = []
    for message in catalog(lang):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(strings):
            problems.append(f"empty: {message.id!r}")
    assert problems == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_survive_translation(lang):
    import re

    for message in catalog(lang):
        if message.id and isinstance(message.id, str):
            wanted = sorted(re.findall(r"%\(\w+\)s", message.id))
            assert sorted(re.findall(r"%\(\w+\)s", message.string)) == wanted, message.id


def test_every_string_in_the_source_is_in_the_catalogs(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(pot, "rb") as f:
        source = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert len(source) > 20
    for lang in LANGUAGES:
        translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(lang) if m.id}
        missing = sorted(source - translated)
        assert missing == [], f"run `make i18n` and translate these in {lang}: {missing}"

"""Every Japanese message catalog is complete: no entry left fuzzy (``msgfmt`` leaves those out,
so the reader sees English) and none untranslated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

# The project's catalogs only (a virtualenv inside the checkout holds other packages' catalogs).
CATALOGS = sorted(
    [
        Path(settings.BASE_DIR) / "locale/ja/LC_MESSAGES/django.po",
        *Path(settings.BASE_DIR).glob("apps/*/locale/ja/LC_MESSAGES/django.po"),
    ]
)


def incomplete_entries(text: str) -> list[str]:
    """The msgids of entries that are fuzzy or have an empty translation (the header aside)."""
    found = []
    for block in text.split("\n\n"):
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if msgid is None or block.lstrip().startswith("#~"):
            continue
        name = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', msgid.group(1)))
        if not name:
            continue
        translations = re.findall(r'^msgstr(?:\[\d+\])? ((?:".*"\n?)+)', block, re.M)
        fuzzy = re.search(r"^#,.*\bfuzzy\b", block, re.M)
        empty = not translations or any(
            not "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', chunk)) for chunk in translations
        )
        if fuzzy or empty:
            found.append(name)
    return found


@pytest.mark.parametrize("path", CATALOGS, ids=[str(p.relative_to(settings.BASE_DIR)) for p in CATALOGS])
def test_the_japanese_catalog_has_no_fuzzy_or_untranslated_entry(path: Path) -> None:
    assert incomplete_entries(path.read_text(encoding="utf-8")) == []


def test_both_japanese_catalogs_are_checked() -> None:
    assert {str(p.relative_to(settings.BASE_DIR)) for p in CATALOGS} >= {
        "locale/ja/LC_MESSAGES/django.po",
        "apps/web/locale/ja/LC_MESSAGES/django.po",
    }


def test_a_fuzzy_and_an_empty_entry_are_found() -> None:
    text = '#, fuzzy\nmsgid "per quarter"\nmsgstr "年額"\n\nmsgid "free"\nmsgstr ""\n\nmsgid "Paid"\nmsgstr "支払済み"\n'

    assert incomplete_entries(text) == ["per quarter", "free"]

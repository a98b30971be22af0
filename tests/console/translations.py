"""What a Japanese console page must not show: the strings of the project's English catalog that
have a Japanese translation, found in the text a reader sees (``test_japanese_complete`` on the
server's HTML, ``test_e2e_layout`` in the browser)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"


def catalog(path: Path) -> dict[str, str]:
    """``msgid: msgstr`` of a .po file (plural entries by their singular; contexts ignored)."""
    entries: dict[str, str] = {}
    text = path.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        msgstr = re.search(r'^msgstr(?:\[0\])? ((?:".*"\n?)+)', block, re.M)
        if msgid and msgstr:
            unquote = lambda chunk: "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', chunk))  # noqa: E731
            entries[unquote(msgid.group(1)).replace('\\"', '"')] = unquote(msgstr.group(1))
    entries.pop("", None)
    return entries


class Texts(HTMLParser):
    """The text a reader sees: text nodes and labelling attributes, outside scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        attributes = dict(attrs)
        for name in ("title", "placeholder", "aria-label", "alt"):
            if attributes.get(name):
                self.texts.append(str(attributes[name]))
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.texts.append(str(attributes["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def untranslated(html: str, english: set[str]) -> list[str]:
    parser = Texts()
    parser.feed(html)
    found = []
    for text in parser.texts:
        for candidate in (text, text.rstrip(":").strip()):
            if candidate in english:
                found.append(candidate)
                break
    return sorted(set(found))


def english_strings() -> set[str]:
    """English catalog strings a Japanese page must not show: those with a Japanese translation
    that differs (brand names and codes such as "SLA" or "Salesforce ID" read the same)."""
    japanese = catalog(LOCALE / "ja" / "LC_MESSAGES" / "django.po")
    english = catalog(LOCALE / "en" / "LC_MESSAGES" / "django.po")
    return {
        msgid
        for msgid in english
        if re.search(r"[A-Za-z]{2}", msgid)
        and japanese.get(msgid, "") not in ("", msgid)
        and "%" not in msgid
    } | {msgid for msgid in english if re.search(r"[A-Za-z]{3}", msgid) and not japanese.get(msgid)}

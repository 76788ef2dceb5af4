"""The page's own words come from one locale file per language (stepthrough/site/locales/).

Specifications:
- no template or page script holds a user-visible English phrase of its own: it asks the locale
  for it by key (`t("key")` in templates, `Stepthrough.t("key")` in scripts), and every key it
  asks for is in the English file;
- every other locale file has the English file's keys, and each phrase keeps the same {slots};
- `language = "es"` picks the Spanish file, `<html lang="es">`; a phrase the file lacks is shown in
  English and the build warns (`--strict` then exits 2); a right-to-left language gets dir="rtl".
"""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path
from typing import ClassVar

import pytest

from stepthrough import locale
from stepthrough.site.build import TEMPLATES
from stepthrough.widgets import WIDGETS

ENGLISH = json.loads((locale.LOCALES / "en.json").read_text(encoding="utf-8"))
TEMPLATE_FILES = sorted(TEMPLATES.glob("*.html")) + sorted(
    p for w in WIDGETS.values() for p in w.folder.glob("*.html")
)
SCRIPT_FILES = sorted((TEMPLATES / "static").glob("*.js")) + sorted(w.script for w in WIDGETS.values())

# Files whose words are not in the locale files yet: none (each left this list when it was converted,
# and the scan below then held it to the rule). A new file belongs here only while it is converted.
NOT_YET: set[str] = set()
# Text that is not a phrase: symbols, units and names that read the same in every language.
NOT_PHRASES = {"×", "→", "·", "%", "/", "+", "−", "=", "‹", "›", "✓", "✗", "↑", "↓"}
LETTERS = re.compile(r"[A-Za-z]{2,}")


def _scanned(files: list[Path]) -> list[Path]:
    return [p for p in files if p.name not in NOT_YET]


class _Text(html.parser.HTMLParser):
    """Text nodes and the attributes a reader sees or hears, outside <script> and <style>."""

    SPOKEN: ClassVar[set[str]] = {
        "aria-label",
        "title",
        "alt",
        "placeholder",
        "aria-valuetext",
        "aria-description",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        self.found += [value for name, value in attrs if name in self.SPOKEN and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.found.append(data)


def visible_text(template: str) -> list[str]:
    """What a template shows or reads aloud of its own, with Jinja's parts taken out."""
    template = re.sub(r"\{#.*?#\}", " ", template, flags=re.DOTALL)
    template = re.sub(r"\{%-?\s*(macro|set \w+ = \{).*?(endmacro|\}\s*)-?%\}", " ", template, flags=re.DOTALL)
    template = re.sub(r"\{% block main_attributes %\}.*?\{% endblock %\}", " ", template)  # attributes
    template = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", template, flags=re.DOTALL)
    parser = _Text()
    parser.feed(template)
    return [" ".join(text.split()) for text in parser.found if text.strip()]


def phrases_in(text: str) -> list[str]:
    return [text] if LETTERS.search(text) and text not in NOT_PHRASES else []


@pytest.mark.parametrize("path", _scanned(TEMPLATE_FILES), ids=lambda p: p.name)
def test_a_template_shows_no_english_phrase_of_its_own(path):
    text = path.read_text(encoding="utf-8")
    if path.name == "macros.html":
        return  # CSS and data scripts only
    found = [phrase for piece in visible_text(text) for phrase in phrases_in(piece)]
    assert not found, f"{path.name} holds words the locale should hold: {found}"


# Where a script puts text on the page or in a screen reader's ear.
SINKS = re.compile(
    r"textContent\s*=|innerText\s*=|innerHTML\s*=|\.title\s*=|\.alt\s*=|placeholder\s*=|"
    r"setAttribute\(\s*\"(aria-label|aria-valuetext|title|alt|placeholder)\"|\.say\(|alert\(|confirm\(|"
    r"\bel\(|\bbutton\(|\.append\("  # present.js: el(tag, class, text), button(label, action, title, keys)
)
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
KEYS = {"PageUp", "PageDown", "ArrowLeft", "ArrowRight", "Shift+Space", "Space", "Escape", "N", "W", "T"}
KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


def statements(script: str) -> list[str]:
    script = re.sub(r"/\*.*?\*/", " ", script, flags=re.DOTALL)
    script = re.sub(r"(^|\s)//[^\n]*", " ", script)
    return script.split(";")


@pytest.mark.parametrize("path", _scanned(SCRIPT_FILES), ids=lambda p: p.name)
def test_a_script_writes_no_english_phrase_of_its_own(path):
    found = []
    for statement in statements(path.read_text(encoding="utf-8")):
        if not SINKS.search(statement):
            continue
        for literal in STRING.findall(statement):
            if KEY.match(literal) or not LETTERS.search(literal):
                continue  # a phrase's key, a class name, an empty string, a symbol
            if re.fullmatch(r"[\w.#\[\]=\"'-]+", literal) and " " not in literal:
                continue  # a selector or an attribute's name
            if set(literal.split()) <= KEYS:
                continue  # aria-keyshortcuts
            if re.fullmatch(r"[a-z-]+( [a-z-]+)*", literal) and "-" in literal:
                continue  # class names
            found.append(literal)
    assert not found, f"{path.name} writes words the locale should hold: {found}"


def _keys_asked(pattern: str, files: list[Path]) -> set[str]:
    return {key for path in files for key in re.findall(pattern, path.read_text(encoding="utf-8"))}


def test_every_phrase_a_template_asks_for_is_in_the_english_file():
    asked = _keys_asked(r"\bt\(\s*\"([\w.]+)\"", TEMPLATE_FILES)
    assert asked, 'the templates ask for their words with t("key")'
    prefixes = {key for key in asked if key.endswith(".")}  # t("param." ~ key): a family of phrases
    assert asked - prefixes - ENGLISH["page"].keys() == set()
    assert all(any(k.startswith(p) for k in ENGLISH["page"]) for p in prefixes)


def test_every_phrase_a_script_asks_for_is_in_the_english_file():
    asked = _keys_asked(r"\b(?:Stepthrough\.t|T)\(\s*\"([\w.]+)\"", SCRIPT_FILES)
    # keys chosen by a condition: T(cond ? "a" : "b"), T({ ...: "a" }[view])
    asked |= _keys_asked(r"\?\s*\"([a-z_]+\.[\w.]+)\"\s*:\s*\"[\w.]+\"", SCRIPT_FILES)
    asked |= _keys_asked(r":\s*\"([a-z_]+\.[a-z_]+)\"", SCRIPT_FILES) & {
        k for k in ENGLISH["script"] if "." in k
    } | _keys_asked(r"\?\s*\"([a-z]+\.[a-z_]+)\"", SCRIPT_FILES)
    assert asked, 'the scripts ask for their words with Stepthrough.t("key")'
    assert asked - ENGLISH["script"].keys() == set()


@pytest.mark.parametrize("code", [c for c in locale.shipped() if c != "en"])
def test_a_locale_file_has_every_english_phrase_with_the_same_slots(code):
    mine = json.loads((locale.LOCALES / f"{code}.json").read_text(encoding="utf-8"))
    assert mine["language"]["dir"] == locale.direction(code)
    for part in locale.PARTS:
        assert mine[part].keys() == ENGLISH[part].keys(), f"{code}: {part} keys differ from English"
        for key, english in ENGLISH[part].items():
            phrase = mine[part][key]
            assert locale.slots(phrase) == locale.slots(english), f"{code} {part}.{key}: slots differ"
            if isinstance(phrase, dict):
                assert "other" in phrase and set(phrase) <= {"zero", "one", "two", "few", "many", "other"}


def test_numbers_and_plurals_follow_the_language():
    assert locale.number("en", 65536) == "65,536"
    assert locale.number("es", 65536) == "65.536"
    assert locale.number("es", 4096) == "4096"  # Spanish groups from five digits
    assert locale.number("es", 0.25, 2) == "0,25"
    assert locale.number("ar", 1234) == "١٬٢٣٤"
    assert [locale.plural_category("ar", n) for n in (0, 1, 2, 3, 11, 100)] == [
        "zero",
        "one",
        "two",
        "few",
        "many",
        "other",
    ]
    assert locale.plural_category("fr", 0) == "one"
    assert locale.plural_category("en", 0) == "other"


def test_right_to_left_languages():
    assert [locale.direction(c) for c in ("ar", "he", "fa-IR", "ur", "es", "en")] == [
        "rtl",
        "rtl",
        "rtl",
        "rtl",
        "ltr",
        "ltr",
    ]


def test_each_script_phrase_belongs_to_a_script_that_ships():
    """A page carries the shared phrases and those of its own scripts ("stepper.status": stepper.js)."""
    names = {path.name for path in SCRIPT_FILES}
    for key in ENGLISH["script"]:
        if "." in key:
            prefix = key.split(".")[0]
            assert locale.SCRIPT_OF.get(prefix, prefix + ".js") in names, key


def test_the_phrase_helpers_shadow_no_other_helper_of_common_js():
    """Stepthrough.t's number formatting once replaced Stepthrough.number, the link reader."""
    names = re.findall(
        r"^  function (\w+)\(", (TEMPLATES / "static" / "common.js").read_text(encoding="utf-8"), re.MULTILINE
    )
    assert "t" in names and len(names) == len(set(names))

"""The default explainer in Spanish (stepthrough/default_content/es/) is the English one with only its
words translated: every section there, with the same widgets, prompts, seeds, ids and claims."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from stepthrough.site.claims import CLAIMS, claim_words

ENGLISH = Path(__file__).parent.parent / "stepthrough" / "default_content"
SPANISH = ENGLISH / "es"
ENGLISH_FILES = sorted(p.name for p in (ENGLISH / "sections").glob("*.md"))

# Where the front matter holds words for the reader: these may (and should) differ. A path is the
# keys from the top, "*" for any list item or any key; "KEYS" marks a mapping whose keys are words
# (an embedding map's group names, the room's tally questions): its values must still match in order.
TEXT = {
    ("title",),
    ("caption",),
    ("present", "*"),
    ("settings", "notes", "*"),
    ("workshop", "title"),
    ("workshop", "lenses", "*", "name"),
    ("workshop", "lenses", "*", "about"),
    ("workshop", "lenses", "*", "questions", "*"),
    ("workshop", "debrief", "*"),
    ("workshop", "sequence", "*", "title"),
    ("workshop", "sequence", "*", "do"),
    ("workshop", "sequence", "*", "ask", "*"),
    ("workshop", "room", "ask"),
    ("workshop", "room", "count", "*", "*"),
    ("workshop", "notes"),
}
KEYS = {("settings", "groups"), ("workshop", "room", "count")}


def front_matter(path: Path) -> tuple[dict[str, Any], str]:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    assert match, f"{path}: no front matter"
    return yaml.safe_load(match[1]), match[2]


def _matches(path: tuple[str, ...], patterns: set[tuple[str, ...]]) -> bool:
    return any(len(p) == len(path) and all(a in ("*", b) for a, b in zip(p, path, strict=True)) for p in patterns)


def shape(node: Any, path: tuple[str, ...] = ()) -> Any:
    """The front matter with every reader's word replaced by "<text>": what must not change."""
    if _matches(path, TEXT):
        assert isinstance(node, str) and node.strip(), f"{'.'.join(path)} should be words"
        return "<text>"
    if isinstance(node, dict):
        if _matches(path, KEYS):
            return [shape(value, (*path, "*")) for value in node.values()]
        return {key: shape(value, (*path, str(key))) for key, value in node.items()}
    if isinstance(node, list):
        return [shape(item, (*path, "*")) for item in node]
    return node


def test_every_english_section_has_a_spanish_one_and_no_other():
    assert ENGLISH_FILES, "no English sections found"
    assert sorted(p.name for p in (SPANISH / "sections").glob("*.md")) == ENGLISH_FILES


@pytest.mark.parametrize("name", ENGLISH_FILES)
def test_a_spanish_section_differs_from_the_english_one_only_in_its_words(name):
    english, english_body = front_matter(ENGLISH / "sections" / name)
    spanish, spanish_body = front_matter(SPANISH / "sections" / name)
    assert shape(spanish) == shape(english)
    assert spanish["title"] != english["title"] and spanish_body.strip() and spanish_body != english_body


def test_the_shape_check_catches_a_changed_prompt_seed_or_widget():
    english, _ = front_matter(ENGLISH / "sections" / "30-step-through.md")
    for key, value in [("widget", "compare"), ("sweep", {**english["sweep"], "seeds": [8]})]:
        assert shape({**english, key: value}) != shape(english)
    translated = {**english["sweep"], "prompts": ["un médico", *english["sweep"]["prompts"][1:]]}
    assert shape({**english, "sweep": translated}) != shape(english)
    assert shape({**english, "title": "Otro título"}) == shape(english)


def test_the_spanish_practice_page_asks_the_same_exercises():
    english, _ = front_matter(ENGLISH / "practice.md")
    spanish, body = front_matter(SPANISH / "practice.md")
    assert list(spanish) == list(english) and body.strip()
    for key in ("questions", "order", "flashcards"):
        assert len(spanish[key]) == len(english[key]), key
    assert set(spanish["predict"]) == set(english["predict"])


def test_the_spanish_notes_claim_what_the_english_ones_claim():
    """The claims checker reads the same claim in each language's note, so a note true in English is
    checked in Spanish too (stepthrough/site/claims.py)."""

    def claim(note: str, words: dict[str, str]) -> str | None:
        return next((english for word, english in words.items() if word in note.lower()), None)

    checked = 0
    for name in ENGLISH_FILES:
        notes = (front_matter(ENGLISH / "sections" / name)[0].get("settings") or {}).get("notes") or {}
        spanish = front_matter(SPANISH / "sections" / name)[0]["settings"].get("notes", {}) if notes else {}
        for key, note in notes.items():
            said = claim(note, {word: word for word in CLAIMS})
            assert claim(spanish[key], claim_words("es")) == said, f"{name}: note {key!r}"
            checked += said is not None
    assert checked >= 2  # "mud" and "the reference" in the step counts


def test_every_prompt_the_sections_show_has_a_spanish_translation():
    site = tomllib.loads((SPANISH / "site.toml").read_text(encoding="utf-8"))
    assert site["title"] and site["description"]
    translations = site["prompt_translations"]
    shown = set()
    for name in ENGLISH_FILES:
        meta, _ = front_matter(ENGLISH / "sections" / name)
        sweep = meta.get("sweep") or {}
        settings = meta.get("settings") or {}
        for prompt in [*sweep.get("prompts", []), *filter(None, [sweep.get("towards"), settings.get("prompt")])]:
            shown.add(prompt)
            if sweep.get("word_by_word"):
                words = prompt.split()
                shown.update(" ".join(words[:n]) for n in range(1, len(words)))
        for prompts in (settings.get("groups") or {}).values():
            shown.update(prompts)
    assert shown - set(translations) == set()
    assert all(text.strip() for text in translations.values())


def test_the_shipped_content_loads_spanish_whole():
    """Every length and key the content schema checks (lens names, tally labels, present lines),
    through the same loader the build uses: every section has its Spanish text (none falls back)."""
    from stepthrough.site.languages import load_languages

    english, spanish = load_languages(ENGLISH)
    assert (english.code, spanish.code, spanish.folder) == ("en", "es", "es/")
    assert spanish.content.site.language == "es"
    assert [s.id for s in spanish.content.sections] == [s.id for s in english.content.sections]
    assert not spanish.fallback, f"sections shown in English on the Spanish page: {sorted(spanish.fallback)}"
    assert spanish.content.practice is not None and spanish.content.workshop is not None
    assert spanish.content.practice.path.parent.name == "es"

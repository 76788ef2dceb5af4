"""A site in the language site.toml names: the page's own words from that locale, English where a
phrase is missing (with a warning, which `--strict` turns into exit code 2)."""

from __future__ import annotations

import html
import json
import re

import pytest
from click.testing import CliRunner
from conftest import PRACTICE, STEPPER_SECTION, tiny_site

from stepthrough import locale, log
from stepthrough.cli import main

SITE = 'title = "Test site"\nmodel = "builtin"\nbundle = "test-bundle"\nlanguage = "{}"\n'
ENGLISH = json.loads((locale.LOCALES / "en.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def usual_verbosity():
    yield
    log.configure(0)


def english_fragments() -> set[str]:
    """The English file's words, cut where a value or markup goes in: runs of three words or more."""
    fragments = set()
    for part in locale.PARTS:
        for phrase in ENGLISH[part].values():
            for text in phrase.values() if isinstance(phrase, dict) else [phrase]:
                for piece in re.split(r"\{\w+\}|<[^>]+>", text):
                    piece = " ".join(piece.split()).strip(" .,:;·()“”")
                    if len(piece.split()) >= 3:
                        fragments.add(piece)
    return fragments


def shown_text(page: str) -> str:
    """What a reader sees or hears of a page: its text and its labels, without scripts."""
    page = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.DOTALL)
    labels = re.findall(r'(?:aria-label|alt|title|aria-valuetext)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(" ".join([text, *labels])).split())


@pytest.fixture(scope="module")
def spanish_site(tmp_path_factory):
    return tiny_site(
        tmp_path_factory.mktemp("es"), {"01-watch.md": STEPPER_SECTION}, PRACTICE, site=SITE.format("es")
    )


def test_a_spanish_site_says_lang_es_and_shows_no_phrase_of_the_english_file(spanish_site):
    for name in ("index.html", "practice.html"):
        page = (spanish_site / name).read_text(encoding="utf-8")
        assert '<html lang="es">' in page
        shown = shown_text(page)
        left = sorted(f for f in english_fragments() if f in shown)
        assert left == [], f"{name} still says, in English: {left}"
    index = (spanish_site / "index.html").read_text(encoding="utf-8")
    assert "Paso 3 de 3" in index and "Saltar a la explicación" in index


def test_the_scripts_get_the_spanish_phrases_in_the_page(spanish_site):
    index = (spanish_site / "index.html").read_text(encoding="utf-8")
    table = re.search(r'<script type="application/json" id="stepthrough-phrases">(.*?)</script>', index)
    phrases = json.loads(table.group(1))
    assert phrases["language"] == "es"
    assert phrases["phrases"]["pause"] == "Pausa"


def test_an_english_site_has_no_dir_and_a_right_to_left_one_has_dir_rtl(tmp_path):
    site = tiny_site(tmp_path / "ar", {"01-watch.md": STEPPER_SECTION}, site=SITE.format("ar"))
    page = (site / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ar" dir="rtl">' in page
    assert "الخطوة ٣ من ٣" in page  # Arabic's own digits, as Intl.NumberFormat("ar") writes them
    english = tiny_site(tmp_path / "en", {"01-watch.md": STEPPER_SECTION})
    assert '<html lang="en">' in (english / "index.html").read_text(encoding="utf-8")


@pytest.fixture
def spanish_lacking_a_phrase(tmp_path, monkeypatch):
    """The shipped locales, but the Spanish file without the phrase "skip"."""
    folder = tmp_path / "locales"
    folder.mkdir()
    for path in locale.LOCALES.glob("*.json"):
        (folder / path.name).write_bytes(path.read_bytes())
    spanish = json.loads((folder / "es.json").read_text(encoding="utf-8"))
    del spanish["page"]["skip"]
    (folder / "es.json").write_text(json.dumps(spanish, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(locale, "LOCALES", folder)
    locale._read.cache_clear()
    yield
    locale._read.cache_clear()


def test_a_missing_phrase_is_shown_in_english_and_the_build_warns(tiny_project, spanish_lacking_a_phrase):
    content = tiny_project / "content"
    toml = content / "site.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'language = "es"\n', encoding="utf-8")
    args = ["build", "--content", str(content), "--bundles", str(tiny_project / "bundles")]
    result = CliRunner().invoke(main, [*args, "--out", str(tiny_project / "out")])
    assert result.exit_code == 0, result.output
    assert (
        "warning: language 'es': 1 phrase(s) missing from its locale file, shown in English: page.skip"
        in (result.output)
    )
    page = (tiny_project / "out" / "index.html").read_text(encoding="utf-8")
    assert ">Skip to the explainer</a>" in page and "Paso" in page
    strict = CliRunner().invoke(main, [*args, "--out", str(tiny_project / "strict"), "--strict"])
    assert strict.exit_code == 2
    assert "--strict turns warnings into errors" in strict.output


def test_a_language_without_a_locale_file_is_english_with_a_warning():
    assert locale.Phrases("tlh")("skip") == "Skip to the explainer"
    (warning,) = locale.problems("tlh")
    assert warning.startswith("language 'tlh': stepthrough has no locale file for it (it has en, ar, de, es, fr, pt")
    assert locale.Phrases("es-MX")("skip") == "Saltar a la explicación"  # the base language's file
    assert locale.problems("es-MX") == locale.problems("en-GB") == locale.problems("es") == []

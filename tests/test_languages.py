"""Several languages in one site (stepthrough/site/languages.py), from one bundle.

Specifications:
- `languages = ["en", "es"]` in the root site.toml builds the default language at the site's root
  and Spanish under es/, from the one bundle, rendering nothing (the test model is not builtin, so
  a missing picture would stop the build) and keeping every picture once, in the root's assets;
- a section es/ lacks is shown in English, marked lang="en"; a section only es/ has is shown in es;
  es/site.toml's title and [prompt_translations] are the Spanish page's; the page says once that
  prompts stay in English and shows each with its translation;
- every page links each language's same page (a switcher and hreflang, with x-default);
- mistakes name the file and line: a missing language folder, a key a language may not set, a bad code;
- `--zip` holds every language, `--zip --language es` Spanish alone; `--single-file` writes one
  page per language, each standing alone.
"""

from __future__ import annotations

import re
import shutil
import textwrap
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from tiny_model import TinyModel

from stepthrough import log
from stepthrough.cli import main
from stepthrough.errors import ContentError
from stepthrough.plan import plan_content
from stepthrough.site.languages import bundle_content, load_for_bundle, load_languages

FIXTURE = Path(__file__).parent / "fixtures" / "two_languages"


@pytest.fixture(autouse=True)
def usual_verbosity():
    yield
    log.configure(0)


def build(root: Path, *extra: str):
    args = ["build", "--content", str(root / "content"), "--bundles", str(root / "bundles")]
    return CliRunner().invoke(main, [*args, "--out", str(root / "build" / "site"), *extra])


@pytest.fixture(scope="module")
def _project(tmp_path_factory) -> Path:
    """The two-language fixture, its bundle rendered once by the tiny model, and the site built."""
    from stepthrough.precompute.run import precompute

    root = tmp_path_factory.mktemp("languages")
    shutil.copytree(FIXTURE, root / "content")
    precompute(load_for_bundle(root / "content"), root / "bundles", model=TinyModel(), progress=False)
    result = build(root, "--zip", "--single-file")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def project(_project, tmp_path) -> Path:
    shutil.copytree(_project, tmp_path / "p")
    return tmp_path / "p"


def page(root: Path, name: str) -> str:
    return (root / "build" / "site" / name).read_text(encoding="utf-8")


def test_both_languages_build_from_one_bundle_without_rendering_and_share_their_pictures(_project):
    site = _project / "build" / "site"
    assert (site / "index.html").is_file() and (site / "practice.html").is_file()
    assert (site / "es" / "index.html").is_file() and (site / "es" / "practice.html").is_file()
    assert not (site / "es" / "assets" / "frames").exists()  # one copy of each picture, at the root
    spanish = [
        page(_project, "es/index.html"),
        *(p.read_text() for p in (site / "es/assets/data").glob("*.js")),
    ]
    named = {name for text in spanish for name in re.findall(r"\.\./assets/frames/([\w.-]+)", text)}
    assert named and all((site / "assets" / "frames" / name).is_file() for name in named)
    assert not any(re.search(r"(?<![./])assets/frames/", text) for text in spanish)


def test_a_rebuild_renders_nothing_and_leaves_the_bundle_as_it_was(project):
    manifest = project / "bundles" / "test-bundle" / "manifest.json"
    before = manifest.read_bytes()
    result = build(project)
    assert result.exit_code == 0, result.output
    assert "Rendering" not in result.output and manifest.read_bytes() == before


def test_the_spanish_page_has_its_own_words_and_falls_back_to_english_where_untranslated(_project):
    spanish, english = page(_project, "es/index.html"), page(_project, "index.html")
    assert '<html lang="es">' in spanish and "<title>Sitio de prueba</title>" in spanish
    assert "Míralo quitar el ruido" in spanish and "Solo en español" in spanish
    seeds = re.search(r'<section [^>]*id="seeds"[^>]*>', spanish)[0]
    assert 'lang="en"' in seeds  # not translated yet: the English section, read as English
    assert '<html lang="en">' in english and "Solo en español" not in english
    assert (
        "Míralo" not in english
        and 'id="seeds"' in english
        and 'lang="en"' not in re.search(r'<section [^>]*id="seeds"[^>]*>', english)[0]
    )
    assert "Comprueba lo que has aprendido" in page(_project, "es/practice.html")


def test_prompts_stay_english_with_their_translation_and_the_page_says_so_once(_project):
    spanish, english = page(_project, "es/index.html"), page(_project, "index.html")
    assert spanish.count('class="prompt-note"') == 1 and "en inglés" in spanish
    assert "a doctor (un médico)" in spanish and "red apple (una manzana roja)" in spanish
    assert "prompt-note" not in english and "un médico" not in english


def test_every_page_links_its_other_languages_with_hreflang_and_a_switcher(_project):
    expected = {
        "index.html": {"en": "index.html", "es": "es/index.html", "x-default": "index.html"},
        "es/index.html": {"en": "../index.html", "es": "index.html", "x-default": "../index.html"},
        "practice.html": {"en": "practice.html", "es": "es/practice.html", "x-default": "practice.html"},
        "es/practice.html": {
            "en": "../practice.html",
            "es": "practice.html",
            "x-default": "../practice.html",
        },
    }
    for name, links in expected.items():
        text = page(_project, name)
        found = dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', text))
        assert found == links, name
        switcher = re.search(r'<nav class="languages" aria-label="([^"]+)">(.*?)</nav>', text, re.DOTALL)
        assert switcher[1] == ("Idioma" if name.startswith("es/") else "Language")
        assert re.findall(r'hreflang="(\w+)" lang="\w+"[^>]*>([^<]+)<', switcher[2]) == [
            ("en", "English"),
            ("es", "Español"),
        ]
        assert switcher[2].count('aria-current="page"') == 1


def test_the_whole_zip_holds_every_language_and_one_language_stands_alone(project):
    with zipfile.ZipFile(project / "build" / "site.zip") as archive:
        names = set(archive.namelist())
    assert {"site/index.html", "site/es/index.html"} <= names
    result = build(project, "--zip", "--language", "es")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(project / "build" / "site-es.zip") as archive:
        names = set(archive.namelist())
        index = archive.read("site-es/index.html").decode()
        data = [archive.read(n).decode() for n in names if n.startswith("site-es/assets/data/")]
    assert "site-es/practice.html" in names and not any(n.startswith("site-es/es/") for n in names)
    for text in [index, *data]:
        assert "../" not in text
        for picture in re.findall(r"assets/frames/[\w.-]+", text):
            assert f"site-es/{picture}" in names
    assert 'class="languages"' not in index and "hreflang" not in index  # nothing to switch to


def test_single_files_are_one_per_language_each_standing_alone(_project):
    out = _project / "build"
    for name, language in [("site.html", "en"), ("site-es.html", "es"), ("site-es-practice.html", "es")]:
        text = (out / name).read_text(encoding="utf-8")
        assert f'<html lang="{language}">' in text and 'class="languages"' not in text
        assert not re.search(r'(src|href)="(\.\./)?assets/', text)  # every file inside


def test_language_of_an_export_must_be_one_the_site_has(project):
    result = build(project, "--single-file", "--language", "fr")
    assert result.exit_code == 2 and "--language fr: the site has en, es" in result.output
    result = build(project, "--language", "es")
    assert result.exit_code == 2 and "add one of them" in result.output


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture
def content(tmp_path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "content")
    return tmp_path / "content"


def problems(content: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_languages(content)
    return caught.value.problems


def test_a_missing_language_folder_is_named_at_its_line(content):
    (content / "site.toml").write_text(
        'title = "T"\nbundle = "b"\nlanguages = ["en", "es", "fr"]\n', encoding="utf-8"
    )
    [problem] = problems(content)
    assert problem.startswith(f"{content / 'site.toml'}:3: languages: no folder fr/ beside site.toml")


def test_a_language_may_not_set_the_model_or_bundle(content):
    write(content, {"es/site.toml": 'title = "Sitio"\nbundle = "otro"\n'})
    [problem] = problems(content)
    assert problem.startswith(
        f"{content / 'es' / 'site.toml'}:2: key 'bundle' belongs in {content / 'site.toml'}"
    )


def test_bad_codes_and_a_first_language_that_is_not_the_sites_are_named(content):
    (content / "site.toml").write_text(
        'title = "T"\nbundle = "b"\nlanguages = ["en", "e s"]\n', encoding="utf-8"
    )
    [problem] = problems(content)
    assert problem.startswith(f"{content / 'site.toml'}:3: ") and "'e s'" in problem
    (content / "site.toml").write_text(
        'title = "T"\nlanguage = "es"\nbundle = "b"\nlanguages = ["en", "es"]\n', encoding="utf-8"
    )
    [problem] = problems(content)
    assert problem.startswith(f"{content / 'site.toml'}:4: ") and "starts with the site's language" in problem


def test_a_translated_section_that_asks_for_other_pictures_adds_them_to_the_bundle(content):
    base = bundle_content(load_languages(content))
    assert len(plan_content(base).jobs) == 2  # the Spanish stepper shows the English one's pictures
    text = (content / "es/sections/01-watch.md").read_text(encoding="utf-8")
    (content / "es/sections/01-watch.md").write_text(
        text.replace("seeds: [1]", "seeds: [1, 2]"), encoding="utf-8"
    )
    more = bundle_content(load_languages(content))
    assert len(plan_content(more).jobs) == 4 and "es.watch" in {s.id for s in more.sections}
    assert plan_content(load_for_bundle(content)).jobs == plan_content(more).jobs  # what precompute renders


@pytest.mark.parametrize("language", ["en", "es", "fr", "de", "pt", "ar"])
def test_new_starts_content_in_the_language_asked_for(tmp_path, language):
    from stepthrough.content import load_content
    from stepthrough.starter import STARTERS

    result = CliRunner().invoke(main, ["new", str(tmp_path / "demo"), "--language", language])
    assert result.exit_code == 0, result.output
    content = load_content(tmp_path / "demo" / "content")
    assert content.site.language == language
    [section] = content.sections
    assert section.meta.title == STARTERS[language].title and content.practice is not None
    assert {j.prompt for j in section.jobs} == {"a doctor", "red apple", "rocket"}  # the model reads English
    translations = content.site.prompt_translations
    assert (translations == {}) == (language == "en")
    assert language == "en" or translations["a doctor"] == STARTERS[language].prompts[0]


def test_new_with_a_language_it_has_no_starter_for_writes_english_words_under_that_code(tmp_path):
    from stepthrough.content import load_content

    result = CliRunner().invoke(main, ["new", str(tmp_path / "demo"), "--language", "it"])
    assert result.exit_code == 0 and "No starter text in 'it'" in result.output
    assert load_content(tmp_path / "demo" / "content").site.language == "it"
    result = CliRunner().invoke(main, ["new", str(tmp_path / "bad"), "--language", "español"])
    assert result.exit_code == 2 and "--language español: expected a language code" in result.output

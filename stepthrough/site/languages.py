"""Several languages in one site, from one bundle, laid out as Hugo lays them out by default.

The content root's `site.toml` says `languages = ["en", "es"]`; the first is the site's own
`language`, whose `sections/` and `practice.md` sit at the root. Every other language has a folder
named by its code (`es/`) holding `sections/`, optionally `practice.md`, and optionally a `site.toml`
with what it says differently (`title`, `description`, `[prompt_translations]`). A section that a
language folder lacks is shown in the default language (as mkdocs-static-i18n's
`fallback_to_default` does: the explainer stays whole), marked with its `lang`; a section only the
language has is fine. All languages share the root's model and bundle: the bundle is completed once,
for every language's pictures, and each language is built with the single-language builder
(site/build.py `build_site`), the default at the site's root, the others under `<code>/`. Each page
links its other languages (a switcher, and `<link rel="alternate" hreflang>` with x-default).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepthrough.errors import ContentError, UsageError, located

if TYPE_CHECKING:
    from stepthrough.content import Content, Section

# What a language folder's site.toml may say; the rest (model, bundle, …) is the root's, for all.
OWN_KEYS = ("title", "description", "prompt_translations")
FRAMES = "assets/frames/"  # content-hashed pictures: every language's pages use the root's copy
_FRAME_REF = re.compile(r"(?<![\w./-])" + re.escape(FRAMES))
_SHARED_REF = re.compile(r"(?<![\w/-])\.\./" + re.escape(FRAMES))
# What links a page to its other languages: left out of a one-language export.
_SWITCHER = re.compile(r'<nav class="languages"[^>]*>.*?</nav>\n?', re.DOTALL)
_ALTERNATE = re.compile(r'<link rel="alternate" hreflang="[^"]*" href="[^"]*">\n?')


@dataclasses.dataclass(frozen=True)
class Language:
    code: str
    content: Content
    folder: str  # where its pages go in the site: "" for the default language, "es/" for Spanish
    fallback: frozenset[Path] = frozenset()  # its sections shown in the default language (their files)

    @property
    def pages(self) -> set[str]:
        from stepthrough.site.parts import page_names
        from stepthrough.site.present import SHEET

        pages = {"index.html", *page_names(self.content)}
        if self.content.practice is not None:
            pages.add("practice.html")
        if self.content.workshop is not None:
            pages.add(SHEET)
        return pages


def declared(content_dir: Path) -> list[str]:
    """The codes `site.toml` lists in `languages` (empty when it lists none, or cannot be read:
    load_content then says what is wrong with it)."""
    try:
        data = tomllib.loads((Path(content_dir) / "site.toml").read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return []  # a file too deeply nested too: load_content says what is wrong with it
    codes = data.get("languages")
    return [c for c in codes if isinstance(c, str)] if isinstance(codes, list) else []


def several(content_dir: Path) -> bool:
    return len(declared(content_dir)) > 1


def load_for_bundle(content_dir: Path) -> Content:
    """The content as precompute sees it: with every language's pictures (see bundle_content)."""
    from stepthrough.content import load_content

    return bundle_content(load_languages(content_dir)) if several(content_dir) else load_content(content_dir)


def load_languages(content_dir: Path) -> list[Language]:
    """Every language of the content, the default first; ContentError listing every problem."""
    from stepthrough.content import load_content

    root = load_content(content_dir)
    codes = root.site.languages or [root.site.language]
    languages = [Language(codes[0], root, "")]
    problems: list[str] = []
    for code in codes[1:]:
        language = _load_language(root, code, problems)
        if language is not None:
            languages.append(language)
    if problems:
        raise ContentError(problems)
    return languages


def _load_language(root: Content, code: str, problems: list[str]) -> Language | None:
    from stepthrough import content as loader

    site_toml = root.root / "site.toml"
    folder = root.root / code
    if not folder.is_dir():
        line = _key_line(site_toml, "languages")
        problems.append(
            located(
                site_toml,
                line,
                f"languages: no folder {code}/ beside site.toml; make {folder} with the sections in "
                f"that language (sections/NN-name.md), or take {code!r} out of the list",
            )
        )
        return None
    before = len(problems)
    site = _language_site(root, code, folder / "site.toml", problems)
    sections_dir = folder / "sections"
    own = loader._load_sections(sections_dir, problems) if sections_dir.is_dir() else []
    practice_path = folder / loader.PRACTICE
    practice = (
        loader._load_practice(practice_path, problems) if loader._exists(practice_path) else root.practice
    )
    by_id = {section.id: section for section in root.sections}
    by_id.update({section.id: section for section in own})
    sections = sorted(by_id.values(), key=lambda s: (loader._order(s.path), s.path.name))
    loader._check_workshop(sections, problems)
    if len(problems) > before or site is None:
        return None
    fallback = frozenset(s.path for s in sections if s.path.parent == root.root / "sections")
    content = dataclasses.replace(root, site=site, sections=tuple(sections), practice=practice)
    return Language(code, content, f"{code}/", fallback)


def _language_site(root: Content, code: str, path: Path, problems: list[str]):
    """The root's site settings with the language folder's own (title, description, prompt_translations)."""
    from stepthrough import content as loader
    from stepthrough.content import SiteConfig
    from stepthrough.options import Problem

    values = {k: v for k, v in vars(root.site).items()}
    values.update(language=code, prompt_translations={})
    if not loader._exists(path):
        return SiteConfig(**values)
    text = loader.read_text(path, root.root, problems, "site.toml, the language's own title and description")
    if text is None:
        return None
    if (over := loader._toml_over_bounds(text)) is not None:
        problems.append(located(path, *over))
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(located(path, getattr(exc, "lineno", None), f"not valid TOML: {exc}"))
        return None
    found: list[Problem] = []
    for key in data:
        if key not in OWN_KEYS:
            found.append(
                Problem(
                    (key,),
                    f"key '{key}' belongs in {root.root / 'site.toml'}: every language shares its "
                    f"model, bundle and settings; a language's site.toml may say only {', '.join(OWN_KEYS)}",
                )
            )
    own = {k: v for k, v in data.items() if k in OWN_KEYS}
    merged = {k: v for k, v in values.items() if v is not None and k not in ("languages",)} | own
    site = SiteConfig.load(merged, found)
    problems += [located(path, _key_line(path, p.at[0] if p.at else None), p.message) for p in found]
    if found or site is None:
        return None
    return SiteConfig(**(vars(site) | {"languages": root.site.languages}))


def _key_line(path: Path, key: Any) -> int | None:
    """The line of `key = …` or `[key]` in a TOML file."""
    if key is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(rf"^\s*(\[\s*{re.escape(str(key))}\s*\]|{re.escape(str(key))}\s*=)")
    return next((i + 1 for i, line in enumerate(lines) if pattern.match(line)), None)


def bundle_content(languages: list[Language]) -> Content:
    """One Content that asks for every language's pictures: the default's sections, and each
    section of another language that shows other pictures than the default's of its id (renamed
    `es.<id>`: ids only key the plan). What precompute renders and build checks the bundle against."""
    default = languages[0].content
    shown = {s.id: (s.meta.widget, s.jobs, s.projection) for s in default.sections}
    extra: list[Section] = []
    for language in languages[1:]:
        for section in language.content.sections:
            if section.path in language.fallback:
                continue
            if shown.get(section.id) == (section.meta.widget, section.jobs, section.projection):
                continue
            if section.jobs or section.projection is not None:
                extra.append(dataclasses.replace(section, id=f"{language.code}.{section.id}"))
    return dataclasses.replace(default, sections=default.sections + tuple(extra)) if extra else default


def own_part(language: Language) -> Content:
    """What a language's own files hold (its translated sections and practice page), for the checks
    that name files: the default language's sections are checked once, with the default."""
    content = language.content
    if not language.folder:
        return content
    sections = tuple(s for s in content.sections if s.path not in language.fallback)
    practice = content.practice
    if practice is not None and not practice.path.is_relative_to(content.root / language.code):
        practice = None
    return dataclasses.replace(content, sections=sections, practice=practice)


def write_site(languages: list[Language], bundle_dir: Path, out_dir: Path, state, markdowns) -> Path:
    """Build each language into a folder of its own, then put them together into `out_dir` in one
    swap: the default's pages at the root, another's under `<code>/`, every picture once, in the
    root's assets/frames/."""
    from stepthrough.atomic import atomic_folder, clean_leftovers
    from stepthrough.bundle import folder_lock
    from stepthrough.site import build as site

    root = languages[0].content.root
    site._refuse_to_replace(out_dir, [root, bundle_dir])
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(out_dir.parent, f"building {out_dir.name}"):
        clean_leftovers(out_dir)  # of a killed build, with the languages' own folders below
        with atomic_folder(out_dir) as staging:
            work = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.building-languages-"))
            try:
                for lang in languages:
                    token = _RENDERING.set((languages, lang))
                    try:
                        built = site.build_site(
                            lang.content,
                            bundle_dir,
                            work / lang.code,
                            state=state,
                            markdown=markdowns[lang.code],
                        )
                    finally:
                        _RENDERING.reset(token)
                    if lang.folder:
                        (built / site.MARKER).unlink()
                        built.rename(staging / lang.code)
                        share_frames(staging, lang.code)
                    else:
                        for entry in built.iterdir():
                            entry.rename(staging / entry.name)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return out_dir


def share_frames(site_dir: Path, code: str) -> None:
    """Move a language's pictures into the root's assets/frames/ (named by their content: one copy
    of each for every language) and point its pages and widget data there."""
    own, shared = site_dir / code / FRAMES, site_dir / FRAMES
    shared.mkdir(parents=True, exist_ok=True)
    for picture in own.iterdir():
        if (shared / picture.name).exists():
            picture.unlink()
        else:
            picture.rename(shared / picture.name)
    own.rmdir()
    for text in _texts(site_dir / code):
        text.write_text(_FRAME_REF.sub("../" + FRAMES, text.read_text(encoding="utf-8")), encoding="utf-8")


def _texts(folder: Path) -> list[Path]:
    """The pages and widget data files of one language's folder: what names pictures."""
    return [*folder.glob("*.html"), *(folder / "assets" / "data").glob("*.js")]


# ---- what the templates ask while one language's pages are rendered ----

_RENDERING: ContextVar[tuple[list[Language], Language] | None] = ContextVar("languages", default=None)


def links(page: str) -> list[dict[str, Any]]:
    """The page `page` in each language of the site being rendered (the switcher and the hreflang
    links): code, name (in that language), a relative href, and whether it is this page's language.
    Empty for a one-language site."""
    rendering = _RENDERING.get()
    if rendering is None:
        return []
    from stepthrough import locale

    languages, current = rendering
    up = "../" if current.folder else ""
    return [
        {
            "code": lang.code,
            "name": locale.language_name(lang.code),
            "href": (
                page if lang is current else up + lang.folder + (page if page in lang.pages else "index.html")
            ),
            "current": lang is current,
        }
        for lang in languages
    ]


def section_language(section: Section) -> dict[str, str] | None:
    """For a section shown in the default language on another language's page, its language and
    direction (a screen reader then reads it as that language); None otherwise."""
    rendering = _RENDERING.get()
    if rendering is None or section.path not in rendering[1].fallback:
        return None
    from stepthrough import locale

    code = rendering[0][0].code
    return {"code": code, "dir": locale.direction(code)}


# ---- exports: every language, or one ----


def site_languages(site_dir: Path) -> list[str]:
    """The other languages' folders of a built site (each holds its index.html)."""
    return sorted(
        p.name
        for p in Path(site_dir).iterdir()
        if p.is_dir() and p.name != "assets" and (p / "index.html").is_file()
    )


def default_language(site_dir: Path) -> str:
    """The language of the site's root pages, as its index.html says (<html lang>)."""
    found = re.search(r'<html lang="([^"]+)"', (Path(site_dir) / "index.html").read_text(encoding="utf-8"))
    return found[1] if found else "en"


def check_language(site_dir: Path, default: str, language: str | None) -> str | None:
    """`--language`'s value checked against the site: None (every language), or the code."""
    if language is None:
        return None
    known = [default, *site_languages(site_dir)]
    if language not in known:
        raise UsageError(f"--language {language}: the site has {', '.join(known)}; choose one of those")
    return language


@contextmanager
def one_language(site_dir: Path, code: str, default: str) -> Iterator[Path]:
    """A copy of one language of the built site that stands alone (its pictures inside, no links
    to the other languages), named `<site>` for the default language and `<site>-<code>` for
    another, in a temporary folder beside the site; gone afterwards."""
    site_dir = Path(site_dir)
    work = Path(tempfile.mkdtemp(dir=site_dir.parent, prefix=f".{site_dir.name}.export-"))
    try:
        others = set(site_languages(site_dir))
        name = site_dir.name if code == default else f"{site_dir.name}-{code}"
        target = work / name
        if code == default:
            shutil.copytree(
                site_dir, target, ignore=lambda folder, names: others if Path(folder) == site_dir else ()
            )
        else:
            shutil.copytree(site_dir / code, target)
            (target / FRAMES).mkdir(parents=True, exist_ok=True)
            for text in _texts(target):
                page = text.read_text(encoding="utf-8")
                for picture in set(re.findall(r"\.\./" + re.escape(FRAMES) + r"([\w.-]+)", page)):
                    if not (target / FRAMES / picture).exists():
                        shutil.copyfile(site_dir / FRAMES / picture, target / FRAMES / picture)
                text.write_text(_SHARED_REF.sub(FRAMES, page), encoding="utf-8")
        for page in target.glob("*.html"):
            text = page.read_text(encoding="utf-8")
            page.write_text(_ALTERNATE.sub("", _SWITCHER.sub("", text)), encoding="utf-8")
        yield target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def export(
    site_dir: Path, language: str | None, *, make_zip: bool, make_single_file: bool
) -> list[tuple[Path, Path | None]]:
    """The zip and single-file exports beside the site: of every language (`language` None: the
    zip holds the whole site; one single file per language and page), or of one language alone.
    A default-language file keeps the site's name (site.zip, site.html), another's adds its code
    (site-es.zip, site-es.html). Returns each file written, with the single file that carries it
    too (None for a main page and a zip)."""
    from stepthrough.site.build import zip_site
    from stepthrough.site.single_file import refuse_parts, single_file

    site_dir = Path(site_dir)
    if make_single_file:
        refuse_parts(site_dir)  # before the zip: nothing written
    default = default_language(site_dir)
    language = check_language(site_dir, default, language)
    others = site_languages(site_dir)
    written: list[tuple[Path, Path | None]] = []
    if make_zip:
        if language is None or not others:
            written.append((zip_site(site_dir), None))
        else:
            with one_language(site_dir, language, default) as copy:
                written.append((_beside(zip_site(copy), site_dir), None))
    if make_single_file:
        for code in [language] if language else [default, *others]:
            if not others:
                made = single_file(site_dir)  # a one-language site: as it always was
            else:
                with one_language(site_dir, code, default) as copy:
                    made = [_beside(page, site_dir) for page in single_file(copy)]
            written += [(made[0], None), *((page, made[0]) for page in made[1:])]
    return written


def _beside(made: Path, site_dir: Path) -> Path:
    target = site_dir.parent / made.name
    made.replace(target)
    return target

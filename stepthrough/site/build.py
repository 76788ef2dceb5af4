"""Build: content + bundle + templates → a static site folder, written atomically."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from stepthrough import __version__, locale
from stepthrough.atomic import atomic_file, atomic_folder, clean_leftovers
from stepthrough.bundle import Manifest, folder_lock, read_manifest
from stepthrough.bundle.ids import Job, display_name
from stepthrough.content import Content
from stepthrough.errors import StepthroughError, UsageError
from stepthrough.locale import Phrases
from stepthrough.options import number
from stepthrough.plan import Plan, plan_content
from stepthrough.site import languages
from stepthrough.site import parts as paged  # `parts` names the markup later_part takes out
from stepthrough.site.assets import Assets
from stepthrough.site.critical import SECTIONS_SHOWN, critical_css, first_screen, names_in
from stepthrough.site.markdown import Markdown
from stepthrough.site.practice import practice_data
from stepthrough.site.present import SHEET, present_data, present_lines, workshop_data
from stepthrough.widgets import WIDGETS
from stepthrough.widgets.base import Projection

TEMPLATES = Path(__file__).resolve().parent / "templates"  # the page shell: base template, CSS, common.js
MARKER = ".stepthrough-site"  # in every site folder: a build replaces only folders that hold it
SITE_ENTRIES = {"index.html", "practice.html", "assets"}  # what sites made before the marker held
# The one script that runs at once, inline in <head> (allowed by its hash): it marks the page as
# scripted before it paints, so CSS can hide the static frames that widgets replace, and applies the
# whole stylesheet once it has loaded beside the page (page.html; the single file has it inline).
HEAD_SCRIPT = """document.documentElement.className += " js";
(function (link) {
  function apply() { link.media = "all"; }
  if (!link) return;
  if (link.sheet) { apply(); } else { link.addEventListener("load", apply); }
})(document.getElementById("stepthrough-style"));"""
# The pages with a template of their own; a part of a long explainer (part-2.html …) is index.html's.
TEMPLATE_PAGES = {"index.html", "practice.html", SHEET, paged.CONTENTS}
FIRST_SCREEN_CSS = "/*stepthrough:first-screen*/"  # page.html's inline style, filled in per page


@dataclass(frozen=True)
class BundleState:
    """What a bundle folder holds for some content: its manifest, the plan named for its model, and
    the jobs and projections it still lacks."""

    manifest: Manifest | None
    plan: Plan
    missing: tuple[Job, ...]
    missing_projections: tuple[Projection, ...] = ()
    needed: bool = True  # False when no section reads the bundle (text and particles only)

    @property
    def complete(self) -> bool:
        if not self.needed:
            return True
        return self.manifest is not None and not self.missing and not self.missing_projections


def bundle_state(content: Content, bundle_dir: Path) -> BundleState:
    manifest = read_manifest(bundle_dir)
    # Content that needs nothing from a bundle (text and particles, say) builds without one.
    plan = plan_content(content, manifest.fingerprint() if manifest is not None else {})
    return BundleState(
        manifest,
        plan,
        plan.missing(bundle_dir, manifest),
        plan.missing_projections(bundle_dir, manifest),
        needed=manifest is not None or content.needs_bundle,
    )


def build_site(
    content: Content,
    bundle_dir: Path,
    out_dir: Path,
    state: BundleState | None = None,
    markdown: Markdown | None = None,
) -> Path:
    """Render the site into a staging folder beside `out_dir`, then swap it into place.

    `state`: the bundle_state the caller already has for this content and bundle, so that no file
    is hashed twice in one build; `markdown`: the caller's, whose parses it then reuses. Says no
    warnings: `stepthrough.make.build_project` checks the content first."""
    state = state if state is not None else bundle_state(content, bundle_dir)
    markdown = markdown if markdown is not None else Markdown(content.site.allow_html)
    if not state.complete:
        raise StepthroughError(
            f"{bundle_dir}: lacks {len(state.missing)} trajectories and {len(state.missing_projections)} "
            "projections the content needs; run stepthrough precompute"
        )
    out_dir = Path(out_dir)
    _refuse_to_replace(out_dir, [content.root, Path(bundle_dir)])
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(out_dir.parent, f"building {out_dir.name}"):  # one build per output folder at a time
        clean_leftovers(out_dir)  # of a killed build
        with atomic_folder(out_dir) as staging:
            _render(content, Path(bundle_dir), state, staging, markdown)
            (staging / MARKER).write_text(
                "stepthrough build made this folder and replaces all of it on the next build.\n",
                encoding="utf-8",
            )
    return out_dir


def _refuse_to_replace(out_dir: Path, keep: list[Path]) -> None:
    """UsageError unless out_dir is absent, empty, or a site that stepthrough made: a build replaces
    the whole folder, so it must never be one of the user's folders, nor hold the content or bundle."""
    where = out_dir.resolve()
    for folder in keep:
        if folder.resolve() == where or folder.resolve().is_relative_to(where):
            raise UsageError(
                f"--out {out_dir}: holds {folder}, which a build would delete; choose another folder, e.g. build/site"
            )
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if not out_dir.is_dir():
        raise UsageError(f"--out {out_dir}: is a file, not a folder; choose another folder, e.g. build/site")
    names = {path.name for path in out_dir.iterdir()}
    index = out_dir / "index.html"
    made_before_the_marker = (
        names <= SITE_ENTRIES
        and index.is_file()
        and 'content="stepthrough ' in index.read_text(errors="replace")
    )
    if names and MARKER not in names and not made_before_the_marker:
        shown = ", ".join(sorted(names)[:3]) + (" …" if len(names) > 3 else "")
        raise UsageError(
            f"--out {out_dir}: holds files that stepthrough did not make ({shown}), which a build would "
            "replace; choose another folder or empty this one"
        )


def _render(content: Content, bundle_dir: Path, state: BundleState, site_dir: Path, markdown: Markdown) -> None:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(TEMPLATES),
                jinja2.PrefixLoader(
                    {"widgets": jinja2.FileSystemLoader([w.folder for w in WIDGETS.values()])}
                ),
            ]
        ),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_template_cache(),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # `tojson` (the presenter's data in index.html) as compact as the page's other JSON: it is first-screen bytes
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False, "separators": (",", ":")}
    phrases = Phrases(content.site.language, content.site.prompt_translations)
    token = locale.rendering(phrases)  # widgets' data in the page's language too
    try:
        _render_in(env, phrases, content, bundle_dir, state, site_dir, markdown)
    finally:
        locale.done(token)


def _render_in(
    env: jinja2.Environment,
    phrases: Phrases,
    content: Content,
    bundle_dir: Path,
    state: BundleState,
    site_dir: Path,
    markdown: Markdown,
) -> None:
    manifest, plan = state.manifest, state.plan
    env.globals["t"] = phrases
    env.globals["page_language"] = {"code": content.site.language, "dir": phrases.direction}
    env.globals["language_links"] = languages.links  # the same page in the site's other languages
    env.globals["phrase_table"] = lambda scripts: markupsafe.Markup(
        json.dumps(phrases.script_table(scripts), ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    )
    env.filters["steps"] = lambda count: phrases("steps", n=count)
    parts: list[str] = []  # markup `later_part` took out of the figure being rendered, for its data file
    env.globals["later_part"] = lambda markup, fallback: markupsafe.Markup(later_part(parts, markup, fallback))
    env.globals["widget_data_script"] = lambda data, later=False: markupsafe.Markup(
        write_widget_data(site_dir, data, parts, later)
    )
    env.filters["public"] = lambda data: {k: v for k, v in data.items() if not k.startswith("_")}
    env.filters["minutes"] = number  # 12.0 → "12", 1.5 → "1.5"
    assets = Assets(bundle_dir, manifest, site_dir, plan.projection_ids)
    holder = content.workshop
    workshop = workshop_data(holder[1], markdown, content.sections) if holder else None
    sections = []
    for section in content.sections:
        trajectories = plan.trajectory_ids(section.id)
        widget = section.meta.widget
        sections.append(
            {
                "id": section.id,
                "title": section.meta.title,
                "html": markdown.render(section.body),
                "widget": widget,
                "caption": section.meta.caption,
                "data": WIDGETS[widget].data(section, trajectories, assets) if widget else None,
                "present_lines": present_lines(section, markdown),
                "workshop": workshop if holder and holder[0] is section else None,
                "lang": languages.section_language(section),  # not yet translated: the default's
            }
        )
    static = TEMPLATES / "static"
    book = paged.split(sections, content.site.sections_per_page)
    files = _page_scripts(sections)
    if len(book) > 1:
        files = {paged.SCRIPT: static / paged.SCRIPT, **files}
    practice = practice_data(content.practice, markdown, sections) if content.practice is not None else None
    shell = {"style.css": static / "style.css"}
    for name, source in {**shell, **files, **({"practice.js": static / "practice.js"} if practice else {})}.items():
        shutil.copyfile(source, site_dir / "assets" / name)
    css = (static / "style.css").read_text(encoding="utf-8")

    def write(name: str, first: list[Path] = (), **values) -> None:
        page = env.get_template(name if name in TEMPLATE_PAGES else "index.html").render(
            site=content.site,
            practice=practice,
            version=__version__,
            head_script=markupsafe.Markup(HEAD_SCRIPT),
            first_screen_css=markupsafe.Markup(FIRST_SCREEN_CSS),
            page_name=name,
            **values,
        )
        scripts_there = [HEAD_SCRIPT, *(path.read_text(encoding="utf-8") for path in first)]
        rules = critical_css(css, names_in(first_screen(page), scripts_there)).replace("</", "<\\/")
        page = page.replace(FIRST_SCREEN_CSS, rules, 1)
        (site_dir / name).write_text(with_csp(page, [HEAD_SCRIPT]), encoding="utf-8")

    about = {
        "model": manifest.model if manifest is not None else None,
        "model_name": display_name(manifest.model["id"]) if manifest is not None else None,
        "scheduler": manifest.scheduler if manifest is not None else None,
    }
    if len(book) == 1:
        write(
            "index.html",
            _first_scripts(sections),
            sections=sections,
            scripts=list(files),
            present=present_data(content, workshop),
            part=None,
            **about,
        )
    else:
        where = data_file(site_dir, paged.where(book))  # one map for every part: a deferred script
        plain = present_data(content, None)
        for part in book:
            write(
                part.name,
                _first_scripts(part.sections),
                sections=part.sections,
                scripts=[paged.SCRIPT, *_page_scripts(part.sections)],
                present=paged.present_for(content, workshop, part, plain),
                part=paged.links(book, part, where),
                **about,
            )
        write(paged.CONTENTS, book=book, scripts=[])
    if workshop is not None:
        write(SHEET, workshop=workshop, scripts=[])
    if practice is not None:
        write("practice.html", [static / "practice.js"], scripts=["common.js", "practice.js"])
    markdown.save()


def _page_scripts(sections: list[dict[str, Any]]) -> dict[str, Path]:
    """The scripts a page of these sections runs, in order, by their names under assets/."""
    static = TEMPLATES / "static"
    files = {WIDGETS[s["widget"]].script.name: WIDGETS[s["widget"]].script for s in sections if s["widget"]}
    if files:  # helpers first; scrolling hooks up last
        files = {"common.js": static / "common.js", **files, "scroll.js": static / "scroll.js"}
    else:  # present.js reads its words through common.js's Stepthrough.t
        files = {"common.js": static / "common.js"}
    files["present.js"] = static / "present.js"  # presenter mode, last: it drives the widgets' scrubbers
    return files


def _first_scripts(sections: list[dict[str, Any]]) -> list[Path]:
    """What runs on a page's first screen (classes those scripts set there need their rules inline too)."""
    static = TEMPLATES / "static"
    shown = [WIDGETS[s["widget"]].script for s in sections[:SECTIONS_SHOWN] if s["widget"]]
    return [static / "common.js", static / "scroll.js", *shown]


DATA_FOLDER = "assets/data"  # one script per widget: its data, out of index.html
DATA_START = "document.currentScript.stepthroughData = "  # common.js's Stepthrough.data reads it
DATA_END = ";\n"
LATER = "later"  # the data key that holds the markup `later_part` took out of the page
LATER_SLOT = '<div class="widget-later">{}</div>'  # where it goes back (common.js), around the fallback


def later_part(parts: list[str], markup: str, fallback: str) -> str:
    """Take a widget's heavy markup out of the page: it travels in the widget's data file and goes
    back in when the reader nears the widget (common.js `Stepthrough.widget`); until then, and
    without JavaScript, `fallback` shows: a lighter static frame of the same thing."""
    parts.append(str(markup))
    return LATER_SLOT.format(fallback)


def write_widget_data(site_dir: Path, data: dict, parts: list[str] | None = None, later: bool = False) -> str:
    """Write a widget's data (and the markup `later_part` took out of its figure) as a classic
    script under assets/data/ (named by its content) and return the <script> tag for it: deferred,
    or with `later` (or any markup taken out) one that common.js loads when the reader nears it."""
    if parts:
        data = {**data, LATER: list(parts)}
        parts.clear()
        later = True
    name = data_file(site_dir, data)
    if later:  # not run by the browser (a type it does not know); common.js adds the file when near
        return f'<script type="text/plain" data-src="{name}" class="widget-data"></script>'
    return f'<script defer src="{name}" class="widget-data"></script>'


def data_file(site_dir: Path, data: Any) -> str:
    """Write `data` as a classic script under assets/data/, named by its content, that leaves it on
    its <script> element (common.js `Stepthrough.data`); its path in the site."""
    code = DATA_START + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + DATA_END
    name = f"{DATA_FOLDER}/{hashlib.sha256(code.encode()).hexdigest()[:16]}.js"
    (site_dir / DATA_FOLDER).mkdir(parents=True, exist_ok=True)
    (site_dir / name).write_text(code, encoding="utf-8")
    return name


def widget_data_of(code: str) -> Any:
    """The data a widget data script (write_widget_data) holds."""
    if not (code.startswith(DATA_START) and code.endswith(DATA_END)):
        raise ValueError("not a widget data script")
    return json.loads(code[len(DATA_START) : -len(DATA_END)])


# What a page may load: its own files, inline pictures (data:) and styles (sprites sit in style
# attributes); inline scripts only by the hashes of those stepthrough wrote; no request leaves it.
# Workers only from blob: URLs the page made itself (the draw widget's model; file:// allows no other).
CSP = (
    "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src blob:; base-uri 'none'; form-action 'none'"
)
CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n?')


def script_hash(code: str) -> str:
    """A CSP source that allows one inline script, by its sha256."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(code.encode('utf-8')).digest()).decode()}'"


def allow_script(page: str, code: str) -> str:
    """The page's Content-Security-Policy with one more inline script allowed (added after with_csp)."""
    return page.replace("script-src 'self'", f"script-src 'self' {script_hash(code)}", 1)


def with_csp(page: str, inline_scripts: list[str] = ()) -> str:
    """The page with a Content-Security-Policy meta (replacing any) that allows `inline_scripts`, by hash."""
    hashes = dict.fromkeys(f" {script_hash(code)}" for code in inline_scripts)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP.format(hashes="".join(hashes))}">\n'
    page = CSP_META.sub("", page)
    charset = re.search(r"<meta charset=[^>]*>\n?", page, re.IGNORECASE)
    if charset is None:
        raise StepthroughError(
            "page template has no <meta charset>, which the Content-Security-Policy follows"
        )
    return page[: charset.end()] + meta + page[charset.end() :]


def _template_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between builds (a per-user folder in the temp dir; each entry is
    keyed by the template's source, so an edited template compiles again): compiling them was a
    sixth of a build. None where no such folder can be made: then they compile every time."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


def zip_site(site_dir: Path) -> Path:
    """The site as `<site>.zip` beside it, one folder inside, written atomically."""
    site_dir = Path(site_dir)
    target = site_dir.with_suffix(".zip")
    with atomic_file(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(site_dir.rglob("*")):
            if path.is_file():
                archive.write(path, Path(site_dir.name) / path.relative_to(site_dir))
    return target

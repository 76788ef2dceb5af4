"""Build: content + bundle + templates → a static site folder, written atomically."""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt

from stepthrough import __version__
from stepthrough.bundle import (
    Manifest,
    projection_is_complete,
    read_manifest,
    trajectory_is_complete,
)
from stepthrough.bundle.atomic import atomic_file, atomic_folder
from stepthrough.bundle.ids import Job
from stepthrough.content import Content
from stepthrough.errors import StepthroughError
from stepthrough.options import number
from stepthrough.site.assets import Assets
from stepthrough.site.practice import practice_data
from stepthrough.site.present import SHEET, present_data, present_lines, workshop_data
from stepthrough.widgets import WIDGETS
from stepthrough.widgets.base import Projection

TEMPLATES = Path(__file__).resolve().parent / "templates"  # the page shell: base template, CSS, common.js


@dataclass(frozen=True)
class BundleState:
    """What a bundle folder holds for some content: its manifest and the jobs it still lacks."""

    manifest: Manifest | None
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
    projections = tuple(s.projection for s in content.sections if s.projection is not None)
    if manifest is None:
        return BundleState(None, content.jobs, projections, needed=content.needs_bundle)
    fingerprint = manifest.fingerprint()
    missing = tuple(
        j for j in content.jobs if not trajectory_is_complete(bundle_dir, manifest, j.content_id(fingerprint))
    )
    missing_projections = tuple(
        p for p in projections if not projection_is_complete(bundle_dir, manifest, p.content_id(fingerprint))
    )
    return BundleState(manifest, missing, missing_projections)


def build_site(content: Content, bundle_dir: Path, out_dir: Path) -> Path:
    """Render the site into a staging folder beside `out_dir`, then swap it into place."""
    state = bundle_state(content, bundle_dir)
    if not state.complete:
        raise StepthroughError(
            f"{bundle_dir}: lacks {len(state.missing)} trajectories and {len(state.missing_projections)} "
            "projections the content needs; run stepthrough precompute"
        )
    with atomic_folder(out_dir) as staging:
        _render(content, Path(bundle_dir), state.manifest, staging)
    return Path(out_dir)


def _render(content: Content, bundle_dir: Path, manifest: Manifest | None, site_dir: Path) -> None:
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
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["public"] = lambda data: {k: v for k, v in data.items() if not k.startswith("_")}
    env.filters["minutes"] = number  # 12.0 → "12", 1.5 → "1.5"
    markdown = MarkdownIt("commonmark", {"typographer": True}).enable(
        ["table", "replacements", "smartquotes"]
    )
    # Content that needs nothing from a bundle (text and particles, say) builds without one.
    fingerprint = manifest.fingerprint() if manifest is not None else {}
    projections = {s.id: s.projection.content_id(fingerprint) for s in content.sections if s.projection}
    assets = Assets(bundle_dir, manifest, site_dir, projections)
    holder = content.workshop
    workshop = workshop_data(holder[1], markdown) if holder else None
    sections = []
    for section in content.sections:
        trajectories = [job.content_id(fingerprint) for job in section.jobs]
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
            }
        )
    static = TEMPLATES / "static"
    files = {WIDGETS[s["widget"]].script.name: WIDGETS[s["widget"]].script for s in sections if s["widget"]}
    if files:  # helpers first; scrolling hooks up last
        files = {"common.js": static / "common.js", **files, "scroll.js": static / "scroll.js"}
    files["present.js"] = static / "present.js"  # presenter mode, last: it drives the widgets' scrubbers
    scripts = list(files)
    practice = practice_data(content.practice, markdown) if content.practice is not None else None
    if practice is not None:
        files["practice.js"] = static / "practice.js"
    for name, source in {"style.css": static / "style.css", **files}.items():
        shutil.copyfile(source, site_dir / "assets" / name)

    def write(name: str, **values) -> None:
        page = env.get_template(name).render(
            site=content.site, practice=practice, version=__version__, **values
        )
        (site_dir / name).write_text(page, encoding="utf-8")

    write(
        "index.html",
        sections=sections,
        model=manifest.model if manifest is not None else None,
        scheduler=manifest.scheduler if manifest is not None else None,
        scripts=scripts,
        present=present_data(content, workshop),
    )
    if workshop is not None:
        write(SHEET, workshop=workshop, scripts=[])
    if practice is not None:
        write("practice.html", scripts=["practice.js"])


def zip_site(site_dir: Path) -> Path:
    """The site as `<site>.zip` beside it, one folder inside, written atomically."""
    site_dir = Path(site_dir)
    target = site_dir.with_suffix(".zip")
    with atomic_file(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(site_dir.rglob("*")):
            if path.is_file():
                archive.write(path, Path(site_dir.name) / path.relative_to(site_dir))
    return target

"""Build: content + bundle + templates → a static site folder, written atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt

from stepthrough import __version__
from stepthrough.build.practice import practice_data
from stepthrough.build.widgets import WIDGET_DATA, Assets, steps_phrase
from stepthrough.content import WIDGETS, Content
from stepthrough.errors import StepthroughError
from stepthrough.precompute.bundle import (
    Manifest,
    projection_is_complete,
    read_manifest,
    trajectory_is_complete,
    usual_permissions,
)
from stepthrough.precompute.plan import Job, ProjectionJob, plan_content

TEMPLATES = Path(__file__).resolve().parents[2] / "site_templates"


@dataclass(frozen=True)
class BundleState:
    """What a bundle folder holds for some content: its manifest and the jobs it still lacks."""

    manifest: Manifest | None
    missing: tuple[Job, ...]
    missing_projections: tuple[ProjectionJob, ...] = ()
    needed: bool = True  # False when no section reads the bundle (text and particles only)

    @property
    def complete(self) -> bool:
        if not self.needed:
            return True
        return self.manifest is not None and not self.missing and not self.missing_projections


def bundle_state(content: Content, bundle_dir: Path) -> BundleState:
    manifest = read_manifest(bundle_dir)
    plan = plan_content(content)
    if manifest is None:
        needed = any(WIDGETS[s.meta.widget].needs_bundle for s in content.sections if s.meta.widget)
        return BundleState(None, plan.jobs, tuple(plan.projections.values()), needed=needed)
    fingerprint = manifest.fingerprint()
    missing = tuple(
        j for j in plan.jobs if not trajectory_is_complete(bundle_dir, manifest, j.content_id(fingerprint))
    )
    missing_projections = tuple(
        p
        for p in plan.projections.values()
        if not projection_is_complete(bundle_dir, manifest, p.content_id(fingerprint))
    )
    return BundleState(manifest, missing, missing_projections)


def build_site(content: Content, bundle_dir: Path, out_dir: Path) -> Path:
    """Render the site into a temp folder beside `out_dir`, then swap it into place."""
    state = bundle_state(content, bundle_dir)
    if not state.complete:
        raise StepthroughError(
            f"{bundle_dir}: lacks {len(state.missing)} trajectories and {len(state.missing_projections)} "
            "projections the content needs; run stepthrough precompute"
        )
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.building-"))
    try:
        usual_permissions(staging)
        _render(content, Path(bundle_dir), state.manifest, staging)
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Replace out_dir by staging with two renames, so a reader sees the old site or the new one."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{staging.name[-8:]}")
        out_dir.rename(old)
    staging.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _render(content: Content, bundle_dir: Path, manifest: Manifest | None, site_dir: Path) -> None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["public"] = lambda data: {k: v for k, v in data.items() if not k.startswith("_")}
    env.filters["steps"] = steps_phrase
    markdown = MarkdownIt("commonmark", {"typographer": True}).enable(
        ["table", "replacements", "smartquotes"]
    )
    plan = plan_content(content)
    # Content that needs nothing from a bundle (text and particles, say) builds without one.
    fingerprint = manifest.fingerprint() if manifest is not None else {}
    projections = {sid: p.content_id(fingerprint) for sid, p in plan.projections.items()}
    assets = Assets(bundle_dir, manifest, site_dir, projections)
    sections = []
    for section in content.sections:
        trajectories = [job.content_id(fingerprint) for job in plan.sections[section.id]]
        widget = section.meta.widget
        sections.append(
            {
                "id": section.id,
                "title": section.meta.title,
                "html": markdown.render(section.body),
                "widget": widget,
                "caption": section.meta.caption,
                "data": WIDGET_DATA[widget](section, trajectories, assets) if widget else None,
            }
        )
    scripts = list(dict.fromkeys(f"{s['widget']}.js" for s in sections if s["widget"]))
    if scripts:
        scripts = ["common.js", *scripts, "scroll.js"]  # helpers first; scrolling hooks up last
    practice = practice_data(content.practice, markdown) if content.practice is not None else None
    for name in ["style.css", *scripts, *(["practice.js"] if practice else [])]:
        shutil.copyfile(TEMPLATES / "static" / name, site_dir / "assets" / name)

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
    )
    if practice is not None:
        write("practice.html", scripts=["practice.js"])


def zip_site(site_dir: Path) -> Path:
    """The site as `<site>.zip` beside it, one folder inside, written atomically."""
    site_dir = Path(site_dir)
    target = site_dir.with_suffix(".zip")
    fd, tmp = tempfile.mkstemp(dir=site_dir.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(site_dir.rglob("*")):
                if path.is_file():
                    archive.write(path, Path(site_dir.name) / path.relative_to(site_dir))
        usual_permissions(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target

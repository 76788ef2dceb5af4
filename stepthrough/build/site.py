"""Build: content + bundle + templates → a static site folder, written atomically."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt

from stepthrough import __version__
from stepthrough.content import Content, Section
from stepthrough.errors import StepthroughError
from stepthrough.precompute.bundle import Manifest, read_manifest, trajectory_is_complete
from stepthrough.precompute.plan import Job, plan_content

TEMPLATES = Path(__file__).resolve().parents[2] / "site_templates"
STATIC = ("style.css", "stepper.js")


@dataclass(frozen=True)
class BundleState:
    """What a bundle folder holds for some content: its manifest and the jobs it still lacks."""

    manifest: Manifest | None
    missing: tuple[Job, ...]


def bundle_state(content: Content, bundle_dir: Path) -> BundleState:
    manifest = read_manifest(bundle_dir)
    jobs = plan_content(content).jobs
    if manifest is None:
        return BundleState(None, jobs)
    fingerprint = manifest.fingerprint()
    missing = tuple(
        j for j in jobs if not trajectory_is_complete(bundle_dir, manifest, j.content_id(fingerprint))
    )
    return BundleState(manifest, missing)


def build_site(content: Content, bundle_dir: Path, out_dir: Path) -> Path:
    """Render the site into a temp folder beside `out_dir`, then swap it into place."""
    state = bundle_state(content, bundle_dir)
    if state.missing:
        raise StepthroughError(f"{bundle_dir}: lacks {len(state.missing)} trajectories the content needs")
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.building-"))
    try:
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


class _Assets:
    """Copies bundle frames into the site once each, under content-hashed names."""

    def __init__(self, bundle_dir: Path, manifest: Manifest, site_dir: Path):
        self.bundle_dir, self.manifest, self.site_dir = bundle_dir, manifest, site_dir
        (site_dir / "assets" / "frames").mkdir(parents=True, exist_ok=True)

    def frame_url(self, rel: str) -> str:
        record = self.manifest.files[rel]
        url = f"assets/frames/{record.sha256[:16]}{Path(rel).suffix}"
        target = self.site_dir / url
        if not target.exists():
            shutil.copyfile(self.bundle_dir / rel, target)
        return url


def _render(content: Content, bundle_dir: Path, manifest: Manifest, site_dir: Path) -> None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    markdown = MarkdownIt("commonmark", {"typographer": True}).enable(
        ["table", "replacements", "smartquotes"]
    )
    assets = _Assets(bundle_dir, manifest, site_dir)
    plan = plan_content(content)
    fingerprint = manifest.fingerprint()
    sections = []
    for section in content.sections:
        ids = [job.content_id(fingerprint) for job in plan.sections[section.id]]
        sections.append(
            {
                "id": section.id,
                "title": section.meta.title,
                "html": markdown.render(section.body),
                "widget": section.meta.widget,
                "caption": section.meta.caption,
                "data": _widget_data(section, ids, manifest, assets) if section.meta.widget else None,
            }
        )
    for name in STATIC:
        shutil.copyfile(TEMPLATES / "static" / name, site_dir / "assets" / name)
    page = env.get_template("index.html").render(
        site=content.site,
        sections=sections,
        model=manifest.model,
        scheduler=manifest.scheduler,
        version=__version__,
    )
    (site_dir / "index.html").write_text(page, encoding="utf-8")


def _widget_data(section: Section, ids: list[str], manifest: Manifest, assets: _Assets) -> dict[str, Any]:
    """The inline JSON a widget script reads: its trajectories, with frame URLs and sprite layout."""
    trajectories = []
    for tid in ids:
        t = manifest.trajectories[tid]
        views = {
            name: {
                "src": assets.frame_url(view.file),
                "frames": view.frames,
                "columns": view.columns,
                "rows": view.rows,
                "width": view.width,
                "height": view.height,
            }
            for name, view in t.views.items()
        }
        trajectories.append(
            {"prompt": t.prompt, "seed": t.seed, "steps": t.steps, "guidance": t.guidance, "views": views}
        )
    params = {
        key: list(dict.fromkeys(t[key] for t in trajectories))
        for key in ("prompt", "seed", "steps", "guidance")
    }
    return {"id": section.id, "trajectories": trajectories, "params": params}

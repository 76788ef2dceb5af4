"""What widgets read from the bundle while the site is built: frames (copied into the site once
each, under content-hashed names), finished pictures and projections."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from stepthrough import cache
from stepthrough.bundle import MANIFEST, Manifest, bundle_file, final_picture, formats
from stepthrough.bundle.manifest import picture_sizes
from stepthrough.errors import StepthroughError
from stepthrough.precompute import frames
from stepthrough.precompute.frames import WEBP_METHOD, WEBP_QUALITY
from stepthrough.widgets.base import ProjectionResult, read_projection
from stepthrough.widgets.pictures import grid

R = TypeVar("R", bound=ProjectionResult)
# The keys under which widget data names a file of the site (the URLs below): the single-file export
# inlines those and takes every other string for data, however much it looks like a path.
PATH_FIELDS = frozenset({"src", "picture"})
# Keys under which widget data names a script the widget adds only when the reader asks (the draw
# widget's model, tens of MB): the single-file export leaves these out and flags the page (single_file.py).
LATER_SCRIPTS = frozenset({"model", "pads"})


class Assets:
    """Copies bundle frames into the site once each, under content-hashed names."""

    def __init__(
        self, bundle_dir: Path, manifest: Manifest | None, site_dir: Path, projections: dict[str, str]
    ):
        self.bundle_dir, self.manifest, self.site_dir = bundle_dir, manifest, site_dir
        self.projection_ids = projections  # section id → projection id
        self.sizes = picture_sizes(manifest) if manifest is not None else {}
        self.urls: dict[str, str] = {}  # bundle file → its site URL: each is checked and copied once
        (site_dir / "assets" / "frames").mkdir(parents=True, exist_ok=True)

    def projection(self, section_id: str, kind: type[R]) -> R:
        """What precompute derived for a section (paths, an embedding map, a tally …), checked
        against its kind's types (widgets/base.py); StepthroughError naming its file otherwise."""
        return read_projection(self.bundle_dir, self.manifest, self.projection_ids[section_id], kind)

    def projection_error(self, section_id: str, where: str, problem: str) -> StepthroughError:
        """A section's projection that does not fit the section (a prompt it lacks, say): one line
        naming its file and the key."""
        record = self.manifest.projections[self.projection_ids[section_id]]
        return StepthroughError(f"{self.bundle_dir / record.file}: {where}: {problem}; render the bundle again")

    def frame_url(self, rel: str) -> str:
        """A picture of the bundle copied into the site, once its first bytes say it is a WebP or PNG
        of the size the manifest declares; named by its sha256 and its detected format, never by
        the manifest's name (a forged bundle's `x.html` or `x.svg` must not become a page)."""
        if rel in self.urls:
            return self.urls[rel]
        record = self.manifest.files[rel]
        where, size = self.sizes.get(rel, ("files." + rel, None))
        source = bundle_file(self.bundle_dir, rel)
        picture, problem = formats.picture_problem(formats.read_head(source), size)
        if picture is None:
            raise StepthroughError(
                f"{source}: {problem} ({where} in {MANIFEST} names it); a bundle holds only pictures and data"
            )
        url = f"assets/frames/{record.sha256[:16]}{picture.suffix}"
        target = self.site_dir / url
        if not target.exists():
            shutil.copyfile(source, target)
        self.urls[rel] = url
        return url

    def file_url(self, data: bytes, suffix: str) -> str:
        """Bytes a widget made (thumbnails, say) as a site file, named by content as frames are."""
        url = f"assets/frames/{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
        target = self.site_dir / url
        if not target.exists():
            target.write_bytes(data)
        return url

    def final_frame(self, trajectory_id: str) -> np.ndarray:
        """The finished picture, (H, W, 3) uint8, read back from the bundle's x_t sprite sheet."""
        return final_picture(self.bundle_dir, self.manifest, trajectory_id)

    def picture_url(self, trajectory_id: str) -> str:
        """The finished picture alone, as a small WebP in the site under a content-hashed name: for
        widgets that show only the end of a trajectory (not its whole strip)."""
        return self.file_url(_webp(Image.fromarray(self.final_frame(trajectory_id))), ".webp")

    def sheet_url(self, trajectory_ids: list[str], columns: int) -> str:
        """Finished pictures side by side, `columns` a row, as one small WebP in the site (named by
        content): a light static frame for a widget that shows many pictures. Made once per set of
        strips (by their sha256, which the build verified) and kept in the build cache: reading
        32 finished pictures back out of their strips is a fifth of a build from a complete bundle."""
        records = [self.manifest.files.get(self.manifest.trajectories[t].views["xt"].file) for t in trajectory_ids]
        if any(record is None for record in records):
            return self.file_url(self._sheet(trajectory_ids, columns), ".webp")
        key = {"strips": [record.sha256 for record in records], "columns": columns}
        made = cache.remembered(
            "final-sheet",
            key,
            [Path(__file__), Path(frames.__file__)],
            lambda: base64.b64encode(self._sheet(trajectory_ids, columns)).decode("ascii"),
        )
        return self.file_url(base64.b64decode(made), ".webp")

    def _sheet(self, trajectory_ids: list[str], columns: int) -> bytes:
        return _webp(grid([Image.fromarray(self.final_frame(tid)) for tid in trajectory_ids], columns))

    def views(self, trajectory_id: str, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Some of a trajectory's frame strips as the page uses them: URL and sprite layout per view.

        Only the views named are copied into the site.
        """
        trajectory = self.manifest.trajectories[trajectory_id]
        return {
            name: {
                "src": self.frame_url(view.file),
                "frames": view.frames,
                "columns": view.columns,
                "rows": view.rows,
                "width": view.width,
                "height": view.height,
            }
            for name, view in trajectory.views.items()
            if name in names
        }


def _webp(picture: Image.Image) -> bytes:
    """A picture as WebP, encoded as the bundle's strips are."""
    buffer = io.BytesIO()
    picture.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return buffer.getvalue()

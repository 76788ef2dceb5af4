"""The manifest: what a bundle holds (types, versioned reading and writing), verified by sha256.

Torch-free: the builder and `stepthrough check` read bundles without the model stack.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from stepthrough import __version__
from stepthrough.bundle.atomic import atomic_write
from stepthrough.bundle.ids import render_fingerprint, sha256_file
from stepthrough.errors import StepthroughError

SCHEMA_VERSION = 2  # 2: trajectories may carry cross-attention maps
READABLE_VERSIONS = (1, 2)  # version 1 is version 2 without attention maps
MANIFEST = "manifest.json"
BUNDLE_FOLDERS = ("frames", "latents", "projections")  # every file in these is listed in the manifest


@dataclass
class View:
    """One picture strip of a trajectory: `frames` images of width × height in a grid of `columns`."""

    file: str  # relative to the bundle folder
    frames: int
    width: int
    height: int
    columns: int

    @property
    def rows(self) -> int:
        return -(-self.frames // self.columns)


@dataclass
class AttentionMaps:
    """Where each word acts: one greyscale map per step and word piece, in a PNG grid of `steps`
    rows and one column per token, each map `width` × `height` (the latent grid) and scaled so that
    its brightest point is white; `peak` and `share` hold each map's real numbers."""

    file: str  # relative to the bundle folder
    tokens: list[str]  # the text encoder's own word pieces of the prompt, in order
    steps: int
    width: int
    height: int
    peak: list[list[float]]  # [step][token]: the largest attention probability in the map (white)
    share: list[list[float]]  # [step][token]: the attention probability averaged over the picture


@dataclass
class Trajectory:
    prompt: str
    seed: int
    steps: int
    guidance: float
    timesteps: list[float]
    model_evaluations: int  # batched forward passes (conditional + unconditional together count as one)
    # "xt": the canvas after k steps; "x0": the model's guess at step k; "noise": what step k removed
    views: dict[str, View]
    metrics: dict[str, list[float]] = field(default_factory=dict)
    towards: str = ""  # a second prompt the embedding was blended towards, by `blend`
    blend: float = 0.0
    latents: str = ""  # .npy file of x_t at every step (float16), for projections
    attention: AttentionMaps | None = None  # where the model offers cross-attention (schema 2)

    def files(self) -> list[str]:
        files = [view.file for view in self.views.values()] + ([self.latents] if self.latents else [])
        return files + ([self.attention.file] if self.attention else [])


@dataclass
class Projection:
    kind: str  # the widget's projection kind (widgets/<name>/: "paths", "embedding-map", "tally")
    file: str  # JSON, relative to the bundle folder


@dataclass
class FileRecord:
    sha256: str
    bytes: int


@dataclass
class Manifest:
    bundle_id: str
    model: dict[str, Any]
    scheduler: dict[str, Any]
    trajectories: dict[str, Trajectory] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    plan: dict[str, list[str]] = field(default_factory=dict)  # section id → trajectory ids
    projections: dict[str, Projection] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    created_with: dict[str, str] = field(
        default_factory=lambda: {"package": "stepthrough", "version": __version__}
    )

    def fingerprint(self) -> dict[str, Any]:
        """What trajectory ids were computed from (see plan.Job.content_id)."""
        model = {k: v for k, v in self.model.items() if k != "extra"}
        return render_fingerprint(model, self.scheduler)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=False, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        trajectories = {
            tid: Trajectory(
                **{
                    **t,
                    "views": {k: View(**v) for k, v in t["views"].items()},
                    "attention": AttentionMaps(**t["attention"]) if t.get("attention") else None,
                }
            )
            for tid, t in data.get("trajectories", {}).items()
        }
        files = {path: FileRecord(**rec) for path, rec in data.get("files", {}).items()}
        return cls(
            bundle_id=data["bundle_id"],
            model=data["model"],
            scheduler=data["scheduler"],
            trajectories=trajectories,
            files=files,
            plan=data.get("plan", {}),
            projections={pid: Projection(**p) for pid, p in data.get("projections", {}).items()},
            schema_version=data["schema_version"],
            created_with=data.get("created_with", {}),
        )


def read_manifest(bundle_dir: Path) -> Manifest | None:
    """The bundle's manifest, or None when the folder has none yet."""
    path = Path(bundle_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StepthroughError(
            f"{path}: not a readable manifest ({exc}); delete the bundle folder to start over"
        )
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in READABLE_VERSIONS:
        raise StepthroughError(
            f"{path}: schema_version {version!r} is not one this stepthrough ({__version__}) reads "
            f"(it reads {', '.join(map(str, READABLE_VERSIONS))}); render the bundle again with this version"
        )
    try:
        manifest = Manifest.from_dict(data)
        manifest.schema_version = SCHEMA_VERSION  # written back as version 2: a superset of 1
        return manifest
    except (KeyError, TypeError) as exc:
        raise StepthroughError(
            f"{path}: manifest is missing or has a wrong field ({exc}); render the bundle again"
        )


def write_manifest(bundle_dir: Path, manifest: Manifest) -> None:
    atomic_write(Path(bundle_dir) / MANIFEST, manifest.to_json().encode("utf-8"))


def file_problem(bundle_dir: Path, rel: str, record: FileRecord) -> str | None:
    """Why a listed file cannot be trusted, or None when it is present and intact."""
    path = Path(bundle_dir) / rel
    if not path.is_file():
        return f"{rel}: missing"
    if path.stat().st_size != record.bytes:
        return f"{rel}: {path.stat().st_size} bytes, manifest says {record.bytes}"
    if sha256_file(path) != record.sha256:
        return f"{rel}: sha256 differs from the manifest (file changed or damaged)"
    return None


def trajectory_is_complete(bundle_dir: Path, manifest: Manifest, trajectory_id: str) -> bool:
    """True when the trajectory is listed and every one of its files is present and verifies."""
    trajectory = manifest.trajectories.get(trajectory_id)
    return trajectory is not None and _files_verify(bundle_dir, manifest, trajectory.files())


def projection_is_complete(bundle_dir: Path, manifest: Manifest, projection_id: str) -> bool:
    projection = manifest.projections.get(projection_id)
    return projection is not None and _files_verify(bundle_dir, manifest, [projection.file])


def _files_verify(bundle_dir: Path, manifest: Manifest, files: list[str]) -> bool:
    for rel in files:
        record = manifest.files.get(rel)
        if record is None or file_problem(bundle_dir, rel, record) is not None:
            return False
    return True


def read_json(bundle_dir: Path, rel: str) -> Any:
    return json.loads((Path(bundle_dir) / rel).read_text(encoding="utf-8"))


def final_picture(bundle_dir: Path, manifest: Manifest, trajectory_id: str) -> np.ndarray:
    """A trajectory's finished picture, (H, W, 3) uint8, read back from its x_t sprite sheet."""
    view = manifest.trajectories[trajectory_id].views["xt"]
    row, col = divmod(view.frames - 1, view.columns)
    with Image.open(Path(bundle_dir) / view.file) as sheet:
        box = (col * view.width, row * view.height, (col + 1) * view.width, (row + 1) * view.height)
        return np.asarray(sheet.convert("RGB").crop(box))


def check_bundle(bundle_dir: Path) -> list[str]:
    """Every problem with a bundle: missing or damaged files, views without a file record."""
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    if manifest is None:
        return [f"{bundle_dir / MANIFEST}: missing (is {bundle_dir} a bundle folder?)"]
    problems = [
        problem
        for rel, record in sorted(manifest.files.items())
        if (problem := file_problem(bundle_dir, rel, record)) is not None
    ]
    for tid, trajectory in manifest.trajectories.items():
        problems += [
            f"trajectory {tid}: {rel} is not in the file list"
            for rel in trajectory.files()
            if rel not in manifest.files
        ]
    for pid, projection in manifest.projections.items():
        if projection.file not in manifest.files:
            problems.append(f"projection {pid}: {projection.file} is not in the file list")
    for section, ids in manifest.plan.items():
        problems += [
            f"plan: section {section} names unknown trajectory {t}"
            for t in ids
            if t not in manifest.trajectories
        ]
    return problems

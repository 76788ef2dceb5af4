"""The manifest: what a bundle holds (types, versioned reading and writing), verified by sha256.

Torch-free: the builder and `stepthrough check` read bundles without the model stack.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import os
import re
import stat as statmode
import types as pytypes
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stepthrough import __version__, cache
from stepthrough.atomic import atomic_write
from stepthrough.bundle import formats
from stepthrough.bundle.hashes import trusted_sha256
from stepthrough.bundle.ids import Job, json_sha256, render_fingerprint, sha256_file
from stepthrough.bundle.validate import MAX_DEPTH, dotted, manifest_problems, too_deep
from stepthrough.errors import StepthroughError, printable
from stepthrough.recorder import registered

# 2: the manifest carries `digest`, the sha256 of its canonical form.
# 3: trajectories may carry cross-attention maps (`attention`), a sampler (`scheduler`) and one
#    step's tensors (`tensors`).
# 4: `schedules`: the noise levels each sampler and step count ran through, recorded once at
#    precompute; `tensors` no longer copies them (`coefficients`). Versions 3, 2 and 1 are still
#    read: they are version 4 without schedules (the plan renders their trajectories again), without
#    maps, sampler or tensors (2 and 1) and without a digest (1); a manifest is always written as 4.
SCHEMA_VERSION = 4
READABLE_SCHEMAS = (1, 2, 3, 4)
MANIFEST = "manifest.json"
BUNDLE_FOLDERS = ("frames", "latents", "projections")  # every file in these is listed in the manifest
SHA256 = re.compile(r"^[0-9a-f]{64}$")


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

    @property
    def sheet(self) -> tuple[int, int]:
        """(width, height) of the whole strip: what its file's header must say."""
        return self.columns * self.width, self.rows * self.height


@dataclass
class Schedule:
    """The noise levels one sampler ran through at one step count, read off the diffusers scheduler
    that ran it (precompute/schedule.py): the manifest's `schedules` holds one per sampler and step
    count (`schedule_key`), shared by every trajectory that ran it. Widgets read ᾱ and σ here only."""

    timesteps: list[float]  # [step]: the timestep the model was given
    # [frame], N + 1 of them (the canvas before each step, then after the last): ᾱ, where
    # x_t = √ᾱ·x0 + √(1−ᾱ)·noise; empty for flow matching
    alpha_bar: list[float]
    # [frame]: the scheduler's σ where it keeps them (Euler, Heun, DPM-Solver: ᾱ = 1/(1+σ²); flow
    # matching: x_t = (1−σ)·x0 + σ·noise); empty where it does not (DDIM)
    sigma: list[float]
    alpha_bar_prev: list[float] = field(default_factory=list)  # [step], DDIM: the ᾱ its update steps to


def schedule_key(sampler: str, steps: int) -> str:
    """The key of a sampler's schedule at a step count in the manifest's `schedules`: "model-25" (the
    model's own scheduler), "euler-10"."""
    return f"{sampler or 'model'}-{steps}"


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
    scheduler: str = ""  # a sampler of bundle.ids.SCHEDULERS instead of the model's own (schema 3)
    # What recorders keep beyond frames (stepthrough/recorder.py), by recorder name: in the JSON each
    # is a key of the trajectory of its own, null where it holds none (schema 3).
    records: dict[str, Any] = field(default_factory=dict)

    @property
    def job(self) -> Job:
        """The job this trajectory renders: its id is the job's content id."""
        return Job(self.prompt, self.seed, self.steps, self.guidance, self.towards, self.blend, self.scheduler)

    @property
    def schedule_key(self) -> str:
        """Its schedule's key in the manifest's `schedules`."""
        return schedule_key(self.scheduler, self.steps)

    def files(self) -> list[str]:
        files = [view.file for view in self.views.values()] + ([self.latents] if self.latents else [])
        return files + [file for file, _ in self.recorded_pictures().values()]

    def recorded_pictures(self) -> dict[str, tuple[str, tuple[int, int]]]:
        """Every picture its recordings name: its key below the trajectory ("attention.file") → (the
        file, the (width, height) its header must say), as each entry's recorder says."""
        recorders = registered()
        return {
            f"{name}.{key}": picture
            for name, entry in self.records.items()
            for key, picture in recorders[name].pictures(entry).items()
        }


@dataclass
class ProjectionFile:
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
    projections: dict[str, ProjectionFile] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)  # schedule_key → its noise levels
    schema_version: int = SCHEMA_VERSION
    created_with: dict[str, str] = field(
        default_factory=lambda: {"package": "stepthrough", "version": __version__}
    )

    def fingerprint(self) -> dict[str, Any]:
        """What trajectory ids were computed from (see plan.Job.content_id)."""
        model = {k: v for k, v in self.model.items() if k != "extra"}
        return render_fingerprint(model, self.scheduler)

    def schedule_of(self, trajectory: Trajectory) -> Schedule | None:
        """The noise levels the trajectory ran through (None in a bundle from before schema 4)."""
        return self.schedules.get(trajectory.schedule_key)

    def to_data(self) -> dict[str, Any]:
        """The manifest as JSON data: each recording a key of its trajectory (null where it has none)."""
        data = asdict(self)
        for trajectory in data["trajectories"].values():
            records = trajectory.pop("records")
            trajectory.update({name: records.get(name) for name in registered()})
        return data

    def to_json(self) -> str:
        data = self.to_data()
        data["digest"] = manifest_digest(data)
        return json.dumps(data, indent=1, sort_keys=False, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """The manifest in `data`; ValueError naming the first entry of a wrong type, an unsafe path
        or a value out of range (bundle/validate.py)."""
        manifest = typed(cls, {k: v for k, v in data.items() if k != "digest"} if isinstance(data, dict) else data)
        problem = unsafe_entry(manifest)
        if problem:
            raise ValueError(problem)
        _first(manifest_problems(manifest))
        return manifest


def typed(kind: Any, data: Any) -> Any:
    """`data` as the manifest type `kind` (a dataclass with typed fields); ValueError naming the first
    entry of a wrong type. Also for a projection's file (widgets/base.py)."""
    problems: list[str] = []
    value = _typed(kind, data, (), problems)
    _first(problems)
    return value


def _first(problems: list[str]) -> None:
    """ValueError with the first problem (and how many more), when there is any."""
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValueError(problems[0] + more)


EXPECTED = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}  # as a problem says each type


def _typed(kind: Any, value: Any, at: tuple[str, ...], problems: list[str]) -> Any:
    """`value` as the manifest type `kind` (a dataclass above, dict[str, T], list[T], str, int, float,
    T | None or Any), or None with a problem for each entry of a wrong type, naming where it sits:
    "trajectories.<id>.views.xt.frames: expected a whole number (got 'four')"."""
    if kind is Any:
        return value
    optional, kind, origin, item = _shape(kind)
    if optional and value is None:  # T | None: an entry that may be null
        return None
    if origin is dict:
        if _is_mapping(value, at, problems):
            return {name: _typed(item, v, (*at, name), problems) for name, v in value.items()}
        return None
    if origin is dataclasses.dataclass:
        return _typed_dataclass(kind, value, at, problems) if _is_mapping(value, at, problems) else None
    if origin is list:
        return _typed_list(item, value, at, problems)
    return _typed_scalar(kind, value, at, problems)


def _is_mapping(value: Any, at: tuple[str, ...], problems: list[str]) -> bool:
    if not isinstance(value, dict):
        problems.append(f"{_where(at)}: expected keys and values{_got(value)}")
        return False
    return True


def _typed_dataclass(kind: type, value: dict, at: tuple[str, ...], problems: list[str]) -> Any:
    fields, types = _fields(kind)
    before = len(problems)
    records = None
    if kind is Trajectory:  # its recordings: keys of their own, read by their recorders' types
        value, records = _records(value, at, problems)
    problems += [f"{dotted(*at, name)}: unknown key" for name in value if name not in fields]
    problems += [
        f"{dotted(*at, name)}: missing"
        for name, f in fields.items()
        if name not in value and f.default is f.default_factory is dataclasses.MISSING
    ]
    checked = {name: _typed(types[name], v, (*at, name), problems) for name, v in value.items() if name in fields}
    if records is not None:
        checked["records"] = records
    return None if len(problems) > before else kind(**checked)


def _records(value: dict, at: tuple[str, ...], problems: list[str]) -> tuple[dict, dict[str, Any]]:
    """A trajectory's keys without its recordings, and each recording (not null) as its recorder's
    entry type; "records" is no key of the JSON."""
    recorders = registered()
    rest = {k: v for k, v in value.items() if k not in recorders and k != "records"}
    if "records" in value:
        problems.append(f"{dotted(*at, 'records')}: unknown key")
    records = {
        name: _typed(recorder.entry, value[name], (*at, name), problems)
        for name, recorder in recorders.items()
        if value.get(name) is not None
    }
    return rest, records


def _typed_list(item: Any, value: Any, at: tuple[str, ...], problems: list[str]) -> list | None:
    if not isinstance(value, list):
        problems.append(f"{_where(at)}: expected a list{_got(value)}")
        return None
    if item is float and all(type(v) is float or type(v) is int for v in value):
        return [float(v) for v in value]  # timesteps and metrics: most of a manifest's values
    if item is str and all(type(v) is str for v in value):
        return list(value)
    return [_typed(item, v, (*at, str(i)), problems) for i, v in enumerate(value)]


def _typed_scalar(kind: type, value: Any, at: tuple[str, ...], problems: list[str]) -> Any:
    if kind in (int, float) and isinstance(value, int | float) and not isinstance(value, bool):
        if kind is float:
            return float(value)
        if isinstance(value, int) or value.is_integer():
            return int(value)
    elif (kind is str and isinstance(value, str)) or (kind is bool and isinstance(value, bool)):
        return value
    problems.append(f"{_where(at)}: expected {EXPECTED[kind]}{_got(value)}")
    return None


def _where(at: tuple[str, ...]) -> str:
    return dotted(*at) or "(top level)"


@functools.cache
def _shape(kind: Any) -> tuple[bool, Any, Any, Any]:
    """(may be null, the type without None, its origin — dict, list, or `dataclasses.dataclass` for a
    manifest dataclass —, the type of its items): what `_typed` asks of a type, asked once."""
    optional = typing.get_origin(kind) in (typing.Union, pytypes.UnionType)
    if optional:
        (kind,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
    origin = typing.get_origin(kind)
    if origin is None and dataclasses.is_dataclass(kind):
        origin = dataclasses.dataclass
    item = typing.get_args(kind)[-1] if origin in (dict, list) else None
    return optional, kind, origin, item


@functools.cache
def _fields(kind: type) -> tuple[dict[str, dataclasses.Field], dict[str, Any]]:
    """A manifest dataclass's fields by name, and their types."""
    return {f.name: f for f in dataclasses.fields(kind)}, typing.get_type_hints(kind)


def _got(value: Any) -> str:
    """What a problem shows of the value it found."""
    if isinstance(value, dict | list):
        return f" (got {'keys and values' if isinstance(value, dict) else 'a list'})"
    return printable(f" (got {value!r:.40})", newlines=False)


def manifest_digest(data: dict[str, Any]) -> str:
    """sha256 of a manifest's canonical JSON (sorted keys, no spaces), its own `digest` left out."""
    return json_sha256({key: value for key, value in data.items() if key != "digest"})


def _digest_of(raw: bytes, data: dict[str, Any]) -> str:
    """manifest_digest(data) for the manifest file's bytes `raw`, from the build cache when an earlier
    build worked it out for the same bytes (sha256 of the file, 2 ms, instead of re-serialising it)."""
    key = hashlib.sha256(raw).hexdigest()
    found = cache.remembered("manifest-digest", key, [Path(__file__)], lambda: manifest_digest(data))
    return found if isinstance(found, str) else manifest_digest(data)


def plain_path_problem(rel: Any) -> str | None:
    """Why `rel` is not a plain relative path into one of the bundle's folders, or None."""
    # split by hand, not with PurePosixPath: a build checks every path of the manifest twice or more
    parts = rel.split("/") if isinstance(rel, str) else []
    if (
        len(parts) < 2
        or "\\" in rel
        or "\0" in rel
        or parts[0] not in BUNDLE_FOLDERS
        or any(part in ("", "..", ".") for part in parts)  # "" also catches "/abs", "a//b" and "a/"
    ):
        return f"{rel!r} is not a path inside the bundle (expected {', '.join(f + '/NAME' for f in BUNDLE_FOLDERS)})"
    return formats.name_problem(rel)


def named_files(manifest: Manifest) -> list[tuple[str, str]]:
    """Every (entry, path) in the manifest that names a file of the bundle."""
    named = [(f"files.{rel}", rel) for rel in manifest.files]
    for tid, trajectory in manifest.trajectories.items():
        named += [
            (f"trajectories.{tid}.views.{name}.file", view.file) for name, view in trajectory.views.items()
        ]
        if trajectory.latents:
            named.append((f"trajectories.{tid}.latents", trajectory.latents))
        named += [(f"trajectories.{tid}.{key}", file) for key, (file, _) in trajectory.recorded_pictures().items()]
    named += [(f"projections.{pid}.file", p.file) for pid, p in manifest.projections.items()]
    return named


def unsafe_entry(manifest: Manifest) -> str | None:
    """The first manifest entry that names a file outside the bundle or a malformed sha256, if any."""
    for where, rel in named_files(manifest):
        if (problem := plain_path_problem(rel)) is not None:
            return f"{where}: {problem}"
    for rel, record in manifest.files.items():
        if not SHA256.match(record.sha256) or record.bytes < 0:
            return f"files.{rel}: expected a sha256 of 64 hex digits and a byte count ≥ 0"
    return None


def bundle_file(bundle_dir: Path, rel: str) -> Path:
    """The bundle's file `rel`; StepthroughError when `rel` (or a symlink on the way) leads out of the bundle."""
    problem = plain_path_problem(rel)
    path = Path(bundle_dir) / rel
    if problem is None and not _inside(os.fspath(bundle_dir), rel):
        problem = f"{rel!r} is a symlink that leads out of the bundle (or in a loop); bundles hold their own files"
    if problem is not None:
        raise StepthroughError(f"{Path(bundle_dir) / MANIFEST}: {problem}")
    return path


_REAL_FOLDERS: dict[str, str] = {}  # folder → its real path; emptied by each read_manifest
_LINKS: dict[str, frozenset[str]] = {}  # folder → the names of the symlinks in it; emptied likewise


def _real_folder(folder: str) -> str:
    """The folder's real path, worked out once per manifest read."""
    if folder not in _REAL_FOLDERS:
        _REAL_FOLDERS[folder] = os.path.realpath(folder)
    return _REAL_FOLDERS[folder]


def _inside(bundle_dir: str, rel: str) -> bool:
    """True when bundle_dir/rel, symlinks followed, is inside the bundle folder (or a missing file
    there). Folders are resolved and listed once per manifest read (a listing says which entries
    are symlinks, so a plain file costs no system call): a build asks this of every file several times."""

    def links(folder: str) -> frozenset[str]:
        if folder not in _LINKS:
            try:
                with os.scandir(folder) as entries:
                    _LINKS[folder] = frozenset(e.name for e in entries if e.is_symlink())
            except OSError:  # not a folder (yet): nothing in it is a link
                _LINKS[folder] = frozenset()
        return _LINKS[folder]

    parent, name = os.path.join(bundle_dir, rel).rsplit("/", 1)
    try:
        root, target = _real_folder(bundle_dir), os.path.join(_real_folder(parent), name)
        if name in links(parent):
            target = os.path.realpath(target)
    except (OSError, RuntimeError, ValueError):  # a symlink loop
        return False
    return target.startswith(root.rstrip(os.sep) + os.sep)


def read_manifest(bundle_dir: Path) -> Manifest | None:
    """The bundle's manifest, or None when the folder has none yet.

    StepthroughError when it cannot be trusted: unreadable, of the wrong shape, naming a file
    outside the bundle, or changed since stepthrough wrote it (its digest no longer matches).
    """
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / MANIFEST
    _REAL_FOLDERS.clear()  # a folder swapped for a symlink since the last read counts as one,
    _LINKS.clear()  # and so does a file
    if bundle_dir.exists() and not bundle_dir.is_dir():
        raise StepthroughError(
            f"{bundle_dir}: is a file, not a bundle folder; move it away or choose another bundle"
        )
    if path.is_dir():
        raise StepthroughError(
            f"{path}: is a folder, not a manifest file; delete it to render the bundle again"
        )
    if not path.exists() and not path.is_symlink():
        return None
    try:
        raw = path.read_bytes()
        data = parse_json(raw)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise StepthroughError(
            f"{path}: not a readable manifest ({reason}); delete the bundle folder to start over"
        )
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in READABLE_SCHEMAS:
        raise StepthroughError(
            f"{path}: schema_version {version!r} is not one this stepthrough ({__version__}) reads "
            f"(it reads {', '.join(map(str, READABLE_SCHEMAS))}); render the bundle again with this version"
        )
    if version >= 2 and data.get("digest") != _digest_of(raw, data):
        raise StepthroughError(
            f"{path}: changed after stepthrough wrote it (its digest no longer matches its contents); "
            "restore the bundle from its source or render it again"
        )
    try:
        manifest = Manifest.from_dict(data if version >= SCHEMA_VERSION else upgraded(data))
    except ValueError as exc:
        raise StepthroughError(f"{path}: {exc}; render the bundle again")
    for _, rel in named_files(manifest):
        bundle_file(bundle_dir, rel)  # before anything reads it: no symlink out of the bundle
    return manifest


def upgraded(data: dict[str, Any]) -> dict[str, Any]:
    """An older manifest's data as version 4 reads it: its tensors' own copy of the schedule
    (`coefficients`, version 3) left out; its trajectories have no schedule, so the plan renders them again."""
    trajectories = data.get("trajectories")
    if not isinstance(trajectories, dict):
        return data
    upgrade = {}
    for tid, trajectory in trajectories.items():
        tensors = trajectory.get("tensors") if isinstance(trajectory, dict) else None
        if isinstance(tensors, dict) and "coefficients" in tensors:
            tensors = {k: v for k, v in tensors.items() if k != "coefficients"}
            trajectory = {**trajectory, "tensors": tensors}
        upgrade[tid] = trajectory
    return {**data, "trajectories": upgrade}


def write_manifest(bundle_dir: Path, manifest: Manifest) -> None:
    manifest.schema_version = SCHEMA_VERSION  # what this writes is version 4, whatever it read
    atomic_write(Path(bundle_dir) / MANIFEST, manifest.to_json().encode("utf-8"))


def file_problem(bundle_dir: Path, rel: str, record: FileRecord, trust_times: bool = False) -> str | None:
    """Why a listed file cannot be trusted, or None when it is present and intact.

    `trust_times`: a file whose size and times have not moved since it was last hashed keeps that
    hash (bundle/hashes.py); builds do, `stepthrough check` does not."""
    try:
        path = bundle_file(bundle_dir, rel)
    except StepthroughError as exc:
        return exc.message.removeprefix(f"{Path(bundle_dir) / MANIFEST}: ")
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return f"{rel}: missing"
    except OSError as exc:
        return f"{rel}: cannot be read ({exc.strerror})"
    if not statmode.S_ISREG(st.st_mode):
        return f"{rel}: missing"
    try:
        if st.st_size != record.bytes:
            return f"{rel}: {st.st_size} bytes, manifest says {record.bytes}"
        digest = trusted_sha256(_real_folder(os.fspath(bundle_dir)), rel, st) if trust_times else sha256_file(path)
        if digest != record.sha256:
            return f"{rel}: sha256 differs from the manifest (file changed or damaged)"
    except OSError as exc:
        return f"{rel}: cannot be read ({exc.strerror})"
    return None


def trajectory_is_complete(bundle_dir: Path, manifest: Manifest, trajectory_id: str) -> bool:
    """True when the trajectory is listed, its parameters still give its id, and every one of its
    files is present and verifies."""
    trajectory = manifest.trajectories.get(trajectory_id)
    return (
        trajectory is not None
        and derived_id(manifest, trajectory) == trajectory_id
        and _files_verify(bundle_dir, manifest, trajectory.files())
    )


def derived_id(manifest: Manifest, trajectory: Trajectory) -> str:
    """The id a trajectory's parameters give: a prompt edited in the manifest no longer matches its key."""
    return trajectory.job.content_id(manifest.fingerprint())


def projection_is_complete(bundle_dir: Path, manifest: Manifest, projection_id: str) -> bool:
    projection = manifest.projections.get(projection_id)
    return projection is not None and _files_verify(bundle_dir, manifest, [projection.file])


def _files_verify(bundle_dir: Path, manifest: Manifest, files: list[str]) -> bool:
    for rel in files:
        record = manifest.files.get(rel)
        if record is None or file_problem(bundle_dir, rel, record, trust_times=True) is not None:
            return False
    return True


def parse_json(raw: bytes) -> Any:
    """A bundle's JSON file: UTF-8, nested no deeper than MAX_DEPTH; ValueError saying why not."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    except RecursionError:  # the parser's own stack: thousands of nested [ or {
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # JSONDecodeError, and integers longer than Python reads
        raise ValueError(f"not JSON ({exc})") from None
    deep = too_deep(data, MAX_DEPTH)
    if deep is not None:
        raise ValueError(f"{deep or '(top level)'}: nested more than {MAX_DEPTH} levels deep")
    return data


def read_json(bundle_dir: Path, rel: str) -> Any:
    """A bundle's JSON file (a projection); StepthroughError naming it when it is not readable JSON."""
    path = bundle_file(bundle_dir, rel)
    try:
        return parse_json(path.read_bytes())
    except OSError as exc:
        raise StepthroughError(f"{path}: cannot be read ({exc.strerror}); render the bundle again")
    except ValueError as exc:
        raise StepthroughError(f"{path}: {exc}; render the bundle again")


def picture_sizes(manifest: Manifest) -> dict[str, tuple[str, tuple[int, int]]]:
    """Every picture the manifest names → (the entry that names it, its declared (width, height)):
    what a picture's header must say before it is copied or decoded."""
    sizes: dict[str, tuple[str, tuple[int, int]]] = {}
    for tid, trajectory in manifest.trajectories.items():
        at = dotted("trajectories", tid)
        for name, view in trajectory.views.items():
            sizes[view.file] = (dotted(at, "views", name, "file"), view.sheet)
        for key, (file, sheet) in trajectory.recorded_pictures().items():
            sizes[file] = (f"{at}.{key}", sheet)
    return sizes


def format_problem(bundle_dir: Path, rel: str, size: tuple[int, int] | None) -> str | None:
    """Why the bundle's file `rel` is not what its folder holds (frames/: a WebP or PNG picture of
    `size`; latents/: a .npy array; projections/: JSON), from its first bytes; None when it is."""
    try:
        head = formats.read_head(bundle_file(bundle_dir, rel))
    except (OSError, StepthroughError):
        return None  # missing or unsafe: file_problem says so
    folder = rel.partition("/")[0]
    if folder == "frames":
        return formats.picture_problem(head, size)[1]
    return formats.data_problem(head, formats.FOLDER_FORMATS[folder][0])


def final_picture(bundle_dir: Path, manifest: Manifest, trajectory_id: str) -> np.ndarray:
    """A trajectory's finished picture, (H, W, 3) uint8 (read-only), read back from its x_t sprite sheet.

    Kept in memory (the claims and the widgets both ask, and serve asks every rebuild) and in the
    build cache (a fresh build from a complete bundle would otherwise decode 30 strips), both by the
    sheet's sha256, which the build verified."""
    view = manifest.trajectories[trajectory_id].views["xt"]
    record = manifest.files.get(view.file)
    if record is None:
        return _read_final(bundle_dir, view)
    key = (record.sha256, view.frames, view.columns, view.width, view.height)
    if key not in _FINAL_PICTURES:
        raw = cache.remembered(
            "final-picture", list(key), [Path(__file__)],
            lambda: base64.b64encode(_read_final(bundle_dir, view).tobytes()).decode("ascii"),
        )
        try:
            picture = np.frombuffer(base64.b64decode(raw), dtype=np.uint8).reshape(view.height, view.width, 3)
        except (TypeError, ValueError):  # a damaged cache entry: read the strip
            picture = _read_final(bundle_dir, view)
        picture.flags.writeable = False
        _FINAL_PICTURES[key] = picture
    return _FINAL_PICTURES[key]


def _read_final(bundle_dir: Path, view: View) -> np.ndarray:
    row, col = divmod(view.frames - 1, view.columns)
    path = bundle_file(bundle_dir, view.file)
    try:
        with formats.opened_picture(path, view.sheet) as sheet:
            box = (col * view.width, row * view.height, (col + 1) * view.width, (row + 1) * view.height)
            picture = np.asarray(sheet.convert("RGB").crop(box))
    except formats.FormatError as exc:
        raise StepthroughError(f"{path}: {exc}; render the bundle again")
    picture.flags.writeable = False
    return picture


_FINAL_PICTURES: dict[tuple, np.ndarray] = {}  # by the sheet's sha256, which the build verified


def check_bundle(bundle_dir: Path) -> list[str]:
    """Every problem with a bundle: missing, damaged or extra files, views without a file record,
    trajectories whose parameters were changed, trajectories an interrupted run did not render."""
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    if manifest is None:
        return [f"{bundle_dir / MANIFEST}: missing (is {bundle_dir} a bundle folder?)"]
    sizes = picture_sizes(manifest)
    problems = []
    for rel, record in sorted(manifest.files.items()):
        problem = file_problem(bundle_dir, rel, record)
        if problem is None and (wrong := format_problem(bundle_dir, rel, sizes.get(rel, ("", None))[1])):
            named = f" ({sizes[rel][0]} names it)" if rel in sizes else ""
            problem = f"{rel}: {wrong}{named}; a bundle holds only pictures and data"
        if problem is not None:
            problems.append(problem)
    for tid, trajectory in manifest.trajectories.items():
        if derived_id(manifest, trajectory) != tid:
            problems.append(
                f"trajectory {tid}: its prompt, seed, steps, guidance, blend or sampler was changed in the manifest "
                "(they no longer give this id)"
            )
        problems += [
            f"trajectory {tid}: {rel} is not in the file list"
            for rel in trajectory.files()
            if rel not in manifest.files
        ]
    for pid, projection in manifest.projections.items():
        if projection.file not in manifest.files:
            problems.append(f"projection {pid}: {projection.file} is not in the file list")
    planned = list(dict.fromkeys(t for ids in manifest.plan.values() for t in ids))
    unrendered = [t for t in planned if t not in manifest.trajectories]
    if unrendered:
        problems.append(
            f"incomplete: {len(planned) - len(unrendered)} of the {len(planned)} trajectories its plan names "
            "are rendered (an interrupted precompute?); run `stepthrough precompute` again to finish it"
        )
    for folder in BUNDLE_FOLDERS:
        if (bundle_dir / folder).is_dir():
            problems += [
                f"{folder}/{path.name}: not listed in the manifest (left by an interrupted run, or added); "
                "delete it, or let `stepthrough precompute` finish the bundle"
                for path in sorted((bundle_dir / folder).iterdir())
                if f"{folder}/{path.name}" not in manifest.files
            ]
    return problems

"""What every widget is: a name, typed settings, the trajectories and projection it asks for, the data
it hands its page script. Helpers several widgets share live here too.

A widget is one folder, `widgets/<name>/`: `__init__.py` (a `Widget` subclass and `WIDGET`),
`<name>.html` (a Jinja2 template that shows a meaningful static frame without JavaScript) and
`<name>.js` (a classic script that drives it from one state object). `widgets/__init__.py`
lists the folders, one line each.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

import numpy as np

from stepthrough import locale
from stepthrough.bundle import Manifest, read_json
from stepthrough.bundle.ids import Job
from stepthrough.bundle.manifest import typed
from stepthrough.errors import StepthroughError, printable
from stepthrough.options import Schema
from stepthrough.recorder import Recorder

if TYPE_CHECKING:
    from stepthrough.content import Section, Sweep
    from stepthrough.site.assets import Assets

# A trajectory's parameters, in the order pickers show them, with their labels.
PARAMS = {"prompt": "Prompt", "seed": "Seed", "steps": "Steps", "guidance": "Guidance", "blend": "Blend"}
DEFAULT_BLEND = (0.0, 0.25, 0.5, 0.75, 1.0)


class NoSettings(Schema):
    """For widgets that take no settings beyond their sweep."""

    none_hint = "(none: this widget takes no settings)"


R = TypeVar("R", bound="ProjectionResult")


class Widget:
    """One widget. Subclasses set the class attributes and write `data`; the rest has defaults."""

    name: ClassVar[str]  # the front matter's `widget:` value, and the template's and script's name
    settings: ClassVar[type[Schema]] = NoSettings  # what `settings:` may hold, validated on load
    needs_sweep: ClassVar[bool] = True  # the section must say which trajectories it shows
    needs_bundle: ClassVar[bool] = True  # False: its data comes from the package alone (particles)
    # What its trajectories must carry beyond frames (stepthrough/recorder.py); the plan asks for it.
    recorders: ClassVar[tuple[Recorder, ...]] = ()
    projection_type: ClassVar[type[Projection] | None] = None  # the kind `projection` returns

    @property
    def folder(self) -> Path:
        return Path(inspect.getfile(type(self))).parent

    @property
    def script(self) -> Path:
        return self.folder / f"{self.name}.js"

    def jobs(self, sweep: Sweep | None, settings: Any) -> tuple[Job, ...]:
        """The trajectories the section shows, in order: by default every combination of its sweep."""
        return sweep_jobs(sweep) if sweep is not None else ()

    def sweep_problems(self, sweep: Sweep) -> list[tuple[str, str]]:
        """(key, what is wrong) for each thing this widget needs of its sweep that the sweep lacks."""
        return []

    def room_problems(self, section: Section, prompt: str) -> list[tuple[str, str]] | None:
        """Whether this section can be a workshop's room (seeds across the room): None when it cannot;
        else (key under `workshop.room`, what is wrong) for each problem with the room's `prompt:`.
        By default: a section whose settings have `room:` (the stepper's), which names its own prompt."""
        if getattr(section.settings, "room", None) is None:
            return None
        if prompt:
            return [("prompt", "only a draw section's room takes a prompt; a stepper's is in its settings' 'room:'")]
        return []

    def room_link(self, section: Section, prompt: str) -> str:
        """The link every device of the room opens (once room_problems found none)."""
        return f"#{section.id}?seed=room"

    def projection(self, sweep: Sweep | None, settings: Any, jobs: tuple[Job, ...]) -> Projection | None:
        """What precompute must derive from several trajectories or prompts for it, if anything."""
        return None

    def data(self, section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
        """What the template and script read: JSON-able; keys starting with "_" are for the template only."""
        raise NotImplementedError


class ProjectionSource(Protocol):
    """What precompute hands a projection to draw from (precompute/draw.py implements it)."""

    def trajectory_id(self, job: Job) -> str: ...

    def latents(self, job: Job) -> np.ndarray:
        """(F, *latent) x_t at every step of a rendered trajectory."""

    def picture(self, job: Job) -> np.ndarray:
        """(H, W, 3) uint8: a rendered trajectory's finished picture."""

    def prompt_vectors(self, prompts: list[str]) -> np.ndarray:
        """(n, d): one embedding vector per prompt, from the model (only where the model is loaded)."""


@dataclasses.dataclass(frozen=True)
class Projection:
    """A projection a widget asks for: what precompute derives from several trajectories or prompts
    into one JSON file of the bundle. One frozen dataclass per kind, its fields say what it is drawn
    from (tuples of jobs or of prompts, strings); `draw` returns the file's typed contents."""

    kind: ClassVar[str]
    needs_model: ClassVar[bool] = False  # True: drawn from the model (prompt embeddings), by rank 0

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        raise NotImplementedError

    def draw(self, source: ProjectionSource) -> ProjectionResult:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for shard manifests: `from_dict` reads it back."""
        return {"kind": self.kind, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        values = {key: value for key, value in data.items() if key != "kind"}
        for key, value in values.items():
            if isinstance(value, list):  # tuples of jobs or of strings
                values[key] = tuple(Job(**v) if isinstance(v, dict) else v for v in value)
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class ProjectionResult:
    """A projection's file in the bundle, typed: `{"kind": …, **fields}` as JSON."""

    kind: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: Any, manifest: Manifest | None = None) -> Self:
        """The result in a projection file's data; ValueError naming the first key of a wrong type,
        a list whose length disagrees with another, or (given the manifest) an unknown trajectory."""
        if not isinstance(data, dict) or data.get("kind") != cls.kind:
            found = data.get("kind") if isinstance(data, dict) else None
            raise ValueError(f"kind: expected {cls.kind!r} (got {printable(repr(found), newlines=False):.40})")
        result = typed(cls, {key: value for key, value in data.items() if key != "kind"})
        problems = result.problems()
        if manifest is not None:
            for name in ("trajectories", "references"):
                ids = getattr(result, name, [])
                unknown = next((i for i, tid in enumerate(ids) if tid not in manifest.trajectories), None)
                if unknown is not None:
                    problems.append(f"{name}.{unknown}: names no trajectory of the manifest")
        if problems:
            raise ValueError(problems[0])
        return result

    def problems(self) -> list[str]:
        """What its types do not say: list lengths that must agree, ranges (one line each)."""
        return []


def points_problems(name: str, paths: list[list[list[float]]], count: int) -> list[str]:
    """`count` paths (per trajectory) of at least one finite (x, y) point each."""
    if len(paths) != count or not count:
        return [f"{name}: expected {count} paths, one per trajectory (got {len(paths)})"]
    for i, path in enumerate(paths):
        if not path:
            return [f"{name}.{i}: expected at least one point (got none)"]
        for j, point in enumerate(path):
            if len(point) != 2 or not all(math.isfinite(v) for v in point):
                return [f"{name}.{i}.{j}: expected a point of two finite numbers"]
    return []


def shares_problems(name: str, shares: list[float]) -> list[str]:
    """The share of the variance each of the two axes explains: two numbers from 0 to 1."""
    if len(shares) != 2 or not all(0 <= v <= 1 for v in shares):
        return [f"{name}: expected two shares from 0 to 1, one per axis (got {shares!r:.40})"]
    return []


def read_projection(bundle_dir: Path, manifest: Manifest, projection_id: str, kind: type[R]) -> R:
    """A projection of the bundle as its kind's result; StepthroughError naming its file and the key."""
    record = manifest.projections[projection_id]
    data = read_json(bundle_dir, record.file)
    try:
        return kind.from_json(data, manifest)
    except ValueError as exc:
        raise StepthroughError(f"{Path(bundle_dir) / record.file}: {exc}; render the bundle again")


def projection_kinds() -> dict[str, type[ProjectionResult]]:
    """Every projection result type, by kind (`stepthrough check` reads each projection as its kind)."""
    from stepthrough.widgets import WIDGETS  # noqa: F401 (importing the widgets defines every kind)

    def below(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *below(sub))]

    return {cls.kind: cls for cls in below(ProjectionResult)}


def word_prefixes(prompt: str) -> list[str]:
    """ "a red apple" → ["", "a", "a red", "a red apple"]: the prompt growing word by word."""
    words = prompt.split()
    return [" ".join(words[:n]) for n in range(len(words) + 1)]


def sweep_jobs(sweep: Sweep) -> tuple[Job, ...]:
    """Every combination of a sweep's prompts (word by word, blended), seeds, steps, guidance and samplers."""
    prompts = sweep.prompts
    if sweep.word_by_word:
        prompts = [prefix for prompt in prompts for prefix in word_prefixes(prompt)]
    blends = (
        [(sweep.towards, float(w)) for w in (sweep.blend or DEFAULT_BLEND)] if sweep.towards else [("", 0.0)]
    )
    schedulers = sweep.schedulers or [""]
    combos = itertools.product(prompts, sweep.seeds, sweep.steps, sweep.guidance, blends, schedulers)
    return tuple(dict.fromkeys(Job(p, s, n, float(g), *b, k) for p, s, n, g, b, k in combos))


def same_start(trajectory: Any) -> tuple:
    """What a trajectory (or Job) shares with the ones its picture is compared against: all but its
    step count."""
    return (trajectory.prompt, trajectory.seed, trajectory.guidance, trajectory.towards, trajectory.blend)


def references(trajectories: dict[str, Any]) -> dict[str, str]:
    """Each trajectory's reference among `trajectories` (id → trajectory, in the section's order):
    the one with the most steps from the same start. The page and the claims measure against it."""
    most: dict[tuple, str] = {}
    for tid, trajectory in trajectories.items():
        start = same_start(trajectory)
        if start not in most or trajectory.steps > trajectories[most[start]].steps:
            most[start] = tid
    return {tid: most[same_start(trajectory)] for tid, trajectory in trajectories.items()}


def steps_phrase(count: int) -> str:
    """'1 step', '25 steps', in the language of the site being rendered (stepthrough/locale.py)."""
    return str(locale.now()("steps", n=count))


def label(value: Any) -> str:
    """How a parameter value reads on the page: 5.0 → "5", 0.25 → "0.25", "" → "(no words)"."""
    if isinstance(value, float):
        return locale.decimal(f"{value:g}")
    if isinstance(value, str) and value:
        return locale.now().prompt(value)  # with its translation, where the site gives one
    return str(value) if value != "" else no_words()


def no_words() -> str:
    """How the empty prompt reads on the page: "(no words)" in English."""
    return str(locale.now()("no_words"))


def model_sizes(manifest: Manifest) -> dict[str, Any]:
    """Picture and latent sizes, and how many times fewer numbers the latent holds."""
    height, width = manifest.model["image_size"]
    latent = manifest.model["latent_shape"]
    pixels, numbers = height * width * 3, 1
    for n in latent:
        numbers *= n
    return {
        "image": [height, width, 3],
        "latent": latent,
        "pixels": pixels,
        "numbers": numbers,
        "factor": round(pixels / numbers, 1),
    }


def placed_paths(
    paths: list[list[list[float]]], frame: list[list[list[float]]] | None = None, margin: float = 0.0
) -> list[list[list[float]]]:
    """Paths scaled into a 100 × 100 box (y downwards, as SVG draws), the same scale on both axes:
    framed on every path, or on the paths `frame` widened by `margin` (a share of their span) with
    the points outside held at the box's edge."""
    points = [point for path in (frame or paths) for point in path]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    low_x, low_y = min(xs) - margin * span, min(ys) - margin * span
    span *= 1 + 2 * margin
    pad = 6.0

    def place(value: float, low: float) -> float:
        return min(100.0, max(0.0, pad + (value - low) / span * (100 - 2 * pad)))

    return [[[round(place(x, low_x), 2), round(100 - place(y, low_y), 2)] for x, y in path] for path in paths]


def trajectory_entry(assets: Assets, trajectory_id: str, views: Iterable[str] = ("xt",)) -> dict[str, Any]:
    """A trajectory's parameters and the frames of the views a widget shows."""
    t = assets.manifest.trajectories[trajectory_id]
    return {
        "prompt": t.prompt,
        "label": label(t.prompt),  # with its translation, where the site gives one
        "seed": t.seed,
        "steps": t.steps,
        "guidance": t.guidance,
        "towards": t.towards,
        "blend": t.blend,
        "views": assets.views(trajectory_id, views),
    }

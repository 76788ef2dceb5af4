"""What a manifest's values must be beyond their types: ranges, list lengths that agree with a
trajectory's `steps`, picture geometry that fits the format, the model's and scheduler's dicts,
the schedules; each recording as its recorder checks it (`Recorder.check`, with `Problems` here).

The trajectory id covers a trajectory's prompt, seed, steps, guidance, blend and sampler; nothing
else in a manifest is vouched for by anything, so each field is checked here before any widget
reads it. Each problem is one line: the key, what it holds, what would be right.
"""

from __future__ import annotations

import math
from typing import Any

from stepthrough.bundle.formats import MAX_PIXELS, MAX_SIDE
from stepthrough.errors import printable
from stepthrough.recorder import registered

MAX_STEPS = 1000  # more than any sampler is run for; the content's own limit is lower
MAX_DEPTH = 32  # of the free-form dicts (model, scheduler): far more than any diffusers config nests
MAX_TRAIN_TIMESTEPS = 100_000


def dotted(*parts: Any) -> str:
    """A manifest key as a message shows it: dotted, the bundle's own names made printable."""
    texts = [str(part) for part in parts]
    return ".".join(text if text.isprintable() else printable(text, newlines=False) for text in texts)


CONTAINERS = (dict, list)


def too_deep(value: Any, limit: int) -> str | None:
    """Where lists and dicts in `value` nest deeper than `limit` (the key of the first such list or
    dict, its first four parts; "" for the top), or None. Without recursion: a forged file may
    nest thousands deep."""
    if not _reaches(value, limit):
        return None
    at: list[str] = []
    while len(at) < min(limit, 4):
        pairs = value.items() if type(value) is dict else enumerate(value)
        key, value = next((k, v) for k, v in pairs if _reaches(v, limit - len(at) - 1))
        at.append(str(key))
    return dotted(*at) + (".…" if limit > 4 else "")


def _reaches(value: Any, limit: int) -> bool:
    """True when a list or dict sits `limit` levels below `value` (0: `value` is one itself). Depths
    only: a build walks every list of the manifest with this."""
    stack = [(value, 0)] if type(value) in CONTAINERS else []
    while stack:
        item, level = stack.pop()
        if level >= limit:
            return True
        children = item.values() if type(item) is dict else item
        stack += [(child, level + 1) for child in children if type(child) in CONTAINERS]
    return False


def _shown(value: Any) -> str:
    return printable(f"{value!r:.40}", newlines=False)


class Problems(list):
    """One line per problem, with helpers that say what was expected."""

    def number(self, where: str, value: Any, low: float, high: float, low_in: bool = True, whole: bool = False) -> bool:
        """A finite number in [low, high] (or (low, high] when not `low_in`), whole where asked."""
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (value >= low if low_in else value > low)
            and value <= high
            and (not whole or float(value).is_integer())
        )
        if not ok:
            kind = "a whole number" if whole else "a number"
            span = f"from {low:g}" if low_in else f"above {low:g}"
            self.append(f"{where}: expected {kind} {span} to {high:g} (got {_shown(value)})")
        return ok

    def numbers(self, where: str, values: Any, count: int | None, low: float, high: float, low_in: bool = True) -> None:
        """A list of `count` finite numbers in range (`count` None: any length)."""
        if not self.length(where, values, count):
            return
        try:  # most of a manifest's values: checked in bulk, one by one only to say which is wrong
            if not values or (
                all(map(math.isfinite, values))
                and (min(values) >= low if low_in else min(values) > low)
                and max(values) <= high
            ):
                return
        except TypeError:
            pass
        for i, value in enumerate(values):
            if not self.number(f"{where}.{i}", value, low, high, low_in):
                return  # one line per list is enough to find it

    def length(self, where: str, values: Any, count: int | None, why: str = "") -> bool:
        if not isinstance(values, list):
            self.append(f"{where}: expected a list (got {_shown(values)})")
            return False
        if count is not None and len(values) != count:
            self.append(f"{where}: expected {count} entries{why} (got {len(values)})")
            return False
        return True

    def choice(self, where: str, value: Any, choices: tuple[str, ...]) -> bool:
        """One of `choices`."""
        if value not in choices:
            self.append(f"{where}: expected one of {', '.join(map(repr, choices))} (got {_shown(value)})")
            return False
        return True

    def free_form(self, where: str, value: Any) -> None:
        """A dict of names the manifest does not type (model, scheduler): nested no deeper than MAX_DEPTH."""
        deep = too_deep(value, MAX_DEPTH)
        if deep is not None:
            self.append(f"{dotted(where, deep) if deep else where}: nested more than {MAX_DEPTH} levels deep")

    def picture(self, where: str, columns: int, rows: int, width: int, height: int) -> None:
        """A grid of `columns` × `rows` tiles of width × height: within what one picture may be."""
        sides = [(f"{where}.width", width), (f"{where}.height", height)]
        if not all(self.number(name, value, 1, MAX_SIDE, whole=True) for name, value in sides):
            return
        across, down = columns * width, rows * height
        if across > MAX_SIDE or down > MAX_SIDE or across * down > MAX_PIXELS:
            self.append(
                f"{where}: a picture of {across} × {down} pixels; one may be at most {MAX_SIDE} pixels a side "
                f"and {MAX_PIXELS} pixels in all"
            )


def manifest_problems(manifest) -> list[str]:
    """Every value of a typed manifest (bundle.manifest.Manifest) that is out of range or whose
    length disagrees with the trajectory's steps."""
    found = Problems()
    _model(found, manifest.model)
    count = _scheduler(found, manifest.scheduler)
    recorders = registered()
    flow = str(manifest.scheduler.get("class", "")).startswith("FlowMatch")
    for key, schedule in manifest.schedules.items():
        _schedule(found, dotted("schedules", key), schedule, count, flow)
    for tid, trajectory in manifest.trajectories.items():
        at = dotted("trajectories", tid)
        if not found.number(f"{at}.steps", trajectory.steps, 1, MAX_STEPS, whole=True):
            continue  # every length below is measured against it
        steps = trajectory.steps
        found.number(f"{at}.guidance", trajectory.guidance, -1000, 1000)
        found.number(f"{at}.blend", trajectory.blend, 0, 1)
        found.number(f"{at}.model_evaluations", trajectory.model_evaluations, 0, 4 * MAX_STEPS, whole=True)
        # the schedule widget reads ᾱ at each timestep: an index into the training schedule
        found.numbers(f"{at}.timesteps", trajectory.timesteps, steps, 0, count if flow else count - 1)
        for name, values in trajectory.metrics.items():
            found.numbers(dotted(at, "metrics", name), values, None, -math.inf, math.inf)
        if "xt" not in trajectory.views:
            found.append(f"{at}.views: has no 'xt' view (the canvas at every step)")
        for name, view in trajectory.views.items():
            where = dotted(at, "views", name)
            if found.number(f"{where}.frames", view.frames, steps + 1, steps + 1, whole=True) and found.number(
                f"{where}.columns", view.columns, 1, view.frames, whole=True
            ):
                found.picture(where, view.columns, view.rows, view.width, view.height)
        schedule = manifest.schedules.get(trajectory.schedule_key)
        if schedule is not None:
            found.length(dotted("schedules", trajectory.schedule_key, "timesteps"), schedule.timesteps, steps,
                         f" (one per step of trajectory {dotted(tid)})")
        for name, entry in trajectory.records.items():  # each recording as its recorder checks it
            recorders[name].check(found, f"{at}.{name}", entry, trajectory, manifest)
    return found


def _schedule(found: Problems, at: str, schedule, count: int, flow: bool) -> None:
    """A sampler's noise levels: ᾱ (σ for flow matching) for each frame, in range."""
    steps = len(schedule.timesteps)
    if not 1 <= steps <= MAX_STEPS:
        found.append(f"{at}.timesteps: expected 1 to {MAX_STEPS} entries, one per step (got {steps})")
        return
    found.numbers(f"{at}.timesteps", schedule.timesteps, steps, 0, count if flow else count - 1)
    frames = " (one per frame: before each step, then the result)"
    if (flow or schedule.sigma) and found.length(f"{at}.sigma", schedule.sigma, steps + 1, frames):
        found.numbers(f"{at}.sigma", schedule.sigma, steps + 1, 0, 1 if flow else math.inf)
    if not flow and found.length(f"{at}.alpha_bar", schedule.alpha_bar, steps + 1, frames):
        found.numbers(f"{at}.alpha_bar", schedule.alpha_bar, steps + 1, 0, 1)
    if schedule.alpha_bar_prev:
        found.numbers(f"{at}.alpha_bar_prev", schedule.alpha_bar_prev, steps, 0, 1)


def _model(found: Problems, model: dict[str, Any]) -> None:
    """The model's provenance: what pages show and the sizes widgets compute from."""
    found.free_form("model", model)
    for name in ("id", "weights_sha256"):
        if not isinstance(model.get(name), str) or not model.get(name):
            found.append(f"model.{name}: expected text (got {_shown(model.get(name))})")
    if not isinstance(model.get("revision"), str | None):
        found.append(f"model.revision: expected text (got {_shown(model.get('revision'))})")
    size = model.get("image_size")
    if found.length("model.image_size", size, 2, " (height, width)"):
        for i, side in enumerate(size):
            found.number(f"model.image_size.{i}", side, 1, MAX_SIDE, whole=True)
    latent = model.get("latent_shape")
    if found.length("model.latent_shape", latent, 3, " (channels, height, width)"):
        for i, n in enumerate(latent):
            found.number(f"model.latent_shape.{i}", n, 1, MAX_SIDE, whole=True)
    for name in ("extra", "settings"):
        if not isinstance(model.get(name, {}), dict):
            found.append(f"model.{name}: expected keys and values (got {_shown(model.get(name))})")


def latent_shape(model: dict[str, Any]) -> list[int] | None:
    """The model's latent shape (channels, height, width), or None where the manifest's is wrong
    (`manifest_problems` says so)."""
    latent = model.get("latent_shape")
    if not isinstance(latent, list) or len(latent) != 3:
        return None
    ok = all(isinstance(n, int | float) and not isinstance(n, bool) and float(n).is_integer() and 1 <= n <= MAX_SIDE
             for n in latent)
    return [int(n) for n in latent] if ok else None


def _scheduler(found: Problems, scheduler: dict[str, Any]) -> int:
    """The scheduler's class and the config the schedule widget draws from: its training timesteps."""
    found.free_form("scheduler", scheduler)
    if not isinstance(scheduler.get("class"), str) or not scheduler.get("class"):
        found.append(f"scheduler.class: expected text (got {_shown(scheduler.get('class'))})")
    config = scheduler.get("config")
    if not isinstance(config, dict):
        found.append(f"scheduler.config: expected keys and values (got {_shown(config)})")
        return 1000
    count = config.get("num_train_timesteps", 1000)
    if not found.number("scheduler.config.num_train_timesteps", count, 1, MAX_TRAIN_TIMESTEPS, whole=True):
        count = 1000
    for name in ("beta_start", "beta_end"):
        if name in config:
            found.number(f"scheduler.config.{name}", config[name], 0, 1)
    if config.get("trained_betas") is not None:
        found.numbers("scheduler.config.trained_betas", config["trained_betas"], int(count), 0, 1)
    if not isinstance(config.get("beta_schedule", ""), str):
        found.append(f"scheduler.config.beta_schedule: expected text (got {_shown(config['beta_schedule'])})")
    return int(count)

"""What a manifest's values must be beyond their types: ranges, list lengths that agree with a
trajectory's `steps`, picture geometry that fits the format, the model's and scheduler's dicts.

The trajectory id covers a trajectory's prompt, seed, steps, guidance, blend and sampler; nothing
else in a manifest is vouched for by anything, so each field is checked here before any widget
reads it. Each problem is one line: the key, what it holds, what would be right.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from stepthrough.bundle.formats import MAX_PIXELS, MAX_SIDE
from stepthrough.errors import printable

MAX_STEPS = 1000  # more than any sampler is run for; the content's own limit is lower
MAX_DEPTH = 32  # of the free-form dicts (model, scheduler): far more than any diffusers config nests
MAX_TRAIN_TIMESTEPS = 100_000
UPDATES = ("ddim", "euler", "flow", "")
PREDICTIONS = ("epsilon", "v_prediction", "sample", "flow")
# What each scheduler update reads of the schedule at every step (widgets/inside), and its range:
# the page divides by √ᾱ, √(1−ᾱ) and σ, so those may not be 0.
LEVELS: dict[str, tuple[str, float, float]] = {  # update → (the schedule's list, low (excluded), high)
    "ddim": ("alpha_bar", 0.0, 1.0),
    "euler": ("sigma", 0.0, math.inf),
    "flow": ("sigma", 0.0, 1.0),
}
PROBE = ("x", "prediction", "next")  # what the page follows through each step


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
    latent = _model(found, manifest.model)
    count = _scheduler(found, manifest.scheduler)
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
        if trajectory.attention is not None:
            _attention(found, f"{at}.attention", trajectory.attention, steps)
        schedule = manifest.schedules.get(trajectory.schedule_key)
        if schedule is not None:
            found.length(dotted("schedules", trajectory.schedule_key, "timesteps"), schedule.timesteps, steps,
                         f" (one per step of trajectory {dotted(tid)})")
        if trajectory.tensors is not None:
            _tensors(found, f"{at}.tensors", trajectory.tensors, steps, latent)
            if schedule is not None and len(schedule.timesteps) == steps:
                _tensor_levels(found, dotted("schedules", trajectory.schedule_key), trajectory.tensors, schedule, steps)
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


def _model(found: Problems, model: dict[str, Any]) -> list[int] | None:
    """The model's provenance: what pages show and the sizes widgets compute from. Its latent shape."""
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
    if not found.length("model.latent_shape", latent, 3, " (channels, height, width)"):
        return None
    if not all(found.number(f"model.latent_shape.{i}", n, 1, MAX_SIDE, whole=True) for i, n in enumerate(latent)):
        return None
    for name in ("extra", "settings"):
        if not isinstance(model.get(name, {}), dict):
            found.append(f"model.{name}: expected keys and values (got {_shown(model.get(name))})")
    return [int(n) for n in latent]


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


def _attention(found: Problems, at: str, maps, steps: int) -> None:
    """One map per step and token: `peak` and `share` are steps × tokens probabilities."""
    if not found.number(f"{at}.steps", maps.steps, steps, steps, whole=True):
        return
    tokens = len(maps.tokens)
    if not tokens:
        found.append(f"{at}.tokens: expected at least one word piece (got none)")
        return
    found.picture(at, tokens, steps, maps.width, maps.height)
    for name in ("peak", "share"):
        rows = getattr(maps, name)
        if found.length(f"{at}.{name}", rows, steps, " (one per step)"):
            for k, row in enumerate(rows):
                found.numbers(f"{at}.{name}.{k}", row, tokens, 0, 1)


def _tensors(found: Problems, at: str, tensors, steps: int, latent: list[int] | None) -> None:
    """One step opened up: grids and the probe, each as long as the steps it covers."""
    _tensor_grids(found, at, tensors, steps)
    _tensor_update(found, at, tensors, steps)
    for name in PROBE:
        values = tensors.probe.get(name)
        if values is None:
            found.append(f"{at}.probe.{name}: missing (the page follows it through each step)")
        else:
            found.numbers(f"{at}.probe.{name}", values, steps, -math.inf, math.inf)
    if found.length(f"{at}.probe_at", tensors.probe_at, 3, " (channel, row, column)") and latent is not None:
        for i, (index, size) in enumerate(zip(tensors.probe_at, latent, strict=True)):
            found.number(f"{at}.probe_at.{i}", index, 0, size - 1, whole=True)
    pieces = len(tensors.tokens)
    _same_length(found, at, pieces, [("token_ids", tensors.token_ids), ("special", tensors.special)])
    _each(found, f"{at}.token_ids", tensors.token_ids, lambda w, v: found.number(w, v, 0, 2**31, whole=True))
    _each(found, f"{at}.special", tensors.special, lambda w, v: found.number(w, v, 0, 1, whole=True))
    found.number(f"{at}.padding", tensors.padding, 0, 1 << 16, whole=True)
    found.number(f"{at}.padding_read", tensors.padding_read, 0, 1, whole=True)


def _tensor_grids(found: Problems, at: str, tensors, steps: int) -> None:
    """The latent, prediction and token-vector grids: a row per step (the latent's one more) or token."""
    rows = {"latent": steps + 1, "prediction": steps, "vectors": len(tensors.tokens)}
    for name, count in rows.items():
        grid = getattr(tensors, name)
        if grid is None:
            continue
        where = f"{at}.{name}"
        if found.number(f"{where}.rows", grid.rows, count, count, whole=True) and found.number(
            f"{where}.columns", grid.columns, 1, MAX_SIDE, whole=True
        ):
            found.picture(where, grid.columns, grid.rows, grid.width, grid.height)
        found.number(f"{where}.scale", grid.scale, 0, math.inf, low_in=False)
        found.number(f"{where}.pooled", grid.pooled, 1, MAX_SIDE, whole=True)


def _tensor_update(found: Problems, at: str, tensors, steps: int) -> None:
    """The prediction type and the update the page writes out."""
    if tensors.prediction_type not in PREDICTIONS:
        found.append(f"{at}.prediction_type: expected one of {', '.join(map(repr, PREDICTIONS))} "
                     f"(got {_shown(tensors.prediction_type)})")
    if tensors.update not in UPDATES:
        found.append(f"{at}.update: expected one of {', '.join(map(repr, UPDATES))} (got {_shown(tensors.update)})")


def _tensor_levels(found: Problems, at: str, tensors, schedule, steps: int) -> None:
    """What the update the page writes out reads of the schedule (`at`) at each step, in its range."""
    if tensors.update not in LEVELS:
        return
    name, low, high = LEVELS[tensors.update]
    # v and x̂₀ predictions never divide by √ᾱ, and a cosine schedule's last ᾱ (2.4·10⁻⁹) is
    # written as 0 at seven decimals: only an ε model needs ᾱ above 0.
    low_in = name == "alpha_bar" and tensors.prediction_type != "epsilon"
    found.numbers(f"{at}.{name}", getattr(schedule, name)[:steps], steps, low, high, low_in)
    if tensors.update == "ddim":
        found.length(f"{at}.alpha_bar_prev", schedule.alpha_bar_prev, steps, " (the ddim update reads it)")
        if tensors.prediction_type == "sample" and 1.0 in schedule.alpha_bar[:steps]:
            found.append(f"{at}.alpha_bar: below 1 for a model that predicts the picture "
                         "(the page divides by √(1 − ᾱ))")


def _same_length(found: Problems, at: str, count: int, lists: Iterable[tuple[str, list]]) -> None:
    for name, values in lists:
        if len(values) != count:
            found.append(f"{at}.{name}: expected {count} entries, one per token (got {len(values)})")


def _each(found: Problems, at: str, values: list, check: Callable[[str, Any], bool]) -> None:
    for i, value in enumerate(values):
        if not check(f"{at}.{i}", value):
            return

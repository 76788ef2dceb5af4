"""Each widget's data: what its script reads from the inline JSON, built from the section and the bundle.

A widget is three files that share its name: a `WIDGET_DATA` function here, the template
`site_templates/widgets/<name>.html` (which must show a meaningful static frame without
JavaScript) and the classic script `site_templates/static/<name>.js`.
"""

from __future__ import annotations

import base64
import io
import math
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from stepthrough.content import Section
from stepthrough.particles import sample as particles_model
from stepthrough.precompute.bundle import Manifest, final_picture, read_json

PARTICLES_VIEW = 1.5  # the particles canvas shows [-1.5, 1.5]²: the shapes fill ±1, start noise spills out


class Assets:
    """Copies bundle frames into the site once each, under content-hashed names."""

    def __init__(
        self, bundle_dir: Path, manifest: Manifest | None, site_dir: Path, projections: dict[str, str]
    ):
        self.bundle_dir, self.manifest, self.site_dir = bundle_dir, manifest, site_dir
        self.projection_ids = projections  # section id → projection id
        (site_dir / "assets" / "frames").mkdir(parents=True, exist_ok=True)

    def projection(self, section_id: str) -> dict[str, Any]:
        """The 2-D projection precompute made for a section (paths or an embedding map)."""
        record = self.manifest.projections[self.projection_ids[section_id]]
        return read_json(self.bundle_dir, record.file)

    def frame_url(self, rel: str) -> str:
        record = self.manifest.files[rel]
        url = f"assets/frames/{record.sha256[:16]}{Path(rel).suffix}"
        target = self.site_dir / url
        if not target.exists():
            shutil.copyfile(self.bundle_dir / rel, target)
        return url

    def final_frame(self, trajectory_id: str) -> np.ndarray:
        """The finished picture, (H, W, 3) uint8, read back from the bundle's x_t sprite sheet."""
        return final_picture(self.bundle_dir, self.manifest, trajectory_id)

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


def stepper(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """Trajectories with their parameters and frames; `params` lists each parameter's values in order."""
    settings = section.settings
    trajectories = [trajectory_entry(assets, tid, settings.views) for tid in trajectory_ids]
    params = {key: list(dict.fromkeys(t[key] for t in trajectories)) for key in PARAMS}
    return {
        "id": section.id,
        "trajectories": trajectories,
        "params": params,
        "labels": {key: [_label(v) for v in values] for key, values in params.items()},
        "views": settings.views,
        "axis": settings.axis if settings.axis and len(params[settings.axis]) > 1 else None,
        "model": model_sizes(assets.manifest),
    }


def _label(value: Any) -> str:
    """How a parameter value reads on the page: 5.0 → "5", 0.25 → "0.25", "" → "(no words)"."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value) if value != "" else "(no words)"


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


PARAMS = ("prompt", "seed", "steps", "guidance", "blend")


def trajectory_entry(assets: Assets, trajectory_id: str, views: Iterable[str] = ("xt",)) -> dict[str, Any]:
    """A trajectory's parameters and the frames of the views a widget shows."""
    t = assets.manifest.trajectories[trajectory_id]
    return {
        "prompt": t.prompt,
        "label": t.prompt or "(no words)",
        "seed": t.seed,
        "steps": t.steps,
        "guidance": t.guidance,
        "towards": t.towards,
        "blend": t.blend,
        "views": assets.views(trajectory_id, views),
    }


def paths(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """Trajectories as paths through a 2-D view of latent space, scaled into a 100 × 100 box."""
    projection = assets.projection(section.id)
    points = [point for path in projection["paths"] for point in path]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    pad = 6.0

    def place(point: list[float]) -> list[float]:
        x = pad + (point[0] - min(xs)) / span * (100 - 2 * pad)
        y = 100 - pad - (point[1] - min(ys)) / span * (100 - 2 * pad)  # SVG's y grows downwards
        return [round(x, 2), round(y, 2)]

    return {
        "id": section.id,
        "trajectories": [trajectory_entry(assets, tid) for tid in trajectory_ids],
        "paths": [[place(p) for p in path] for path in projection["paths"]],
        "explained_variance": projection["explained_variance"],
        "spread": projection["spread"],
    }


def embedding_map(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """Prompts placed on a 2-D map (in a 100 × 100 box), each with its group."""
    projection = assets.projection(section.id)
    position = dict(zip(projection["prompts"], projection["points"], strict=True))
    groups = list(section.settings.groups)
    points = []
    for group_index, (group, prompts) in enumerate(section.settings.groups.items()):
        for prompt in prompts:
            x, y = position[prompt]
            points.append(
                {
                    "prompt": prompt,
                    "group": group_index,
                    "x": round(8 + x * 84, 2),
                    "y": round(MAP_HEIGHT - 8 - y * (MAP_HEIGHT - 16), 2),
                }
            )
    _place_labels(points)
    return {
        "id": section.id,
        "groups": groups,
        "points": points,
        "method": projection["method"],
        "height": MAP_HEIGHT,
    }


# The map is 100 units wide and MAP_HEIGHT tall: taller than wide gives 34 labels room to sit
# beside their dots. (Neither t-SNE's nor PCA's axes have a scale to keep.)
MAP_HEIGHT = 125
LABEL_FONT = 3.6  # map units in a 100-unit box: 12 px where the map is 330 px wide (style.css keeps it that wide)
LABEL_CHAR = 0.6 * LABEL_FONT  # width of one character: measured 0.45–0.59 em in Chromium's sans-serif
LABEL_HEIGHT = 1.3 * LABEL_FONT  # ascent to descent, and a little air
DOT = 1.6  # a dot's radius, with a little room


def _place_labels(points: list[dict[str, Any]]) -> None:
    """Give each label a place beside its dot (`lx`, `ly`: start or end of the baseline; `end`: grows
    leftwards) where it covers no other label and no other dot, trying right, left, above and
    below, then a little further out; the least crowded place when none is free."""
    boxes: list[tuple[float, float, float, float]] = []  # (left, top, right, bottom) of labels placed
    dots = [(p["x"], p["y"]) for p in points]

    def candidates(point: dict[str, Any], width: float):
        x, y, h = point["x"], point["y"], LABEL_HEIGHT
        for shift in (0, -h / 2, h / 2, -h, h, -1.5 * h, 1.5 * h, -2 * h, 2 * h, -3 * h, 3 * h, -4 * h, 4 * h):
            yield x + 2.2, y - h / 2 + shift, False  # right of the dot, then a little up or down
            yield x - 2.2 - width, y - h / 2 + shift, True  # left of it
            if abs(shift) <= h:
                yield x - width / 2, y - 2 - h + min(shift, 0), None  # above, centred
                yield x - width / 2, y + 2 + max(shift, 0), None  # below, centred

    def crowding(box: tuple[float, float, float, float], own: tuple[float, float]) -> float:
        left, top, right, bottom = box
        if left < 0.5 or right > 99.5 or top < 0.5 or bottom > MAP_HEIGHT - 0.5:
            return float("inf")
        covered = sum(
            max(0.0, min(right, r) - max(left, le)) * max(0.0, min(bottom, b) - max(top, t))
            for le, t, r, b in boxes
        )
        covered += sum(
            4 * DOT * DOT
            for dx, dy in dots
            if (dx, dy) != own and left - DOT < dx < right + DOT and top - DOT < dy < bottom + DOT
        )
        return covered

    # Long labels among crowded dots first: they have the fewest free places.
    def neighbours(point: dict[str, Any]) -> int:
        return sum(abs(point["x"] - x) < 25 and abs(point["y"] - y) < 8 for x, y in dots)

    for point in sorted(points, key=lambda p: (-neighbours(p) * len(p["prompt"]), p["y"], p["x"])):
        width = LABEL_CHAR * len(point["prompt"])
        best = None
        for left, top, grows_left in candidates(point, width):
            box = (left, top, left + width, top + LABEL_HEIGHT)
            score = crowding(box, (point["x"], point["y"]))
            if best is None or score < best[0]:
                best = (score, box, grows_left)
            if score == 0:
                break
        _, (left, top, right, bottom), grows_left = best
        boxes.append((left, top, right, bottom))
        point["anchor"] = "end" if grows_left else "start" if grows_left is False else "middle"
        point["lx"] = round(right if grows_left else left if grows_left is False else (left + right) / 2, 2)
        point["ly"] = round(bottom - 0.25 * LABEL_HEIGHT, 2)  # the baseline, above the descenders
        # A label moved well away from its dot gets a thin line back to it.
        middle = (top + bottom) / 2
        far = abs(middle - point["y"]) > 1.2 * LABEL_HEIGHT
        point["leader"] = [round(point["lx"], 2), round(middle, 2)] if far else None


def compare(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """Tiles that share one step slider; with a reference, each result's distance to the many-step one."""
    settings = section.settings
    tiles = [trajectory_entry(assets, tid) for tid in trajectory_ids]
    for tile in tiles:
        value = _label(tile[settings.label])
        tile["name"] = (
            value if settings.label == "prompt"
            else steps_phrase(tile["steps"]) if settings.label == "steps"
            else NAMED[settings.label].format(value)
        )
        tile["note"] = settings.notes.get(value, "")
    data = {
        "id": section.id,
        "tiles": tiles,
        "label": settings.label,
        "steps": max(t["steps"] for t in tiles),
    }
    if settings.reference == "most-steps":
        finals = {tid: assets.final_frame(tid) for tid in trajectory_ids}
        for tile, tid in zip(tiles, trajectory_ids, strict=True):
            same_start = [
                other
                for other in trajectory_ids
                if _start(assets.manifest.trajectories[other]) == _start(assets.manifest.trajectories[tid])
            ]
            reference = max(same_start, key=lambda other: assets.manifest.trajectories[other].steps)
            difference = finals[tid].astype(np.float32) / 255 - finals[reference].astype(np.float32) / 255
            tile["distance"] = round(float(np.sqrt((difference**2).mean())), 4)
            tile["reference_steps"] = assets.manifest.trajectories[reference].steps
    return data


NAMED = {"seed": "seed {}", "guidance": "guidance {}", "blend": "blend {}"}


def steps_phrase(count: int) -> str:
    """'1 step', '25 steps' (also the templates' `steps` filter)."""
    return f"{count} step" if count == 1 else f"{count} steps"


def _start(trajectory) -> tuple:
    """What a trajectory shares with the ones it is compared against: all but its step count."""
    return (trajectory.prompt, trajectory.seed, trajectory.guidance, trajectory.towards, trajectory.blend)


def tally(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """The default pictures, each with the explicit prompt it looks most like (precompute sorted
    them) and that prompt's tags; per tag, how many pictures carry each value."""
    projection = assets.projection(section.id)
    explicit = {e.prompt: e.tags for e in section.settings.compare_with}
    tags: dict[str, dict[str, int]] = {}
    for e in section.settings.compare_with:  # values in the author's order, zero counts too
        for name, value in e.tags.items():
            tags.setdefault(name, {}).setdefault(value, 0)
    pictures, views = [], []
    for tid, nearest in zip(projection["trajectories"], projection["nearest"], strict=True):
        t = assets.manifest.trajectories[tid]
        pictures.append(
            {
                "prompt": t.prompt,
                "seed": t.seed,
                "nearest": nearest["prompt"],
                "tags": explicit[nearest["prompt"]],
            }
        )
        views.append(assets.views(tid, ["xt"])["xt"])
        for name, value in explicit[nearest["prompt"]].items():
            tags[name][value] += 1
    drawn: dict[str, list[dict[str, Any]]] = {prompt: [] for prompt in explicit}
    for tid in projection["references"]:
        drawn[assets.manifest.trajectories[tid].prompt].append(assets.views(tid, ["xt"])["xt"])
    return {
        "id": section.id,
        "total": len(pictures),
        "prompts": list(dict.fromkeys(p["prompt"] for p in pictures)),
        "pictures": pictures,
        "tags": [
            {"name": name, "values": [{"value": v, "count": n} for v, n in values.items()]}
            for name, values in tags.items()
        ],
        "_views": views,  # "_": for the template only (the script never changes a picture)
        "_references": [{"prompt": prompt, "views": drawn[prompt]} for prompt in explicit],
    }


def noise_canvas(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """A canvas of the model's picture size; a seeded noise picture stands in when scripts are off."""
    height, width = assets.manifest.model["image_size"]
    rng = np.random.default_rng(0)
    still = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    values = height * width * 3
    return {
        "id": section.id,
        "width": width,
        "height": height,
        "per_second": section.settings.per_second,
        "values": values,
        "digits": math.floor(values * math.log10(256)) + 1,  # of 256^values, the number of possible pictures
        "_still": _data_url(still),
    }


def forward_process(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """A finished picture (inline, so the page may read its pixels from file://) to drown in noise."""
    size = section.settings.size
    picture = Image.fromarray(assets.final_frame(trajectory_ids[0])).resize(
        (size, size), Image.Resampling.LANCZOS
    )
    return {
        "id": section.id,
        "size": size,
        "steps": section.settings.steps,
        "prompt": assets.manifest.trajectories[trajectory_ids[0]].prompt,
        "_picture": _data_url(picture),  # "_": for the template only, not repeated in the inline JSON
        "_noisy": _data_url(_forward_preview(np.asarray(picture), 0.5)),
    }


def _forward_preview(picture: np.ndarray, t: float) -> Image.Image:
    """The picture half-way drowned (for readers without JavaScript), on the page's cosine schedule."""
    keep = math.cos(t * math.pi / 2) ** 2  # ᾱ(t): how much of the picture survives
    noise = np.random.default_rng(0).standard_normal(picture.shape)
    x = math.sqrt(keep) * (picture / 127.5 - 1) + math.sqrt(1 - keep) * noise
    return Image.fromarray(((x.clip(-1, 1) + 1) * 127.5).round().astype(np.uint8))


def _data_url(image: Image.Image) -> str:
    """An inline picture: no request, and a canvas may read its pixels even from file://."""
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=85)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode()


def particles(section: Section, trajectory_ids: list[str], assets: Assets) -> dict[str, Any]:
    """The model's weights and settings for the live sampler, plus the settled first shape for no-JS readers."""
    settings = section.settings
    weights = particles_model.load_weights_json()
    model = particles_model.model_from_json(weights)
    shape = settings.shapes[0]
    final = particles_model.sample(
        model, shape, settings.seed, settings.count, settings.steps, settings.guidance
    )[-1]
    script = {
        "id": section.id,
        "shapes": list(settings.shapes),
        "count": settings.count,
        "steps": settings.steps,
        "guidance": settings.guidance,
        "seed": settings.seed,
        "view": PARTICLES_VIEW,
        "model": {
            "shapes": weights["shapes"],
            "position_directions": weights["position_directions"],
            "time_frequencies": weights["time_frequencies"],
            "layers": weights["layers"],
            "cosine_s": particles_model.COSINE_S,
            "min_alpha_bar": particles_model.MIN_ALPHA_BAR,
            "clip": particles_model.CLIP,
        },
    }
    return {"script": script, "still": {"shape": shape, "path": _dots_path(final)}}


def _dots_path(points: np.ndarray) -> str:
    """Points as one SVG path of zero-length round-capped strokes (a dot each), y up, 2 decimals."""
    shown = points[(np.abs(points) <= PARTICLES_VIEW).all(axis=1)]
    return "".join(f"M{x:.2f} {-y:.2f}h0" for x, y in shown)


WidgetData = Callable[[Section, list[str], Assets], dict[str, Any]]
WIDGET_DATA: dict[str, WidgetData] = {
    "noise-canvas": noise_canvas,
    "forward-process": forward_process,
    "stepper": stepper,
    "compare": compare,
    "paths": paths,
    "embedding-map": embedding_map,
    "particles": particles,
    "tally": tally,
}

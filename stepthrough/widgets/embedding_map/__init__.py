"""Where words live: prompts placed on a 2-D map of their text embeddings (t-SNE or PCA), coloured by
group, labels nudged apart so they do not overlap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepthrough.bundle.ids import projection_id
from stepthrough.options import Choice, DictOf, Invalid, ListOf, Prompt, Schema, Text
from stepthrough.widgets.base import Projection, ProjectionResult, Widget

# The map is 100 units wide and MAP_HEIGHT tall: taller than wide gives 34 labels room to sit
# beside their dots. (Neither t-SNE's nor PCA's axes have a scale to keep.)
MAP_HEIGHT = 125
LABEL_FONT = 3.6  # map units in a 100-unit box: 12 px where the map is 330 px wide (style.css keeps it that wide)
LABEL_CHAR = 0.6 * LABEL_FONT  # width of one character: measured 0.45–0.59 em in Chromium's sans-serif
LABEL_HEIGHT = 1.3 * LABEL_FONT  # ascent to descent, and a little air
DOT = 1.6  # a dot's radius, with a little room


class EmbeddingMapSettings(Schema):
    """Prompts to place on the map, in named groups (a group's prompts share a colour)."""

    groups = DictOf(Text(), ListOf(Prompt()), min_length=1)
    method = Choice(["tsne", "pca"], "tsne")

    def check(self) -> None:
        if len({p for group in self.groups.values() for p in group}) < 4:
            raise Invalid("a map needs at least 4 different prompts across its groups")


@dataclass(frozen=True)
class EmbeddingMapResult(ProjectionResult):
    kind = "embedding-map"
    method: str
    prompts: list[str]
    points: list[list[float]]  # per prompt, (x, y) in [0, 1]

    def problems(self) -> list[str]:
        if len(self.points) != len(self.prompts):
            return [f"points: expected {len(self.prompts)} points, one per prompt (got {len(self.points)})"]
        for i, point in enumerate(self.points):
            if len(point) != 2 or not all(0 <= v <= 1 for v in point):
                return [f"points.{i}: expected (x, y) in [0, 1] (got {point!r:.40})"]
        return []


@dataclass(frozen=True)
class EmbeddingMapProjection(Projection):
    """Prompts placed on a 2-D map by their embeddings (the model's, so rank 0 draws it)."""

    kind = "embedding-map"
    needs_model = True
    prompts: tuple[str, ...]
    method: str

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        return projection_id(fingerprint, self.kind, prompts=self.prompts, method=self.method)

    def draw(self, source) -> EmbeddingMapResult:
        from stepthrough.reduce import embedding_map

        points = embedding_map(source.prompt_vectors(list(self.prompts)), self.method)
        return EmbeddingMapResult(
            self.method, list(self.prompts), [[round(float(x), 4), round(float(y), 4)] for x, y in points]
        )


class EmbeddingMap(Widget):
    name = "embedding-map"
    projection_type = EmbeddingMapProjection
    settings = EmbeddingMapSettings
    needs_sweep = False

    def projection(self, sweep, settings, jobs) -> EmbeddingMapProjection:
        prompts = tuple(dict.fromkeys(p for group in settings.groups.values() for p in group))
        return EmbeddingMapProjection(prompts, settings.method)

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """Prompts placed on a 2-D map (in a 100 × 100 box), each with its group."""
        projection = assets.projection(section.id, EmbeddingMapResult)
        position = dict(zip(projection.prompts, projection.points, strict=True))
        groups = list(section.settings.groups)
        lacking = next((p for g in section.settings.groups.values() for p in g if p not in position), None)
        if lacking is not None:
            raise assets.projection_error(section.id, "prompts", f"lacks {lacking!r}, which the section maps")
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
            "method": projection.method,
            "height": MAP_HEIGHT,
        }


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


WIDGET = EmbeddingMap()

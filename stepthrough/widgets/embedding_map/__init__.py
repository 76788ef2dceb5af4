"""Where words live: prompts placed on a 2-D map of their text embeddings (t-SNE or PCA), coloured by
group, labels nudged apart so they do not overlap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepthrough.bundle.ids import projection_id
from stepthrough.options import Choice, DictOf, Invalid, ListOf, Prompt, Schema, Text
from stepthrough.widgets.base import Projection, ProjectionResult, Widget

LABEL_CHAR = 1.45  # width of one label character in map units (2.6-unit font in a 100-unit box)
LABEL_HEIGHT = 3.0


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
        from stepthrough.precompute.project import embedding_map

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
        projection = EmbeddingMapResult.from_json(assets.projection(section.id))
        position = dict(zip(projection.prompts, projection.points, strict=True))
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
                        "y": round(92 - y * 84, 2),
                    }
                )
        _place_labels(points)
        return {"id": section.id, "groups": groups, "points": points, "method": projection.method}


def _place_labels(points: list[dict[str, Any]]) -> None:
    """Give each label a baseline (`ly`) and side so that labels do not overlap: nudge up or down."""
    placed: list[tuple[float, float, float]] = []  # (left, right, baseline) of labels so far
    for point in sorted(points, key=lambda p: (p["y"], p["x"])):
        width = LABEL_CHAR * len(point["prompt"])
        point["end"] = point["x"] >= 60  # right-hand labels grow leftwards, to stay inside the map
        left = point["x"] - 2 - width if point["end"] else point["x"] + 2
        for shift in (0, 3, -3, 6, -6, 9, -9, 12):
            baseline = min(99.0, max(3.0, point["y"] + 1 + shift))
            if all(
                right <= left or left + width <= other_left or abs(baseline - other) >= LABEL_HEIGHT
                for other_left, right, other in placed
            ):
                break
        point["ly"] = round(baseline, 2)
        placed.append((left, left + width, baseline))


WIDGET = EmbeddingMap()

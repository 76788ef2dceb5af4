"""Trajectories side by side under one step slider, each tile named by one parameter; with a
reference, each result's measured distance to the many-step one, and a chart of it."""

from __future__ import annotations

from typing import Any

import numpy as np

from stepthrough.measure import rms
from stepthrough.options import Choice, DictOf, Schema, Text
from stepthrough.widgets.base import PARAMS, Widget, label, references, steps_phrase, trajectory_entry

NAMED = {"seed": "seed {}", "guidance": "guidance {}", "blend": "blend {}"}


class CompareSettings(Schema):
    """Trajectories side by side under one step slider, each tile named by one parameter."""

    label = Choice(tuple(PARAMS), "prompt")  # which parameter names each tile
    reference = Choice(["most-steps"], None)  # measure each result's distance to the many-step one
    notes = DictOf(
        Text(), Text(empty=True), {}
    )  # a short verdict under a tile, by its label ("1": "too weak")


class Compare(Widget):
    name = "compare"
    settings = CompareSettings

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """Tiles that share one step slider; with a reference, each result's distance to the many-step one."""
        settings = section.settings
        tiles = [trajectory_entry(assets, tid) for tid in trajectory_ids]
        for tile in tiles:
            value = label(tile[settings.label])
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
            "columns": _columns_by_seed(tiles) if settings.label != "seed" else 0,
        }
        if data["columns"]:  # several seeds: a row each, and each tile says its seed
            for tile in tiles:
                tile["name"] = f"{tile['name']}, {NAMED['seed'].format(tile['seed'])}"
        if settings.reference == "most-steps":
            trajectories = {tid: assets.manifest.trajectories[tid] for tid in trajectory_ids}
            finals = {tid: assets.final_frame(tid).astype(np.float32) / 255 for tid in trajectory_ids}
            reference_of = references(trajectories)
            for tile, tid in zip(tiles, trajectory_ids, strict=True):
                reference = reference_of[tid]
                tile["distance"] = round(float(rms(finals[tid], finals[reference])), 4)
                tile["reference_steps"] = trajectories[reference].steps
        return data


def _columns_by_seed(tiles: list[dict[str, Any]]) -> int:
    """Tiles a row when the section shows several seeds, each seed's tiles one after another in the
    same number (a row per seed); 0 otherwise."""
    seeds = list(dict.fromkeys(tile["seed"] for tile in tiles))
    if len(seeds) < 2 or len(tiles) % len(seeds):
        return 0
    columns = len(tiles) // len(seeds)
    rows = [tiles[i : i + columns] for i in range(0, len(tiles), columns)]
    return columns if all(len({t["seed"] for t in row}) == 1 for row in rows) else 0


WIDGET = Compare()

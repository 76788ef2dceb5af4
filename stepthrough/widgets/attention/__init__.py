"""Where each word acts: the cross-attention from the picture to each of the prompt's word pieces,
step by step, over the model's guess x̂0 or the canvas x_t. Precompute records the maps beside the
loop (precompute/attention.py); attention.html shows the last step's map of the first word without
JavaScript; attention.js lets the reader tap a word and move the step."""

from __future__ import annotations

from typing import Any

from stepthrough.bundle.ids import display_name
from stepthrough.widgets.attention.record import AttentionRecorder
from stepthrough.widgets.base import Widget, trajectory_entry

RECORDER = AttentionRecorder()


class Attention(Widget):
    name = "attention"
    recorders = (RECORDER,)

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """Each trajectory's pictures and, where the model offers them, its attention maps."""
        manifest = assets.manifest
        trajectories = []
        for tid in trajectory_ids:
            entry = trajectory_entry(assets, tid, ("xt", "x0"))
            maps = RECORDER.of(manifest.trajectories[tid])
            entry["attention"] = None
            if maps is not None:
                entry["attention"] = {
                    "src": assets.frame_url(maps.file),
                    "tokens": maps.tokens,
                    "columns": len(maps.tokens),
                    "rows": maps.steps,
                    "frames": maps.steps * len(maps.tokens),
                    "width": maps.width,
                    "height": maps.height,
                    "share": maps.share,
                }
            trajectories.append(entry)
        return {
            "id": section.id,
            "trajectories": trajectories,
            "model": display_name(manifest.model["id"]),
            "offers": bool(manifest.model.get("extra", {}).get("cross_attention")),
        }


WIDGET = Attention()

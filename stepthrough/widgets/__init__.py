"""Every widget, one line each. A widget is its folder: `widgets/<folder>/` (see base.py)."""

from __future__ import annotations

import importlib

from stepthrough.recorder import Recorder, register
from stepthrough.widgets.base import Projection, Widget

FOLDERS = (
    "forward_process",
    "schedule",
    "noise_canvas",
    "stepper",
    "attention",
    "samplers",
    "inside",
    "compare",
    "paths",
    "embedding_map",
    "particles",
    "tally",
    "training_data",
    "draw",
)

WIDGETS: dict[str, Widget] = {
    widget.name: widget for widget in (importlib.import_module(f"{__name__}.{f}").WIDGET for f in FOLDERS)
}


def projection_kinds() -> dict[str, type[Projection]]:
    """Every kind of projection a widget asks for, by its `kind`: to read them back from shards."""
    return {w.projection_type.kind: w.projection_type for w in WIDGETS.values() if w.projection_type}


# What widgets record beyond frames (attention maps, a step's tensors), each recorder once; the
# bundle reads their manifest entries through this registration.
RECORDERS: tuple[Recorder, ...] = register(*dict.fromkeys(r for w in WIDGETS.values() for r in w.recorders))

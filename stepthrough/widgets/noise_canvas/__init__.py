"""How many pictures there are: a canvas of fresh random pictures, many per second (still when the
reader prefers reduced motion), and the number of possible pictures of the model's size."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

from stepthrough.options import Number, Schema
from stepthrough.widgets.base import Widget
from stepthrough.widgets.pictures import data_url


class NoiseSettings(Schema):
    """The random-picture canvas: how many fresh pictures per second (when motion is welcome)."""

    per_second = Number(12, low=1, high=60, whole=True)


class NoiseCanvas(Widget):
    name = "noise-canvas"
    settings = NoiseSettings
    needs_sweep = False

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
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
            "digits": math.floor(values * math.log10(256))
            + 1,  # of 256^values, the number of possible pictures
            "_still": data_url(still),
        }


WIDGET = NoiseCanvas()

"""The forward process: a finished picture drowned in Gaussian noise step by step, computed live in
the page, with the added noise beside it; readers may use their own photo (it never leaves the device)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

from stepthrough.options import Number, Schema
from stepthrough.widgets.base import Widget
from stepthrough.widgets.pictures import data_url, webp


class ForwardSettings(Schema):
    """The forward process: how many noising steps the slider offers, and the picture's display size."""

    steps = Number(50, low=10, high=1000, whole=True)
    size = Number(128, low=32, high=512, whole=True)


class ForwardProcess(Widget):
    name = "forward-process"
    settings = ForwardSettings

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """A finished picture to drown in noise."""
        size = section.settings.size
        picture = Image.fromarray(assets.final_frame(trajectory_ids[0])).resize(
            (size, size), Image.Resampling.LANCZOS
        )
        return {
            "id": section.id,
            "size": size,
            "steps": section.settings.steps,
            "prompt": assets.manifest.trajectories[trajectory_ids[0]].prompt,
            # In the data file only, which loads when the reader nears the widget: the page may read
            # a data: picture's pixels even from file://. The static frame shows site files.
            "picture": data_url(picture),
            "_clean": assets.file_url(webp(picture), ".webp"),  # "_": for the template only
            "_noisy": assets.file_url(webp(_forward_preview(np.asarray(picture), 0.5)), ".webp"),
        }


def _forward_preview(picture: np.ndarray, t: float) -> Image.Image:
    """The picture half-way drowned (for readers without JavaScript), on the page's cosine schedule."""
    keep = math.cos(t * math.pi / 2) ** 2  # ᾱ(t): how much of the picture survives
    noise = np.random.default_rng(0).standard_normal(picture.shape)
    x = math.sqrt(keep) * (picture / 127.5 - 1) + math.sqrt(1 - keep) * noise
    return Image.fromarray(((x.clip(-1, 1) + 1) * 127.5).round().astype(np.uint8))


WIDGET = ForwardProcess()

"""A tiny synthetic data card (no npm data, no font): six health-worker variants and an apple, each
drawn in two "styles" as one flat colour, and a tiny test model that carries it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tiny_model import TinyModel

from stepthrough.builtin import sources
from stepthrough.builtin.data import BASE, build_dataset
from stepthrough.builtin.datacard import load_card, make_card, save_card

HEALTH = ["🧑‍⚕️", "👩‍⚕️", "👨‍⚕️", "🧑🏿‍⚕️", "👩🏿‍⚕️", "👨🏿‍⚕️"]
APPLE = "🍎"
STYLES = ("noto", "3d")


def colour(style: int, concept: int) -> tuple[int, int, int]:
    """Each picture's one colour: far apart, so a thumbnail shows which picture it is."""
    return (40 + 200 * style, 30 + 35 * concept, 220 - 30 * concept)


def tiny_dataset():
    chars = [*HEALTH, APPLE]
    pictures = {}
    for s, style in enumerate(STYLES):
        drawn = {}
        for c, char in enumerate(chars):
            image = np.zeros((BASE, BASE, 4), dtype=np.uint8)
            image[8:-8, 8:-8] = (*colour(s, c), 255)
            drawn[sources.key_of_char(char)] = image
        pictures[style] = drawn
    keywords = {sources.key_of_char(c): ["doctor", "nurse"] for c in HEALTH}
    keywords[sources.key_of_char(APPLE)] = ["doctor", "fruit"]  # an apple a day keeps the doctor away
    return build_dataset(chars, pictures, keywords)


def tiny_card(folder: Path):
    """The synthetic card written to `folder` and read back."""
    folder.mkdir(parents=True, exist_ok=True)
    card, atlas = make_card(tiny_dataset())
    save_card(card, atlas, folder)
    return load_card(folder)


class CardModel(TinyModel):
    """The tiny test model, with a data card as the builtin model has."""

    def __init__(self, card):
        super().__init__()
        self.card = card

    def data_card(self):
        return self.card

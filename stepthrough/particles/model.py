"""The particles model in torch, for training: an MLP noise predictor ε(x, t, shape) and its DDPM loss.

The input features (position and its sines, time at a few frequencies, one-hot shape label with
an extra "no shape" label) and the noise schedule come from `sample.py`, so training and the numpy /
JavaScript samplers cannot drift apart. A one-hot label into the first Linear is a learned
embedding of the shape.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from stepthrough.particles.sample import Inputs, alpha_bar


class NoisePredictor(nn.Module):
    """Linear → SiLU → … → Linear, from the feature vector to the predicted noise (2 numbers)."""

    def __init__(self, in_features: int, hidden: int, depth: int):
        super().__init__()
        sizes = [in_features, *[hidden] * depth]
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(sizes):
            layers += [nn.Linear(a, b), nn.SiLU()]
        layers.append(nn.Linear(hidden, 2))
        self.net = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs)

    def linear_layers(self) -> list[nn.Linear]:
        return [m for m in self.net if isinstance(m, nn.Linear)]


def noisy_batch(
    x0: np.ndarray, labels: np.ndarray, rng: np.random.Generator, inputs: Inputs
) -> tuple[torch.Tensor, torch.Tensor]:
    """The DDPM objective's inputs and target: x_t = √ᾱ·x0 + √(1−ᾱ)·ε at a uniform random t; predict ε."""
    t = rng.uniform(0, 1, len(x0))
    eps = rng.standard_normal(x0.shape)
    a = alpha_bar(t)[:, None]
    xt = np.sqrt(a) * x0 + np.sqrt(1 - a) * eps
    return torch.from_numpy(inputs(xt, t, labels)).float(), torch.from_numpy(eps).float()

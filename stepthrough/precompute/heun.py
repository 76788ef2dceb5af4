"""Heun's sampler with an Euler first step: diffusers' `HeunDiscreteScheduler`, whose first stride
(out of the noisiest level) takes one evaluation instead of two.

diffusers and k-diffusion already end Heun with an Euler step, because the trapezoid needs the
slope at σ = 0. The other end needs the same care when the schedule starts at an enormous σ: the
builtin model's cosine schedule starts at σ ≈ 20,000 (ᾱ ≈ 2.4·10⁻⁹). There the model's guess of the
clean picture does not depend on the canvas yet, so the canvas moves along a straight line and one
Euler stride is exact; Heun's trapezoid instead averages in the slope at the stride's far end
(σ ≈ 3 at 5 steps), which holds only near that end, and multiplies it by the whole stride. Its
picture then misses the reference by ~0.5 RMS at every budget. With an Euler first step it
converges like the other samplers (benchmarks/samplers.py measures it).
"""

from __future__ import annotations

import torch
from diffusers import HeunDiscreteScheduler


class HeunEulerFirstScheduler(HeunDiscreteScheduler):
    """Heun (2nd order) on every step but the first and the last, which are Euler steps: a run of
    n ≥ 2 steps asks the model 2n − 2 times."""

    def set_timesteps(self, *args, **kwargs) -> None:
        super().set_timesteps(*args, **kwargs)
        # diffusers lays out σ as [σ0, σ1, σ1, σ2, σ2, …, 0] (each inner level twice: Heun's trial
        # stride lands on it, the correction restarts from it); drop σ1's second copy and its timestep.
        if len(self.timesteps) > 2:
            self.sigmas = torch.cat([self.sigmas[:2], self.sigmas[3:]])
            self.timesteps = torch.cat([self.timesteps[:2], self.timesteps[3:]])

    def step(self, model_output, timestep, sample, return_dict: bool = True):
        first = self.step_index is None or self.step_index == 0
        output = super().step(model_output, timestep, sample, return_dict)
        if first:  # the Euler stride stands: no correction follows, the next evaluation begins a step
            self.prev_derivative = self.dt = self.sample = None
        return output

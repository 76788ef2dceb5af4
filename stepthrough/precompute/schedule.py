"""The schedule record: the noise levels a batch ran through, read off the very diffusers scheduler
that stepped it (its timesteps, `alphas_cumprod`, `sigmas`, final ᾱ) at the evaluations where each
step began. Written once per sampler and step count (the manifest's `schedules`); every widget reads
ᾱ and σ from there, so nothing after the loop works them out again."""

from __future__ import annotations

from stepthrough.bundle import Schedule
from stepthrough.precompute.sampler import signal_level

DIGITS = 8  # significant digits kept: as many as the scheduler's float32 tables hold (ᾱ ≈ 2.4·10⁻⁹ stays)


def recorded(scheduler, timesteps: list[float], begun: list[int], flow_matching: bool) -> Schedule:
    """The schedule of a finished loop: `timesteps` and `begun` (the evaluation at which each step
    began: Heun evaluates twice a step) as the capture heard them."""
    sigmas = getattr(scheduler, "sigmas", None)
    sigma = [] if sigmas is None else [*(float(sigmas[i]) for i in begun), float(sigmas[-1])]
    alpha_bar, before = [], []
    if not flow_matching:
        final = 1 / (1 + sigma[-1] ** 2) if sigma else float(getattr(scheduler, "final_alpha_cumprod", 1.0))
        alpha_bar = [*(float(signal_level(scheduler, t, i)) for t, i in zip(timesteps, begun, strict=True)), final]
        if type(scheduler).__name__ == "DDIMScheduler":
            before = ddim_targets(scheduler, timesteps)
    return Schedule(timesteps=list(timesteps), alpha_bar=_kept(alpha_bar), sigma=_kept(sigma), alpha_bar_prev=_kept(before))


def ddim_targets(scheduler, timesteps: list[float]) -> list[float]:
    """The ᾱ each step of diffusers' DDIMScheduler steps to: at t − T/N, or its final ᾱ past 0."""
    jump = scheduler.config.num_train_timesteps // len(timesteps)
    table = scheduler.alphas_cumprod.double()
    final = float(scheduler.final_alpha_cumprod)
    return [float(table[int(t) - jump]) if int(t) - jump >= 0 else final for t in timesteps]


def _kept(values: list[float]) -> list[float]:
    return [float(f"{v:.{DIGITS}g}") for v in values]

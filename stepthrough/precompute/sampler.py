"""Sample: the denoising loop, as a diffusers pipeline writes it.

Encode the prompts, make the seeded noise, loop over the timesteps (the guided prediction, the
scheduler step), hand every step to a callback. Guidance is a small wrapper around the model
(k-diffusion's manner), chosen once before the loop, so the loop never asks which kind of model
it drives. The callback gets `{"x", "i", "t", "denoised"}` at each step: the noisy state x_t as
the model saw it, and x̂0, the guess of the clean latent that the scheduler step already computed
(flow-matching schedulers do not hand it out: there it is x_t − σ·v, from the predicted velocity v).
It also gets the guided prediction the scheduler stepped with, and the prompts' embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from stepthrough.bundle.ids import Job
from stepthrough.precompute.models.base import DiffusionModel, PromptEmbedding

Step = dict[str, Any]  # {"x", "i", "t", "denoised", "prediction", "cond"}


class CFGDenoiser:
    """Classifier-free guidance: the unconditional and conditional inputs in ONE batched forward
    pass ([uncond, cond], as diffusers batches them), mixed as uncond + scale · (cond − uncond)."""

    def __init__(self, model: DiffusionModel, cond: PromptEmbedding, scales: torch.Tensor):
        self.model, self.scales = model, scales
        self.cond = concat([model.encode_prompts([""] * len(scales)), cond])  # "" is the unconditional input

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        uncond, cond = self.model.predict(torch.cat([x, x]), t, self.cond).chunk(2)
        scale = self.scales.to(cond).view(-1, *[1] * (cond.dim() - 1))
        return uncond + scale * (cond - uncond)


class DistilledGuidance:
    """Guidance-distilled models (Flux) take the scale as an input: one conditional pass, no unconditional one."""

    def __init__(self, model: DiffusionModel, cond: PromptEmbedding, scales: torch.Tensor):
        self.model, self.cond, self.scales = model, cond, scales

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.model.predict(x, t, self.cond, guidance=self.scales.to(x.device))


def guided(model: DiffusionModel, cond: PromptEmbedding, scales: torch.Tensor):
    """The model with guidance around it, as the model declares it wants guidance."""
    return (DistilledGuidance if model.distilled_guidance else CFGDenoiser)(model, cond, scales)


@torch.inference_mode()
def sample(
    model: DiffusionModel, jobs: Sequence[Job], callback: Callable[[Step], None] | None = None
) -> torch.Tensor:
    """Run the jobs (one step count) as one batch from their seeds' noise; return the final latents."""
    steps = {job.steps for job in jobs}
    if len(steps) != 1:
        raise ValueError(f"a batch must share one step count, got {sorted(steps)}")
    n_steps = steps.pop()

    # 1. Encode the prompts (blended towards a second prompt where a job asks), wrap in guidance.
    cond = model.encode_prompts([job.prompt for job in jobs])
    if any(job.towards for job in jobs):
        target = model.encode_prompts([job.towards or job.prompt for job in jobs])
        cond = cond.blend(target, torch.tensor([job.blend for job in jobs]))
    denoiser = guided(model, cond, torch.tensor([job.guidance for job in jobs], dtype=torch.float32))

    # 2. The initial noise, one seed per trajectory, scaled for this scheduler.
    scheduler = model.make_scheduler()
    scheduler.set_timesteps(n_steps, **model.timestep_options(n_steps))
    noise = torch.stack([model.initial_noise(job.seed) for job in jobs])
    x = noise * getattr(scheduler, "init_noise_sigma", 1.0)  # flow-matching schedulers start at unit noise

    # 3. The loop.
    for i, t in enumerate(scheduler.timesteps):
        model_input = scale_model_input(scheduler, x, t)
        prediction = denoiser(model_input, t)
        output = scheduler.step(prediction, t, x)
        if callback is not None:
            guess = denoised(model, scheduler, output, x, prediction, i)
            callback(
                {"x": model_input, "i": i, "t": t, "denoised": guess, "prediction": prediction, "cond": cond}
            )
        x = output.prev_sample
    return x


def concat(embeddings: Sequence[PromptEmbedding]) -> PromptEmbedding:
    def cat(parts):
        return None if parts[0] is None else torch.cat(parts)

    return PromptEmbedding(
        hidden=cat([e.hidden for e in embeddings]),
        mask=cat([e.mask for e in embeddings]),
        pooled=cat([e.pooled for e in embeddings]),
    )


def scale_model_input(scheduler, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """What the model sees at `t`; flow-matching schedulers feed x_t as it is and have no such method."""
    scale = getattr(scheduler, "scale_model_input", None)
    return x if scale is None else scale(x, t)


def denoised(model: DiffusionModel, scheduler, output, x: torch.Tensor, prediction: torch.Tensor, i: int):
    """x̂0 at step `i`: the scheduler's own estimate, or x − σ·v for a flow-matching velocity v."""
    if model.flow_matching:  # x_t = (1 − σ)·x0 + σ·noise and v = noise − x0
        return x - scheduler.sigmas[i].to(x) * prediction
    return output.pred_original_sample

"""Sample: the denoising loop, capturing every step without extra model evaluations.

Reads like a diffusers pipeline: encode the prompts, make the seeded noise, loop over the
timesteps (conditional and unconditional inputs in ONE batched forward pass, guidance, scheduler
step), decode. The capture sits beside the loop: at step k it keeps the noisy state x_t and the
model's guess of the clean picture x̂0 that the scheduler step already computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from stepthrough.precompute.frames import to_uint8
from stepthrough.precompute.models.base import DiffusionModel, PromptEmbedding
from stepthrough.precompute.plan import Job

DECODE_BATCH = 32


@dataclass
class Rendered:
    """One finished trajectory: N+1 frames per view for N steps."""

    job: Job
    xt: np.ndarray  # (N+1, H, W, 3): frame k is the canvas after k steps (0 = pure noise)
    x0: np.ndarray  # (N+1, H, W, 3): frame k is the model's guess at step k (frame N = the result)
    timesteps: list[float]
    model_evaluations: int
    latents: np.ndarray  # (N+1, *latent_shape) float32: x_t itself, for projections


def concat(embeddings: Sequence[PromptEmbedding]) -> PromptEmbedding:
    def cat(parts):
        return None if parts[0] is None else torch.cat(parts)

    return PromptEmbedding(
        hidden=cat([e.hidden for e in embeddings]),
        mask=cat([e.mask for e in embeddings]),
        pooled=cat([e.pooled for e in embeddings]),
    )


@torch.inference_mode()
def sample(
    model: DiffusionModel, jobs: Sequence[Job], on_step: Callable[[], None] | None = None
) -> list[Rendered]:
    """Render jobs that share a step count as one batch; return every step of every job."""
    steps = {job.steps for job in jobs}
    if len(steps) != 1:
        raise ValueError(f"a batch must share one step count, got {sorted(steps)}")
    n_steps = steps.pop()
    batch = len(jobs)

    # 1. Encode prompts (blended towards a second prompt where a job asks); the empty prompt is
    # the unconditional input for guidance.
    cond = model.encode_prompts([job.prompt for job in jobs])
    if any(job.towards for job in jobs):
        target = model.encode_prompts([job.towards or job.prompt for job in jobs])
        cond = cond.blend(target, torch.tensor([job.blend for job in jobs]))
    uncond = model.encode_prompts([""] * batch)
    both = concat([cond, uncond])
    guidance = torch.tensor([job.guidance for job in jobs], dtype=torch.float32).view(batch, 1, 1, 1)

    # 2. Initial noise, one seed per trajectory, scaled for this scheduler.
    scheduler = model.make_scheduler()
    scheduler.set_timesteps(n_steps)
    x = torch.stack([model.initial_noise(job.seed) for job in jobs]) * scheduler.init_noise_sigma

    # 3. The loop. Capture: what the canvas looks like (x_t, in the scale the model sees) and the
    # scheduler's own estimate of the clean latent (x̂0).
    captured_xt, captured_x0 = [], []
    evaluations = 0
    for t in scheduler.timesteps:
        model_input = scheduler.scale_model_input(torch.cat([x, x]), t)
        prediction = model.predict(model_input, t, both)  # conditional + unconditional, one pass
        evaluations += 1
        pred_cond, pred_uncond = prediction.chunk(2)
        guided = pred_uncond + guidance.to(prediction.dtype) * (pred_cond - pred_uncond)
        output = scheduler.step(guided, t, x)
        captured_xt.append(model_input[:batch])
        captured_x0.append(output.pred_original_sample)
        x = output.prev_sample
        if on_step is not None:
            on_step()
    captured_xt.append(x)
    captured_x0.append(x)  # after the last step the guess is the result itself

    # 4. Decode all captured latents to pictures, frame-major → trajectory-major.
    latents = torch.stack(captured_xt, dim=1)
    xt = _decode(model, latents)
    x0 = _decode(model, torch.stack(captured_x0, dim=1))
    timesteps = [float(t) for t in scheduler.timesteps]
    latents = latents.float().cpu().numpy()
    return [Rendered(job, xt[i], x0[i], timesteps, evaluations, latents[i]) for i, job in enumerate(jobs)]


def _decode(model: DiffusionModel, latents: torch.Tensor) -> np.ndarray:
    """(B, F, *latent) latents → (B, F, H, W, 3) uint8, decoded in chunks to bound memory."""
    batch, frames = latents.shape[:2]
    flat = latents.reshape(batch * frames, *latents.shape[2:])
    images = np.concatenate([to_uint8(model.decode(chunk)) for chunk in flat.split(DECODE_BATCH)])
    return images.reshape(batch, frames, *images.shape[1:])

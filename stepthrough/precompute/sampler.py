"""Sample: the denoising loop, capturing every step without extra model evaluations.

Reads like a diffusers pipeline: encode the prompts, make the seeded noise, loop over the
timesteps (conditional and unconditional inputs in ONE batched forward pass, guidance, scheduler
step), decode. The capture sits beside the loop: at step k it keeps the noisy state x_t and the
model's guess of the clean picture x̂0 that the scheduler step already computed (flow-matching
schedulers do not hand it out: there it is x_t − σ·v, from the velocity v the model predicted).
Guidance-distilled models (Flux) take the guidance scale as an input and skip the unconditional half.
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
    # Classifier-free guidance doubles the batch with unconditional inputs; a guidance-distilled
    # model (Flux) takes the scale as an input instead and needs no unconditional pass.
    distilled = getattr(model, "distilled_guidance", False)

    # 1. Encode prompts (blended towards a second prompt where a job asks); the empty prompt is
    # the unconditional input for guidance.
    cond = model.encode_prompts([job.prompt for job in jobs])
    if any(job.towards for job in jobs):
        target = model.encode_prompts([job.towards or job.prompt for job in jobs])
        cond = cond.blend(target, torch.tensor([job.blend for job in jobs]))
    if not distilled:
        cond = concat([cond, model.encode_prompts([""] * batch)])
    guidance = torch.tensor([job.guidance for job in jobs], dtype=torch.float32)

    # 2. Initial noise, one seed per trajectory, scaled for this scheduler.
    scheduler = model.make_scheduler()
    timestep_options = getattr(model, "timestep_options", None)
    scheduler.set_timesteps(n_steps, **(timestep_options(n_steps) if timestep_options else {}))
    noise = torch.stack([model.initial_noise(job.seed) for job in jobs])
    x = noise * getattr(scheduler, "init_noise_sigma", 1.0)  # flow-matching schedulers start at unit noise

    # 3. The loop. Capture: what the canvas looks like (x_t, in the scale the model sees) and the
    # scheduler's own estimate of the clean latent (x̂0).
    captured_xt, captured_x0 = [], []
    evaluations = 0
    for i, t in enumerate(scheduler.timesteps):
        if distilled:
            model_input = scale_model_input(scheduler, x, t)
            guided = model.predict(model_input, t, cond, guidance=guidance.to(x.device))
        else:
            model_input = scale_model_input(scheduler, torch.cat([x, x]), t)
            prediction = model.predict(model_input, t, cond)  # conditional + unconditional, one pass
            pred_cond, pred_uncond = prediction.chunk(2)
            scale = guidance.to(prediction).view(batch, *[1] * (prediction.dim() - 1))
            guided = pred_uncond + scale * (pred_cond - pred_uncond)
        evaluations += 1
        output = scheduler.step(guided, t, x)
        captured_xt.append(model_input[:batch])
        captured_x0.append(denoised(scheduler, output, x, guided, i))
        x = output.prev_sample
        if on_step is not None:
            on_step()
    captured_xt.append(x)

    # 4. Decode all captured latents to pictures, frame-major → trajectory-major. The result is the
    # last frame of both views (after the last step the guess is the result itself): decoded once,
    # by the full decoder even when the model has a cheaper one for the steps before.
    latents = torch.stack(captured_xt, dim=1)
    preview = getattr(model, "decode_preview", None) or model.decode
    final = _decode(model.decode, latents[:, -1:])
    xt = np.concatenate([_decode(preview, latents[:, :-1]), final], axis=1)
    x0 = np.concatenate([_decode(preview, torch.stack(captured_x0, dim=1)), final], axis=1)
    timesteps = [float(t) for t in scheduler.timesteps]
    latents = latents.float().cpu().numpy()
    return [Rendered(job, xt[i], x0[i], timesteps, evaluations, latents[i]) for i, job in enumerate(jobs)]


def scale_model_input(scheduler, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """What the model sees at `t`; flow-matching schedulers feed x_t as it is and have no such method."""
    scale = getattr(scheduler, "scale_model_input", None)
    return x if scale is None else scale(x, t)


def is_flow_matching(scheduler) -> bool:
    """Flow-matching schedulers (SD3, Flux, PRX) move along x_t = (1 − σ)·x0 + σ·noise."""
    return type(scheduler).__name__.startswith("FlowMatch")


def denoised(scheduler, output, x: torch.Tensor, prediction: torch.Tensor, index: int) -> torch.Tensor:
    """x̂0 at step `index`: the scheduler's own estimate, or x − σ·v for a flow-matching velocity v."""
    guess = getattr(output, "pred_original_sample", None)
    if guess is not None:
        return guess
    if is_flow_matching(scheduler):
        return x - scheduler.sigmas[index].to(x) * prediction
    raise ValueError(f"{type(scheduler).__name__} gives no estimate of the clean sample")


def _decode(decode: Callable[[torch.Tensor], torch.Tensor], latents: torch.Tensor) -> np.ndarray:
    """(B, F, *latent) latents → (B, F, H, W, 3) uint8, decoded in chunks to bound memory; when a
    chunk does not fit in GPU memory (big pictures), fewer at a time."""
    batch, frames = latents.shape[:2]
    flat = latents.reshape(batch * frames, *latents.shape[2:])
    pictures, start, chunk = [], 0, DECODE_BATCH
    while start < len(flat):
        try:
            pictures.append(to_uint8(decode(flat[start : start + chunk])))
        except torch.OutOfMemoryError:
            if chunk == 1:
                raise
            chunk //= 2
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            continue
        start += chunk
    images = np.concatenate(pictures)
    return images.reshape(batch, frames, *images.shape[1:])

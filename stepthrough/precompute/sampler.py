"""Sample: the denoising loop, as a diffusers pipeline writes it.

Encode the prompts, make the seeded noise, loop over the timesteps (the guided prediction, the
scheduler step), hand every step to a callback. Guidance is a small wrapper around the model
(k-diffusion's manner), chosen once before the loop, so the loop never asks which kind of model
it drives. The callback gets `{"x", "i", "t", "denoised", "evaluations", "rows"}` at each step: the noisy
state x_t as the model saw it, x̂0 (the guess of the clean latent, from the model's own prediction
and this step's noise level, so multistep samplers give it too), the evaluations so far, and
where its batch's rows sit in the forward pass (offset, count).

A job may name a sampler (DDIM, Euler, DPM-Solver++ 2M, Heun) instead of the model's own
scheduler: `make_scheduler` builds it from the model's scheduler config, prediction type included.
Heun evaluates the model twice a step but the first and the last (heun.py says why the first); its
step is handed out once, at its first evaluation.
It also gets the guided prediction the scheduler stepped with (`prediction`; Heun: its first
evaluation's), the prompts' embedding (`cond`), and the scheduler itself (`scheduler`: its tables
are the schedule the bundle records, precompute/schedule.py).

`sample_groups` runs several such batches side by side for a model that takes one timestep per row
(`mixed_timesteps`): every forward pass holds the rows of every batch that still has steps to go,
each at its own timestep, and each batch's own scheduler steps its rows. A one-step and a
hundred-step trajectory then share forward passes, where alone each would run at a batch of one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from stepthrough.adapter import DiffusionModel, PromptEmbedding
from stepthrough.bundle.ids import SCHEDULERS, Job
from stepthrough.errors import StepthroughError

# The diffusers class of each sampler a job may name (Heun: ours, diffusers' with an Euler first
# step, see heun.py), and what it changes in the model's config.
SAMPLER_CLASSES = {
    "ddim": ("DDIMScheduler", {"clip_sample": False}),  # latents are not in [-1, 1]
    "euler": ("EulerDiscreteScheduler", {}),
    "dpm++2m": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "heun": ("HeunEulerFirstScheduler", {}),
}

Step = dict[str, Any]  # {"x", "i", "t", "denoised", "evaluations", "prediction", "cond", "rows", "scheduler"}


class CFGDenoiser:
    """Classifier-free guidance: the unconditional and conditional inputs in ONE batched forward
    pass ([uncond, cond], as diffusers batches them), mixed as uncond + scale · (cond − uncond)."""

    def __init__(self, model: DiffusionModel, cond: PromptEmbedding, scales: torch.Tensor):
        self.model, self.scales = model, scales
        self.cond = concat([model.encode_prompts([""] * len(scales)), cond])  # "" is the unconditional input

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        both = torch.cat([t, t]) if t.dim() else t  # one timestep per row, or one for all
        uncond, cond = self.model.predict(torch.cat([x, x]), both, self.cond).chunk(2)
        scale = self.scales.to(cond).view(-1, *[1] * (cond.dim() - 1))
        return uncond + scale * (cond - uncond)

    def rows(self, index: torch.Tensor) -> CFGDenoiser:
        """The same guidance for these rows of the batch only."""
        part = object.__new__(CFGDenoiser)
        n = len(self.scales)
        part.model, part.scales = self.model, self.scales[index]
        part.cond = take_rows(self.cond, torch.cat([index, index + n]))
        return part


class DistilledGuidance:
    """Guidance-distilled models (Flux) take the scale as an input: one conditional pass, no unconditional one."""

    def __init__(self, model: DiffusionModel, cond: PromptEmbedding, scales: torch.Tensor):
        self.model, self.cond, self.scales = model, cond, scales

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.model.predict(x, t, self.cond, guidance=self.scales.to(x.device))

    def rows(self, index: torch.Tensor) -> DistilledGuidance:
        """The same guidance for these rows of the batch only."""
        return DistilledGuidance(self.model, take_rows(self.cond, index), self.scales[index])


def guided(model: DiffusionModel, cond: PromptEmbedding, scales: torch.Tensor):
    """The model with guidance around it, as the model declares it wants guidance."""
    return (DistilledGuidance if model.distilled_guidance else CFGDenoiser)(model, cond, scales)


def make_scheduler(model: DiffusionModel, name: str = ""):
    """A fresh scheduler for the model: its own (""), or the named sampler built from its config."""
    own = model.make_scheduler()
    if not name:
        return own
    if model.flow_matching:
        raise StepthroughError(
            f"model '{model.info.id}' is a flow-matching model: the samplers {', '.join(SCHEDULERS)} "
            "step ε- or v-predicting models only; leave out 'schedulers:' for this model"
        )
    import diffusers

    from stepthrough.precompute import heun

    class_name, changes = SAMPLER_CLASSES[name]
    config = {k: v for k, v in dict(own.config).items() if not k.startswith("_")}
    scheduler_class = getattr(heun, class_name, None) or getattr(diffusers, class_name)
    return scheduler_class.from_config({**config, **changes})


@torch.inference_mode()
def sample(
    model: DiffusionModel, jobs: Sequence[Job], callback: Callable[[Step], None] | None = None
) -> torch.Tensor:
    """Run the jobs (one step count, one sampler) as one batch from their seeds' noise; return the
    final latents."""
    kinds = {(job.steps, job.sampler) for job in jobs}
    if len(kinds) != 1:
        raise ValueError(f"a batch must share one step count and sampler, got {sorted(kinds)}")
    return sample_groups(model, [jobs], [callback])[0]


@torch.inference_mode()
def sample_groups(
    model: DiffusionModel,
    groups: Sequence[Sequence[Job]],
    callbacks: Sequence[Callable[[Step], None] | None],
    before_pass: Callable[[int], None] | None = None,
) -> list[torch.Tensor]:
    """Run batches of jobs (each batch: one step count, one sampler) side by side, every forward
    pass holding the rows of each batch with steps still to go; return each batch's final latents.
    Several batches need a model with `mixed_timesteps`. `before_pass(rows)` hears how many
    trajectories the next forward pass holds (attention maps are recorded per pass)."""
    for jobs in groups:
        if len({(job.steps, job.sampler) for job in jobs}) != 1:
            raise ValueError("a batch must share one step count and sampler")
    if len(groups) > 1 and not model.mixed_timesteps:
        raise ValueError(f"model '{model.info.id}' takes one timestep per forward pass: one batch at a time")
    jobs = [job for group in groups for job in group]

    # 1. Encode the prompts (blended towards a second prompt where a job asks), wrap in guidance.
    cond = model.encode_prompts([job.prompt for job in jobs])
    if any(job.towards for job in jobs):
        target = model.encode_prompts([job.towards or job.prompt for job in jobs])
        cond = cond.blend(target, torch.tensor([job.blend for job in jobs]))
    denoiser = guided(model, cond, torch.tensor([job.guidance for job in jobs], dtype=torch.float32))

    # 2. Per batch: its scheduler, and its seeds' noise scaled for it.
    runs, start = [], 0
    for group, callback in zip(groups, callbacks, strict=True):
        scheduler = make_scheduler(model, group[0].sampler)
        scheduler.set_timesteps(group[0].steps, **model.timestep_options(group[0].steps))
        noise = torch.stack([model.initial_noise(job.seed) for job in group])
        x = noise * getattr(scheduler, "init_noise_sigma", 1.0)  # flow-matching schedulers start at unit noise
        rows = torch.arange(start, start + len(group))
        runs.append(_Run(scheduler, x, rows, take_rows(cond, rows), callback))
        start += len(group)

    # 3. The loop: one forward pass for every batch not yet done, then each batch's own step. A step
    # begins where the scheduler is not half-way through one (Heun's second evaluation corrects the
    # step its first began).
    alone = len(runs) == 1
    while active := [run for run in runs if run.i < len(run.scheduler.timesteps)]:
        ts = [run.scheduler.timesteps[run.i] for run in active]
        inputs = [scale_model_input(run.scheduler, run.x, t) for run, t in zip(active, ts, strict=True)]
        if before_pass is not None:
            before_pass(sum(len(run.rows) for run in active))
        if alone:
            predictions = [denoiser(inputs[0], ts[0])]
        else:
            index = torch.cat([run.rows for run in active])
            t_rows = torch.cat([t.reshape(1).expand(len(run.rows)) for run, t in zip(active, ts, strict=True)])
            part = denoiser.rows(index) if len(index) < len(jobs) else denoiser
            predictions = part(torch.cat(inputs), t_rows).split([len(run.rows) for run in active])
        offset = 0
        for run, t, model_input, prediction in zip(active, ts, inputs, predictions, strict=True):
            run.advance(model, t, model_input, prediction, offset)
            offset += len(run.rows)
    return [run.x for run in runs]


class _Run:
    """One batch's place in `sample_groups`: its scheduler, state, rows of the whole, and callback."""

    def __init__(self, scheduler, x: torch.Tensor, rows: torch.Tensor, cond: PromptEmbedding, callback):
        self.scheduler, self.x, self.rows, self.cond, self.callback = scheduler, x, rows, cond, callback
        self.i = 0  # evaluations so far
        self.step = 0  # steps begun so far

    def advance(
        self, model: DiffusionModel, t, model_input: torch.Tensor, prediction: torch.Tensor, offset: int
    ) -> None:
        begins = getattr(self.scheduler, "state_in_first_order", True)
        if self.callback is not None and begins:
            guess = denoised(model, self.scheduler, model_input, prediction, t, self.i)
            self.callback({"x": model_input, "i": self.step, "t": t, "denoised": guess,
                           "evaluations": self.i + 1, "prediction": prediction, "cond": self.cond,
                           "rows": (offset, len(self.rows)), "scheduler": self.scheduler})
        self.step += begins
        self.i += 1
        self.x = self.scheduler.step(prediction, t, self.x).prev_sample


def take_rows(embedding: PromptEmbedding, index: torch.Tensor) -> PromptEmbedding:
    def take(tensor):
        return None if tensor is None else tensor[index.to(tensor.device)]

    return PromptEmbedding(hidden=take(embedding.hidden), mask=take(embedding.mask), pooled=take(embedding.pooled))


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


def denoised(model: DiffusionModel, scheduler, x: torch.Tensor, prediction: torch.Tensor, t, i: int):
    """x̂0 from the model's prediction at the `i`-th evaluation, where the model saw x (= x_t).

    Flow matching: x_t = (1 − σ)·x0 + σ·noise and v = noise − x0, so x̂0 = x_t − σ·v. Otherwise
    x_t = √ᾱ·x0 + √(1−ᾱ)·ε as the model sees it (Euler and Heun scale their σ-space state to this),
    and x̂0 follows from ε, v = √ᾱ·ε − √(1−ᾱ)·x0, or the sample itself."""
    if model.flow_matching:
        return x - scheduler.sigmas[i].to(x) * prediction
    alpha_bar = signal_level(scheduler, t, i).to(x)
    signal, noise = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return (x - noise * prediction) / signal
    if kind == "v_prediction":
        return signal * x - noise * prediction
    if kind == "sample":
        return prediction
    raise ValueError(f"prediction_type {kind!r}: expected epsilon, v_prediction or sample")


def signal_level(scheduler, t, i: int) -> torch.Tensor:
    """ᾱ at the `i`-th evaluation: from the scheduler's σ there (ᾱ = 1 / (1 + σ²)) when it keeps
    them (Euler, Heun, DPM-Solver), else its ᾱ at timestep t (DDIM)."""
    sigmas = getattr(scheduler, "sigmas", None)
    if sigmas is not None:
        return 1 / (1 + sigmas[i].double() ** 2)
    return scheduler.alphas_cumprod[int(t)].double()

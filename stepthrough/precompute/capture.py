"""Capture: every step of a batch, kept by a callback beside the sampler's loop, then decoded to
pictures. No extra model evaluations: x_t and x̂0 are what the loop computed anyway, and the
cross-attention maps (where the model offers them) are read off its layers as they run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from stepthrough.adapter import DiffusionModel, Token, word_pieces
from stepthrough.bundle import Schedule
from stepthrough.bundle.ids import Job
from stepthrough.precompute.attention import CrossAttentionMaps
from stepthrough.precompute.frames import to_uint8
from stepthrough.precompute.sampler import Step, sample_groups
from stepthrough.precompute.schedule import recorded
from stepthrough.precompute.tensors import StepTensors, record

DECODE_BATCH = 32
LOOP = frozenset({"prediction", "cond", "cross_attention"})  # what recorders may read of the loop (Recorder.loop)


@dataclass
class Rendered:
    """One finished trajectory: N+1 frames per view for N steps."""

    job: Job
    xt: np.ndarray  # (N+1, H, W, 3): frame k is the canvas after k steps (0 = pure noise)
    x0: np.ndarray  # (N+1, H, W, 3): frame k is the model's guess at step k (frame N = the result)
    timesteps: list[float]
    model_evaluations: int
    latents: np.ndarray  # (N+1, *latent_shape) float32: x_t itself, for projections
    schedule: Schedule  # the noise levels its sampler ran through (shared by its batch)
    # (N, K, h, w) float32: at step k, how much attention the picture's positions give each of the
    # prompt's K word pieces (`tokens`), averaged over heads and layers; None where not offered
    attention: np.ndarray | None = None
    tokens: list[str] | None = None
    tensors: StepTensors | None = None  # one step opened up (widget: inside); written only for its sections


class Capture:
    """The sampler's callback: keeps x_t and x̂0 of every step, what the recorders read of the loop
    (`keep`: "prediction", "cond"), and the step's attention maps when `attention` records them;
    `on_step(n)` hears of each one, n the trajectories that took it."""

    def __init__(
        self,
        on_step: Callable[[int], None] | None = None,
        attention: CrossAttentionMaps | None = None,
        keep: frozenset[str] = LOOP,
    ):
        self.keep = keep
        self.xt: list[torch.Tensor] = []
        self.x0: list[torch.Tensor] = []
        self.timesteps: list[float] = []
        self.begun: list[int] = []  # the evaluation at which each step began (Heun: two a step)
        self.scheduler = None  # the scheduler that stepped the batch: its tables are its schedule
        self.evaluations = 0  # model evaluations so far
        self.predictions: list[torch.Tensor] = []  # what the scheduler was handed, guidance applied
        self.cond = None  # the prompts' embedding the loop conditioned on
        self.attention_source, self.attention = attention, []
        self.on_step = on_step

    def __call__(self, step: Step) -> None:
        self.xt.append(step["x"])
        self.x0.append(step["denoised"])
        self.timesteps.append(float(step["t"]))
        self.begun.append(step["evaluations"] - 1)
        self.scheduler = step["scheduler"]
        self.evaluations = step["evaluations"]
        if "prediction" in self.keep:
            self.predictions.append(step["prediction"])
        if "cond" in self.keep:
            self.cond = step["cond"]
        if self.attention_source is not None:
            self.attention.append(self.attention_source.rows_of_pass(*step["rows"]))
        if self.on_step is not None:
            self.on_step(step["rows"][1])


def render(
    model: DiffusionModel,
    jobs: Sequence[Job],
    on_step: Callable[[int], None] | None = None,
    timed: Callable[[float, float], None] | None = None,
    keep: frozenset[str] = LOOP,
) -> list[Rendered]:
    """Sample jobs as one batch; return every step of every job as pictures (and, where the model
    offers them, its cross-attention maps), in the jobs' order. The jobs share a step count and
    sampler; for a model with `mixed_timesteps` they may not: each group that shares one runs
    beside the others, in the same forward passes. `on_step(n)` hears of every step that n of them
    took; `timed`, of the seconds spent in the model's loop and in decoding. `keep`: what the
    recorders of these jobs read of the loop (the plan's `loop`); the rest is not kept."""
    kinds: dict[tuple[int, str], list[int]] = {}
    for position, job in enumerate(jobs):
        kinds.setdefault((job.steps, job.sampler), []).append(position)
    groups = [[jobs[i] for i in positions] for positions in kinds.values()]
    denoiser = model.cross_attention() if "cross_attention" in keep else None
    # Each prompt tokenised once, for every recording that names its tokens (maps, tensors)
    named = denoiser is not None or "prediction" in keep
    tokens = {job: prompt_tokens(model, job) for job in jobs} if named else {}
    started = time.perf_counter()
    if denoiser is None:
        captures = [Capture(on_step, keep=keep) for _ in groups]
        finals = sample_groups(model, groups, captures)
    else:
        with CrossAttentionMaps(denoiser, tuple(model.info.latent_shape[-2:]), len(jobs)) as maps:
            captures = [Capture(on_step, maps, keep) for _ in groups]
            finals = sample_groups(model, groups, captures, before_pass=maps.before_pass)
    sampled = time.perf_counter()
    rendered: dict[int, Rendered] = {}
    for positions, group, capture, final in zip(kinds.values(), groups, captures, finals, strict=True):
        schedule = recorded(capture.scheduler, capture.timesteps, capture.begun, model.flow_matching)
        with torch.inference_mode():
            done = decoded(model, group, capture, final, schedule)
        if denoiser is not None and all(a is not None for a in capture.attention):
            steps = torch.stack(capture.attention, dim=1).numpy()  # (B, N, all tokens, h, w)
            for i, r in enumerate(done):
                pieces = word_pieces(tokens[r.job])
                r.tokens = [piece for _, piece in pieces]
                r.attention = steps[i][:, [position for position, _ in pieces]]
        if capture.predictions:
            recorded_tensors = record(model, group, capture, final, schedule, [tokens[job] for job in group])
            for r, tensors in zip(done, recorded_tensors, strict=True):
                r.tensors = tensors
        rendered.update(zip(positions, done, strict=True))
    if timed is not None:
        timed(sampled - started, time.perf_counter() - sampled)
    return [rendered[i] for i in range(len(jobs))]


def prompt_tokens(model: DiffusionModel, job: Job) -> list[Token]:
    """The job's prompt as its text encoder's tokens; none for a blend (it mixes two prompts' words)
    or where the model does not say."""
    return [] if job.towards else (model.prompt_tokens(job.prompt) or [])


def decoded(
    model: DiffusionModel, jobs: Sequence[Job], capture: Capture, final: torch.Tensor, schedule: Schedule
) -> list[Rendered]:
    """The captured latents as pictures, frame-major → trajectory-major. The result is the last frame
    of both views (after the last step the guess is the result itself): decoded once, by the full
    decoder even when the model has a cheaper one for the steps before."""
    latents = torch.stack([*capture.xt, final], dim=1)
    last = _decode(model.decode, latents[:, -1:])
    xt = np.concatenate([_decode(model.decode_preview, latents[:, :-1]), last], axis=1)
    x0 = np.concatenate([_decode(model.decode_preview, torch.stack(capture.x0, dim=1)), last], axis=1)
    evaluations = capture.evaluations  # batched forward passes: one a step, Heun's two
    latents = latents.float().cpu().numpy()
    return [
        Rendered(job, xt[i], x0[i], capture.timesteps, evaluations, latents[i], schedule)
        for i, job in enumerate(jobs)
    ]


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

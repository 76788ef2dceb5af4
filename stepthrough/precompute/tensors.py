"""One step, opened up: the real tensors of a trajectory, kept beside the loop for the `inside`
widget. The prompt's tokens (the tokenizer's own pieces and ids) and the vectors the text encoder
made of them (the very embedding the sampler conditioned on), the model's prediction at every step
(the tensor the scheduler was handed) and one number of the latent followed through the update.
Nothing here evaluates the model or asks the scheduler: the tensors are the ones the loop computed,
ᾱ and σ the batch's schedule record (precompute/schedule.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from stepthrough.adapter import Token
from stepthrough.bundle import Schedule


@dataclass
class StepTensors:
    """A trajectory's steps opened up, in memory (its recorder stores it: widgets/inside/record.py)."""

    prediction_type: str  # "epsilon", "v_prediction", "sample", or "flow" (a flow-matching velocity)
    update: str  # "ddim", "euler", "flow": the update the page writes out; "" for another scheduler
    predictions: np.ndarray  # (N, C, h, w) float32: the (guided) prediction at each step
    probe: dict[str, list[float]]  # per step, one latent number: x, prediction, x0, next
    probe_at: list[int]  # [channel, row, column] of that number
    tokens: list[Token] = field(default_factory=list)
    vectors: np.ndarray | None = None  # (K, D) float32: the text encoder's vector for each token
    padding: int = 0  # positions after the tokens that the denoiser also gets
    padding_read: bool = True  # False where a mask tells the denoiser to ignore them


def update_kind(scheduler, flow_matching: bool) -> str:
    name = type(scheduler).__name__
    if flow_matching:
        return "flow" if name == "FlowMatchEulerDiscreteScheduler" else ""
    return {"DDIMScheduler": "ddim", "EulerDiscreteScheduler": "euler"}.get(name, "")


def probe_position(latent_shape: tuple[int, ...]) -> list[int]:
    """The latent number the page follows through each update: channel 1's centre."""
    _, height, width = latent_shape
    return [0, height // 2, width // 2]


def scheduler_state(kind: str, schedule: Schedule, k: int, model_input: float) -> float:
    """The scheduler's own x at step k from what the model saw: Euler feeds x/√(σ²+1), the rest x."""
    if kind == "euler":
        return model_input * math.sqrt(schedule.sigma[k] ** 2 + 1)
    return model_input


# --- recording, from what the loop handed the capture --------------------------------------------


def record(model, jobs, capture, final, schedule: Schedule, tokens: list[list[Token]]) -> list[StepTensors]:
    """Each job's StepTensors from a capture (capture.py: per step the model's input x, x̂0 and the
    prediction, the conditional embedding and the scheduler the sampler used), the final latents,
    the batch's schedule and each job's prompt tokens (capture.prompt_tokens)."""
    scheduler = capture.scheduler  # a batch shares one
    kind = update_kind(scheduler, model.flow_matching)
    prediction_type = (
        "flow" if model.flow_matching else str(scheduler.config.get("prediction_type", "epsilon"))
    )

    def stacked(tensors):  # per step (B, C, h, w) → (B, N, C, h, w)
        return np.stack([t.float().cpu().numpy() for t in tensors], axis=1)

    predictions, inputs, guesses = stacked(capture.predictions), stacked(capture.xt), stacked(capture.x0)
    cond = capture.cond
    last = final.float().cpu().numpy()
    at = probe_position(tuple(model.info.latent_shape))
    out = []
    for b in range(len(jobs)):
        c, y, x = at
        seen = inputs[b, :, c, y, x]
        state = [scheduler_state(kind, schedule, k, float(v)) for k, v in enumerate(seen)]
        probe = {
            "x": state,
            "prediction": predictions[b, :, c, y, x].tolist(),
            "x0": guesses[b, :, c, y, x].tolist(),
            "next": [*state[1:], float(last[b, c, y, x])],
        }
        tensors = StepTensors(prediction_type, kind, predictions[b], probe, at)
        if cond is not None and tokens[b]:
            hidden = cond.hidden[b].float().cpu().numpy()
            tensors.tokens = tokens[b]
            tensors.vectors = hidden[[t.position for t in tokens[b]]]
            tensors.padding = hidden.shape[0] - (tokens[b][-1].position + 1)
            tensors.padding_read = cond.mask is None
        out.append(tensors)
    return out

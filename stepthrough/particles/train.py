"""Train the particles model on CPU in a few minutes and write `weights.json`.

Reads top to bottom: config → data (point clouds of every shape) → model → loop (DDPM loss,
label dropout for classifier-free guidance, EMA of the weights) → export as float16.

    stepthrough train-particles                 # a few minutes on one CPU core
    stepthrough train-particles --steps 500 --out /tmp/w.json   # a quick smoke run
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import numpy as np
import torch
from tqdm import tqdm

from stepthrough.atomic import atomic_write
from stepthrough.particles.model import NoisePredictor, noisy_batch
from stepthrough.particles.sample import COSINE_S, MIN_ALPHA_BAR, WEIGHTS, Inputs, encode
from stepthrough.particles.shapes import SHAPE_NAMES, sample_shape


@dataclass
class Config:
    steps: int = 16000
    batch: int = 1024
    lr: float = 3e-3  # peak; cosine decay to zero
    warmup: int = 200
    hidden: int = 64  # 64 × 4 matched 96 × 3 and 128 × 3 in quality here, at a third of the page's work
    depth: int = 4  # hidden layers
    time_frequencies: int = 8  # sin and cos of t at geometric frequencies from 1 to 200
    position_features: int = 12  # sin and cos of the position along this many random directions
    position_scale: float = 4.0  # their frequencies are normal with this spread (radians per unit)
    label_dropout: float = 0.15  # "no shape" instead, so the same net is also the unconditional model
    ema_decay: float = 0.995
    points_per_shape: int = 20_000
    seed: int = 0
    threads: int = 1  # measured: 2 threads were 18x slower on a shared 2-core machine


def model_inputs(cfg: Config) -> Inputs:
    return Inputs(
        position_directions=np.random.default_rng(cfg.seed).normal(
            0, cfg.position_scale, (cfg.position_features, 2)
        ),
        time_frequencies=np.exp(np.linspace(0, math.log(200), cfg.time_frequencies)),
        classes=len(SHAPE_NAMES) + 1,  # every shape, plus "no shape"
    )


def train(cfg: Config, progress: bool = True) -> tuple[dict, list[float]]:
    """Train from scratch; returns the weights file's content and the logged losses."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    inputs = model_inputs(cfg)
    null_label = len(SHAPE_NAMES)

    clouds = np.concatenate(
        [sample_shape(n, cfg.points_per_shape, seed=cfg.seed + i) for i, n in enumerate(SHAPE_NAMES)]
    )
    cloud_labels = np.repeat(np.arange(len(SHAPE_NAMES)), cfg.points_per_shape)

    model = NoisePredictor(inputs.size, cfg.hidden, cfg.depth)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)

    def lr_at(step: int) -> float:
        if step < cfg.warmup:
            return cfg.lr * (step + 1) / cfg.warmup
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * (step - cfg.warmup) / (cfg.steps - cfg.warmup)))

    losses: list[float] = []
    started = time.perf_counter()
    bar = tqdm(range(cfg.steps), disable=not progress, desc="train-particles", unit="step")
    running = None
    for step in bar:
        pick = rng.integers(0, len(clouds), cfg.batch)
        labels = np.where(rng.uniform(size=cfg.batch) < cfg.label_dropout, null_label, cloud_labels[pick])
        batch, target = noisy_batch(clouds[pick], labels, rng, inputs)
        loss = torch.nn.functional.mse_loss(model(batch), target)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), model.parameters()):
                e.lerp_(p, 1 - cfg.ema_decay)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0 or step == cfg.steps - 1:
            losses.append(running)
            bar.set_postfix(loss=f"{running:.4f}")
    seconds = time.perf_counter() - started

    layers = [
        {
            "weight": encode(m.weight.detach().double().numpy()),
            "bias": encode(m.bias.detach().double().numpy()),
        }
        for m in ema.linear_layers()
    ]
    weights = {
        "format": 1,
        "shapes": list(SHAPE_NAMES),
        "position_directions": inputs.position_directions.tolist(),
        "time_frequencies": inputs.time_frequencies.tolist(),
        "schedule": {
            "kind": "cosine",
            "s": COSINE_S,
            "min_alpha_bar": MIN_ALPHA_BAR,
            "prediction": "epsilon",
        },
        "layers": layers,
        "training": {**asdict(cfg), "final_loss": round(losses[-1], 5), "seconds": round(seconds, 1)},
    }
    return weights, losses


@click.command(name="train-particles")
@click.option(
    "--steps", default=Config.steps, show_default=True, type=click.IntRange(1), help="Optimizer steps."
)
@click.option("--seed", default=0, show_default=True, help="Seed for data, initialization and batches.")
@click.option(
    "--threads", default=1, show_default=True, type=click.IntRange(1), help="CPU threads for torch."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=WEIGHTS,
    show_default=True,
    help="Where the weights file goes (the package's copy by default).",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar (for logs).")
def command(steps: int, seed: int, threads: int, out: Path, no_progress: bool) -> None:
    """Train the tiny 2-D diffusion model behind the reverse-process particles widget.

    It learns to predict the noise added to points of a few shapes (heart, star, spiral, ring,
    smile), told which shape, or "no shape" 15% of the time so guidance works. Takes a few
    minutes on one CPU core and writes a float16 weights file of about 40 KB.
    """
    cfg = Config(steps=steps, seed=seed, threads=threads)
    weights, losses = train(cfg, progress=not no_progress)
    for i in range(0, len(losses), max(1, len(losses) // 10)):
        click.echo(f"step {i * 100:>6}  loss {losses[i]:.4f}", err=True)
    atomic_write(out, json.dumps(weights, separators=(",", ":")).encode("utf-8"))
    info = weights["training"]
    click.echo(
        f"Wrote {out} ({out.stat().st_size / 1024:.0f} KB): loss {info['final_loss']}, {info['seconds']} s"
    )

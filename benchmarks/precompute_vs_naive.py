"""Precompute vs. a naive loop: the same trajectories and the same frames, timed side by side.

Naive: one ``pipe(...)`` call per trajectory; its ``callback_on_step_end`` decodes every step
through the VAE, one picture at a time: the canvas x_t and the model's guess x̂0 (recovered from
two consecutive latents with DDIM's alphas, so the naive loop needs no extra model evaluation
either); each picture is saved as a WebP file, with the encoder settings the bundle uses. For the builtin model, which is not a diffusers pipeline, the naive loop is the same
algorithm written out with the adapter's parts, one trajectory at a time.

Ours: ``stepthrough.precompute.run.precompute`` on the same trajectories: jobs sharing a step
count go through the model as one batch (conditional and unconditional in one forward pass), x̂0
comes from the scheduler step, frames are decoded in batches, and it also writes the whole bundle
(WebP sprites of four views, latents, manifest). Both produce 2·(steps + 1) pictures per trajectory;
the final pictures are checked to agree before anything is timed.

Models: a tiny random-weight Stable Diffusion pipeline (tests/tiny_pipelines.py, 32×32 pictures),
and the builtin emoji model when it is installed. Each side runs `--repeats` times, alternating;
the best time counts. Printed last: the ratio naive / ours over all models (higher is better).

    python benchmarks/precompute_vs_naive.py [--trajectories 8] [--steps 10] [--repeats 2] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tiny pipeline builders live with the tests

from conftest import write_content

from stepthrough.content import load_content
from stepthrough.precompute.capture import render
from stepthrough.precompute.frames import WEBP_METHOD, WEBP_QUALITY, to_uint8
from stepthrough.precompute.models import load_model
from stepthrough.precompute.plan import forward_passes, model_evaluations, plan_content
from stepthrough.precompute.run import precompute

PROMPTS = ["a doctor", "red apple", "cat face", "rocket", "sunflower", "a dog", "blue car", "green tree"]
GUIDANCE = 5.0
BATCH = 8


def content_for(folder: Path, model: str, trajectories: int, steps: int):
    prompts = ", ".join(f'"{p}"' for p in (PROMPTS * 4)[:trajectories])
    section = (
        f"---\ntitle: Bench\nwidget: stepper\nsweep:\n  prompts: [{prompts}]\n  seeds: [7]\n"
        f"  steps: [{steps}]\n  guidance: [{GUIDANCE}]\n---\nText.\n"
    )
    site = f'title = "Bench"\nmodel = "{model}"\nbundle = "bench"\n'
    return load_content(write_content(folder, {"01-bench.md": section}, site=site))


def ddim_guess(scheduler, x_t: torch.Tensor, x_prev: torch.Tensor, t: int) -> torch.Tensor:
    """x̂0 from two consecutive DDIM latents: both are √ᾱ·x0 + √(1 − ᾱ)·ε with the same x0 and ε."""
    step = scheduler.config.num_train_timesteps // scheduler.num_inference_steps
    a_t = scheduler.alphas_cumprod[t]
    a_prev = scheduler.alphas_cumprod[t - step] if t - step >= 0 else scheduler.final_alpha_cumprod
    return ((1 - a_prev).sqrt() * x_t - (1 - a_t).sqrt() * x_prev) / (
        a_t.sqrt() * (1 - a_prev).sqrt() - (1 - a_t).sqrt() * a_prev.sqrt()
    )


def save_pictures(folder: Path, name: str, pictures: list[torch.Tensor]) -> np.ndarray:
    """Write each picture as its own WebP file (the encoder settings the bundle uses); return the last x_t."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, picture in enumerate(pictures):
        Image.fromarray(to_uint8(picture)[0]).save(
            folder / f"{name}-{k:03d}.webp", format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD
        )
    return to_uint8(pictures[-2])[0]  # pictures end with x_t, x̂0 of the last step


def naive_pipeline(pipe, model, jobs, out: Path) -> list[np.ndarray]:
    """One pipe(...) call per trajectory; the callback decodes x_t and x̂0 at every step."""
    finals = []
    for index, job in enumerate(jobs):
        noise = model.initial_noise(job.seed)[None]
        frames = [model.decode(noise)]  # step 0: pure noise
        previous = [noise]

        def capture(pipe, i, t, tensors, frames=frames, previous=previous):
            latents = tensors["latents"]
            frames.append(model.decode(latents))
            frames.append(model.decode(ddim_guess(pipe.scheduler, previous[0], latents, int(t))))
            previous[0] = latents
            return tensors

        pipe(
            job.prompt,
            num_inference_steps=job.steps,
            guidance_scale=job.guidance,
            latents=noise.clone(),
            output_type="np",
            callback_on_step_end=capture,
        )
        finals.append(save_pictures(out, str(index), frames))
    return finals


@torch.inference_mode()
def naive_adapter(model, jobs, out: Path) -> list[np.ndarray]:
    """The same algorithm with the adapter's parts, one trajectory at a time, decoding per step."""
    finals = []
    for index, job in enumerate(jobs):
        scheduler = model.make_scheduler()
        scheduler.set_timesteps(job.steps)
        both = model.encode_prompts([job.prompt, ""])
        x = model.initial_noise(job.seed)[None] * scheduler.init_noise_sigma
        frames = [model.decode(x)]
        for t in scheduler.timesteps:
            cond, uncond = model.predict(scheduler.scale_model_input(torch.cat([x, x]), t), t, both).chunk(2)
            output = scheduler.step(uncond + job.guidance * (cond - uncond), t, x)
            x = output.prev_sample
            frames += [model.decode(x), model.decode(output.pred_original_sample)]
        finals.append(save_pictures(out, str(index), frames))
    return finals


def timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def compare(name: str, model, naive, content, work: Path, repeats: int) -> tuple[float, float]:
    jobs = list(plan_content(content).jobs)
    frames = sum(2 * (job.steps + 1) for job in jobs)

    def ours():
        return precompute(
            content, Path(tempfile.mkdtemp(dir=work)), model=model, batch_size=BATCH, progress=False
        )

    naive_seconds = ours_seconds = float("inf")
    for _ in range(repeats):  # alternate, so both sides see the same machine load; the best time counts
        t_naive, finals = timed(lambda: naive(jobs, Path(tempfile.mkdtemp(dir=work))))
        t_ours, _ = timed(ours)
        naive_seconds, ours_seconds = min(naive_seconds, t_naive), min(ours_seconds, t_ours)
    check_same_pictures(model, jobs, finals)
    print(
        f"{name}: {len(jobs)} trajectories × {jobs[0].steps} steps, {frames} pictures each way; "
        f"forward passes: naive {model_evaluations(jobs)}, ours {forward_passes(jobs, BATCH)}; "
        f"naive {naive_seconds:.2f} s, ours {ours_seconds:.2f} s (×{naive_seconds / ours_seconds:.1f})"
    )
    return naive_seconds, ours_seconds


def check_same_pictures(model, jobs, finals: list[np.ndarray]) -> None:
    """Both sides must draw the same final pictures, or the timing compares different work."""
    for rendered, final in zip(render(model, jobs), finals, strict=True):
        gap = np.abs(rendered.xt[-1].astype(int) - final.astype(int)).max()
        if gap > 2:
            raise SystemExit(
                f"'{rendered.job.prompt}': naive and precompute pictures differ (by {gap} levels)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="torch threads for both sides (default: every core, as a user's run has)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.threads} torch thread(s), both sides")

    from diffusers import DiffusionPipeline
    from tiny_pipelines import stable_diffusion

    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = stable_diffusion(work / "tiny-sd", image_side=32)
        model = load_model(str(folder))
        pipe = DiffusionPipeline.from_pretrained(folder)
        pipe.scheduler = model.make_scheduler()  # the same DDIM both ways
        pipe.set_progress_bar_config(disable=True)
        content = content_for(work / "content-sd", str(folder), args.trajectories, args.steps)
        naive = lambda jobs, out: naive_pipeline(pipe, model, jobs, out)
        totals.append(compare("tiny SD pipeline", model, naive, content, work, args.repeats))

        try:
            from stepthrough.precompute.models.builtin import load_builtin
        except ImportError:
            print("builtin model: not installed here; skipped")
        else:
            builtin = load_builtin()
            content = content_for(work / "content-builtin", "builtin", args.trajectories, args.steps)
            naive = lambda jobs, out: naive_adapter(builtin, jobs, out)
            totals.append(compare("builtin model", builtin, naive, content, work, args.repeats))

    naive_total, ours_total = (sum(side) for side in zip(*totals, strict=True))
    print(f"ratio naive/ours = {naive_total / ours_total:.2f}")


if __name__ == "__main__":
    main()

"""Precompute vs. the diffusers ways of getting the same frames, timed side by side in one run.

Three ways to get every step's canvas x_t and guess x̂0 of the same trajectories as pictures:

(a) naive: one ``pipe(...)`` call per trajectory; its ``callback_on_step_end`` decodes the step's
    latents and x̂0 through the VAE and saves each picture as a WebP file (the bundle's encoder
    settings). x̂0 is recovered from two consecutive latents with DDIM's alphas, so no way needs
    an extra model evaluation.
(b) batched: the way a diffusers user batches: ONE ``pipe(...)`` call with lists of prompts and
    generators; the callback decodes the whole batch's x_t and x̂0 at every step, saves WebP files.
(c) ours: ``stepthrough.precompute.run.precompute``: jobs sharing a step count go through the model
    as one batch, x̂0 comes from the scheduler step, frames are decoded in big batches, and a writer
    thread encodes the whole bundle (WebP sprites of four views, latents, manifest) while the next
    batch renders: more output than (a) and (b), not less.

Equal frames: before timing, every x_t and x̂0 picture of (a) and (b) is compared with ours; they
must agree within TOLERANCE levels of 255 (float rounding between batch sizes, and x̂0 recovered
from latents vs. the scheduler's own). For the builtin model, which is not a diffusers pipeline,
(a) and (b) are the same loop written out with the adapter's parts, per trajectory and batched.

Each way runs `--repeats` times (≥ 5), in a rotating order so all see the same machine load; the
table shows the median and the spread (min–max). Ratios are per round (the three ways side by side)
then the median over rounds, so a busy machine slows all ways alike.

Then the time breakdown of ours on the default content's plan (the builtin model), once writing
beside the model (now) and, unless --no-before, once writing between batches (as before):
`breakdown: model=S decode=S write=S other=S overhead_share=F`: write is the time the sampler
waited for the writer, other is the rest of the wall time (planning, projections, the manifest).

    python benchmarks/precompute_vs_naive.py [--trajectories 8] [--steps 10] [--repeats 5] [--threads N]
        [--family tiny-sd|sd15] [--device cuda] [--size 512] [--dtype float16] [--no-builtin]

benchmarks/gpu.sh runs it on CUDA with SD 1.5's full-size architecture (random weights), 512 px, 25 steps.
"""

from __future__ import annotations

import argparse
import os
import statistics
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
from stepthrough.plan import plan_content
from stepthrough.precompute.capture import render
from stepthrough.precompute.frames import WEBP_METHOD, WEBP_QUALITY, to_uint8
from stepthrough.precompute.models import load_model
from stepthrough.precompute.run import Timings, precompute
from stepthrough.precompute.sampler import concat

PROMPTS = ["a doctor", "red apple", "cat face", "rocket", "sunflower", "a dog", "blue car", "green tree"]
GUIDANCE = 5.0
BATCH = 8
TOLERANCE = 3  # levels of 255 that any picture of (a) or (b) may differ from ours
WAYS = ("naive", "batched", "ours")


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


class Pictures:
    """Every picture a way makes, per trajectory: x_t after k steps and x̂0 at step k, saved as
    WebP files one by one (as a diffusers user saves pipeline output) and kept for the check."""

    def __init__(self, out: Path, count: int):
        self.out, self.xt, self.x0 = out, [[] for _ in range(count)], [[] for _ in range(count)]
        out.mkdir(parents=True, exist_ok=True)

    def add(self, view: str, first: int, images: torch.Tensor) -> None:
        for offset, picture in enumerate(to_uint8(images)):
            index = first + offset
            frames = getattr(self, view)[index]
            Image.fromarray(picture).save(
                self.out / f"{index}-{view}-{len(frames):03d}.webp",
                format="WEBP",
                quality=WEBP_QUALITY,
                method=WEBP_METHOD,
            )
            frames.append(picture)


def pipeline_way(pipe, model, jobs, out: Path, batched: bool) -> Pictures:
    """(a) one pipe(...) per trajectory, or (b) one pipe(...) with lists of prompts and generators;
    the callback decodes x_t and x̂0 of every step."""
    pictures = Pictures(out, len(jobs))
    groups = [list(range(len(jobs)))] if batched else [[i] for i in range(len(jobs))]
    for group in groups:
        seeds = [jobs[i].seed for i in group]
        noise = torch.stack([model.initial_noise(seed) for seed in seeds])
        pictures.add("xt", group[0], model.decode(noise))  # step 0: pure noise
        previous = [noise]

        def capture(pipe, i, t, tensors, first=group[0], previous=previous):
            latents = tensors["latents"]
            pictures.add("xt", first, model.decode(latents))
            pictures.add("x0", first, model.decode(ddim_guess(pipe.scheduler, previous[0], latents, int(t))))
            previous[0] = latents
            return tensors

        side = model.decode(noise[:1]).shape[-1]  # the picture size ours renders
        pipe(
            [jobs[i].prompt for i in group],
            height=side,
            width=side,
            num_inference_steps=jobs[group[0]].steps,
            guidance_scale=jobs[group[0]].guidance,
            generator=[torch.Generator().manual_seed(seed) for seed in seeds],
            output_type="latent",  # every picture is decoded in the callback already
            callback_on_step_end=capture,
        )
    return pictures


@torch.inference_mode()
def adapter_way(model, jobs, out: Path, batched: bool) -> Pictures:
    """The same loop with the adapter's parts, per trajectory (a) or batched (b), decoding per step."""
    pictures = Pictures(out, len(jobs))
    groups = [list(range(len(jobs)))] if batched else [[i] for i in range(len(jobs))]
    for group in groups:
        scheduler = model.make_scheduler()
        steps = jobs[group[0]].steps
        scheduler.set_timesteps(steps, **model.timestep_options(steps))
        cond = model.encode_prompts([jobs[i].prompt for i in group])
        both = concat([model.encode_prompts([""] * len(group)), cond])
        x = torch.stack([model.initial_noise(jobs[i].seed) for i in group]) * scheduler.init_noise_sigma
        pictures.add("xt", group[0], model.decode(x))
        for t in scheduler.timesteps:
            model_input = scheduler.scale_model_input(torch.cat([x, x]), t)
            u, c = model.predict(model_input, t, both).chunk(2)
            output = scheduler.step(u + GUIDANCE * (c - u), t, x)
            x = output.prev_sample
            pictures.add("xt", group[0], model.decode(x))
            pictures.add("x0", group[0], model.decode(output.pred_original_sample))
    return pictures


def check_equal_frames(model, jobs, pictures: Pictures, way: str, tolerance: int = TOLERANCE) -> int:
    """Every picture of a diffusers way against ours; returns the largest gap in levels."""
    gap = 0
    for i, rendered in enumerate(render(model, jobs)):
        xt, x0 = np.stack(pictures.xt[i]), np.stack(pictures.x0[i])
        if xt.shape != rendered.xt.shape or x0.shape != rendered.x0[:-1].shape:
            raise SystemExit(
                f"{way}: made {len(xt)}+{len(x0)} pictures of '{rendered.job.prompt}', ours more"
            )
        gap = max(
            gap,
            np.abs(xt.astype(int) - rendered.xt).max(),
            np.abs(x0.astype(int) - rendered.x0[:-1]).max(),
        )
    if gap > tolerance:
        raise SystemExit(f"{way}: pictures differ from ours by {gap} levels (> {tolerance}); not equal work")
    return int(gap)


def compare(
    name: str, model, way, content, work: Path, repeats: int, tolerance: int = TOLERANCE
) -> dict[str, list[float]]:
    """Time the three ways `repeats` times, in rotating order; return the seconds of each."""
    jobs = list(plan_content(content).jobs)
    gaps = {
        w: check_equal_frames(model, jobs, way(jobs, work / f"check-{w}", w == "batched"), w, tolerance)
        for w in WAYS[:2]
    }
    run = {
        "naive": lambda: way(jobs, Path(tempfile.mkdtemp(dir=work)), False),
        "batched": lambda: way(jobs, Path(tempfile.mkdtemp(dir=work)), True),
        "ours": lambda: precompute(
            content, Path(tempfile.mkdtemp(dir=work)), model=model, batch_size=BATCH, progress=False
        ),
    }
    seconds = {w: [] for w in WAYS}
    for r in range(repeats):
        for w in WAYS[r % 3 :] + WAYS[: r % 3]:
            synchronize(model)
            started = time.perf_counter()
            run[w]()
            synchronize(model)
            seconds[w].append(time.perf_counter() - started)
    pictures = sum(2 * (job.steps + 1) for job in jobs)
    print(
        f"{name}: {len(jobs)} trajectories × {jobs[0].steps} steps, {pictures} pictures each way "
        f"(largest gap to ours: naive {gaps['naive']}, batched {gaps['batched']} levels of 255)"
    )
    for w in WAYS:
        s = seconds[w]
        print(
            f"  {w:8s} median {statistics.median(s):6.2f} s  spread {min(s):.2f}–{max(s):.2f} s  "
            f"{pictures / statistics.median(s):7.1f} images/s"
        )
    return seconds


def synchronize(model) -> None:
    """Wait for the GPU's queued work, so a way's time includes all of it."""
    device = str(getattr(model, "device", "cpu"))
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def ratio_line(results: list[dict[str, list[float]]]) -> dict[str, tuple[float, float, float]]:
    """Per round: the other way's seconds / ours, summed over models; then median, min, max."""
    rounds = len(results[0]["ours"])
    ratios = {}
    for w in WAYS[:2]:
        per_round = [
            sum(res[w][r] for res in results) / sum(res["ours"][r] for res in results) for r in range(rounds)
        ]
        ratios[w] = (statistics.median(per_round), min(per_round), max(per_round))
    return ratios


def breakdown(overlap: bool) -> Timings:
    import stepthrough
    from stepthrough.make import BUILTIN_CPU_BATCH
    from stepthrough.precompute.models.builtin import load_builtin

    content = load_content(Path(stepthrough.__file__).parent / "default_content")
    timings = Timings()
    with tempfile.TemporaryDirectory() as tmp:
        precompute(  # in batches as `stepthrough build` renders them
            content, Path(tmp), model=load_builtin(), progress=False, timings=timings, overlap=overlap,
            batch_size=BUILTIN_CPU_BATCH,
        )
    return timings


def breakdown_text(t: Timings) -> str:
    return (
        f"model={t.model:.1f} decode={t.decode:.1f} write={t.write:.1f} other={t.other:.1f} "
        f"overhead_share={t.overhead_share:.3f}"
    )


def sd15_random(folder: Path, image_side: int) -> Path:
    """A pipeline of Stable Diffusion 1.5's architecture (UNet 860M, VAE 84M, CLIP ViT-L text
    encoder 123M) built from configs with random weights: nothing is downloaded, and speed does
    not depend on the weights. The tokenizer is the tests' small one (its ids fit CLIP's vocabulary)."""
    import diffusers
    from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
    from tiny_pipelines import clip_tokenizer
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(  # SD 1.5's unet/config.json
        sample_size=image_side // 8,
        cross_attention_dim=768,
        attention_head_dim=8,
        block_out_channels=(320, 640, 1280, 1280),
        layers_per_block=2,
    )
    vae = AutoencoderKL(  # SD 1.5's vae/config.json
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=2,
        sample_size=image_side,
    )
    text = CLIPTextModel(  # openai/clip-vit-large-patch14's text half
        CLIPTextConfig(
            hidden_size=768,
            intermediate_size=3072,
            num_attention_heads=12,
            num_hidden_layers=12,
            max_position_embeddings=77,
            projection_dim=768,
            hidden_act="quick_gelu",
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    clip_tokenizer(folder.parent / f"{folder.name}-vocab")
    tokenizer = CLIPTokenizer.from_pretrained(folder.parent / f"{folder.name}-vocab", model_max_length=77)
    scheduler = diffusers.PNDMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    pipe = StableDiffusionPipeline(
        unet=unet.eval(),
        vae=vae.eval(),
        text_encoder=text.eval(),
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder


FAMILIES = {
    "tiny-sd": "the tests' tiny SD pipeline (random weights, seconds on a CPU)",
    "sd15": "SD 1.5's full-size architecture with random weights (for a GPU; see benchmarks/gpu.sh)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="torch threads for every way (default: every core, as a user's run has)",
    )
    parser.add_argument(
        "--family",
        choices=FAMILIES,
        default="tiny-sd",
        help="; ".join(f"{k}: {v}" for k, v in FAMILIES.items()),
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 …: every way runs there")
    parser.add_argument(
        "--size", type=int, default=None, help="picture side in pixels (tiny-sd: 32, sd15: 512)"
    )
    parser.add_argument(
        "--dtype", default=None, help="float32 (default), float16 or bfloat16, as precompute --dtype"
    )
    parser.add_argument(
        "--tolerance",
        type=int,
        default=TOLERANCE,
        help=f"levels of 255 a way may differ from ours (default {TOLERANCE})",
    )
    parser.add_argument(
        "--no-builtin", action="store_true", help="only the pipeline; no builtin model, no breakdown"
    )
    parser.add_argument(
        "--no-before", action="store_true", help="skip the breakdown with writes between batches"
    )
    parser.add_argument("--no-breakdown", action="store_true", help="skip both breakdowns (a quick check)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    size = args.size or (512 if args.family == "sd15" else 32)
    print(f"{args.threads} torch thread(s), every way; {args.repeats} rounds; {args.device}, {size} px")

    from diffusers import DiffusionPipeline
    from tiny_pipelines import stable_diffusion

    results = []
    builtin = None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        if args.family == "sd15":
            folder = sd15_random(work / "sd15", image_side=size)
        else:
            folder = stable_diffusion(work / "tiny-sd", image_side=size)
        model = load_model(str(folder), device=args.device, dtype=args.dtype, image_size=size)
        pipe = DiffusionPipeline.from_pretrained(folder, dtype=model.pipe.dtype).to(args.device)
        pipe.scheduler = model.make_scheduler()  # the same DDIM every way
        pipe.set_progress_bar_config(disable=True)
        print(f"{args.family} pipeline built and loaded in {time.perf_counter() - started:.0f} s")
        content = content_for(work / "content-sd", str(folder), args.trajectories, args.steps)
        way = lambda jobs, out, batched: pipeline_way(pipe, model, jobs, out, batched)
        name = (
            "tiny SD pipeline"
            if args.family == "tiny-sd"
            else f"SD 1.5 architecture, random weights, {size} px"
        )
        results.append(compare(name, model, way, content, work, args.repeats, args.tolerance))

        if not args.no_builtin:
            try:
                from stepthrough.precompute.models.builtin import load_builtin
            except ImportError:
                print("builtin model: not installed here; skipped, and no breakdown")
            else:
                builtin = load_builtin(device=args.device)
                content = content_for(work / "content-builtin", "builtin", args.trajectories, args.steps)
                way = lambda jobs, out, batched: adapter_way(builtin, jobs, out, batched)
                results.append(
                    compare("builtin model", builtin, way, content, work, args.repeats, args.tolerance)
                )

    ratios = ratio_line(results)
    which = "both models" if len(results) > 1 else "one model"
    for w, (median, low, high) in ratios.items():
        print(f"{w} / ours per round, {which}: median {median:.2f} (spread {low:.2f}–{high:.2f})")
    if builtin is not None and not args.no_breakdown:
        if not args.no_before:
            print(f"breakdown before (writes between batches): {breakdown_text(breakdown(overlap=False))}")
        print(f"breakdown: {breakdown_text(breakdown(overlap=True))}")
    print(f"ratios: naive={ratios['naive'][0]:.2f} batched={ratios['batched'][0]:.2f}")


if __name__ == "__main__":
    main()

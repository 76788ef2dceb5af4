"""Does the builtin model draw the emoji it is asked for?

50 fixed prompts (emoji names drawn with a fixed seed: a random base emoji, then a random variant
of it, so the people with their 18 variants don't crowd out the rest) × 4 seeds, sampled the way
the site does (25 DDIM steps, guidance 5). A sample *matches* when a training image with the
prompt's caption is among its 5 nearest training images.

Feature space: pictures box-downscaled to 16×16 RGB, Euclidean distance. It judges the pixels a
reader sees, not the model's own latent space (which a bad autoencoder could make look good), and
16×16 keeps shape and colour while forgiving the blur and small shifts of a 64×64 sample.

Printed last, one line: ``top5_match=… chance=… ceiling=…`` where *chance* treats every training
image as a sample for the prompt (what a model that ignores the prompt gets) and *ceiling* uses the
training images as the autoencoder returns them (a latent model cannot beat its decoder).

    python benchmarks/model_quality.py                   # judge the shipped weights; writes nothing
    python benchmarks/model_quality.py --weights DIR     # judge a checkpoint's export
    python benchmarks/model_quality.py --pictures docs   # also write builtin-samples.png, builtin-doctor.png there
"""

from __future__ import annotations

import argparse
import textwrap
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from stepthrough.builtin.data import load_dataset
from stepthrough.builtin.train import pick_threads
from stepthrough.bundle.ids import Job
from stepthrough.precompute.capture import render
from stepthrough.precompute.frames import to_uint8
from stepthrough.precompute.models.builtin import BuiltinModel, load_builtin
from stepthrough.precompute.sampler import sample
from stepthrough.reduce import picture_features as features  # the tally widget's space too

ROOT = Path(__file__).resolve().parents[1]
N_PROMPTS, SEEDS, K = 50, (0, 1, 2, 3), 5


def pick_prompts(names: list[str], groups: np.ndarray, n: int = N_PROMPTS) -> list[int]:
    """Row indices of n prompts: distinct base emoji, then one variant each (fixed seed)."""
    rng = np.random.default_rng(2024)
    chosen = rng.choice(groups.max() + 1, size=n, replace=False)
    return [int(rng.choice(np.flatnonzero(groups == g))) for g in chosen]


def nearest(queries: np.ndarray, bank: np.ndarray, k: int = K) -> np.ndarray:
    """Indices (Q, k) of the k nearest rows of ``bank`` for each query."""
    d = (queries**2).sum(1)[:, None] - 2 * queries @ bank.T + (bank**2).sum(1)[None, :]
    return np.argsort(d, axis=1)[:, :k]


def match_rate(queries: np.ndarray, wanted: list[set[int]], bank: np.ndarray) -> float:
    hits = [bool(set(row) & want) for row, want in zip(nearest(queries, bank), wanted)]
    return float(np.mean(hits))


def generate(model, prompts: list[str], seeds: list[int], steps: int, guidance: float,
             towards: list[str] | None = None, blends: list[float] | None = None) -> np.ndarray:
    """Final pictures only, uint8 (B, H, W, 3): the site's sampler without its capture (which decodes
    every step of every trajectory, here 50× the cost of the sampling itself). With ``towards``, each
    prompt's embedding is blended towards that prompt's by ``blends``, as the site's blend sweeps do."""
    towards = towards or [""] * len(prompts)
    blends = blends or [0.0] * len(prompts)
    jobs = [Job(p, s, steps, guidance, towards=t, blend=b)
            for p, s, t, b in zip(prompts, seeds, towards, blends, strict=True)]
    x = sample(model, jobs)
    with torch.inference_mode():
        return to_uint8(model.decode(x))


def grid(rows: list[tuple[str, list[np.ndarray]]], blocks: int = 1, label_width: int = 170) -> Image.Image:
    """One row per prompt (its caption, then its pictures at 2×), rows split into side-by-side blocks."""
    side = 128
    cols = max(len(ims) for _, ims in rows)
    per_block = -(-len(rows) // blocks)
    block_width = label_width + cols * side
    sheet = Image.new("RGB", (blocks * block_width, per_block * side), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, ims) in enumerate(rows):
        x0, y0 = (i // per_block) * block_width, (i % per_block) * side
        for j, line in enumerate(textwrap.wrap(label, 26)[:3]):
            draw.text((x0 + 6, y0 + side // 2 - 16 + 12 * j), line, fill="black")
        for c, im in enumerate(ims):
            tile = Image.fromarray(im).resize((side, side), Image.Resampling.NEAREST)
            sheet.paste(tile, (x0 + label_width + c * side, y0))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--pictures", type=Path, default=None, metavar="DIR",
                        help="also write builtin-samples.png and builtin-doctor.png into DIR (e.g. docs)")
    parser.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="a weights folder to judge instead of the shipped one "
        "(e.g. from `stepthrough train --minutes 0 --export --export-dir DIR`)",
    )
    args = parser.parse_args()
    pick_threads(2)

    ds = load_dataset(ROOT / ".runs" / "cache")
    names = [c[0] for c in ds.captions]
    rows_by_name: dict[str, set[int]] = {}
    for i, name in enumerate(names):
        rows_by_name.setdefault(name, set()).add(i)
    prompts = pick_prompts(names, ds.groups)
    model = BuiltinModel(args.weights) if args.weights else load_builtin()
    print(f"model revision {model.info.revision}, {model.info.extra['images_seen']:,} images seen")

    # Samples: prompt-major, seed-minor.
    prompt_list = [names[p] for p in prompts for _ in SEEDS]
    seed_list = [s for _ in prompts for s in SEEDS]
    started = time.perf_counter()
    samples = np.concatenate(
        [
            generate(
                model,
                prompt_list[i : i + args.batch],
                seed_list[i : i + args.batch],
                args.steps,
                args.guidance,
            )
            for i in range(0, len(prompt_list), args.batch)
        ]
    )
    seconds = time.perf_counter() - started
    print(
        f"{len(samples)} samples of {args.steps} steps in {seconds:.0f} s "
        f"({seconds / len(samples):.2f} s each, batched by {args.batch})"
    )

    # What a reader of the site waits for: one trajectory through the real sampler, capture and all.
    started = time.perf_counter()
    render(model, [Job("a doctor", 0, args.steps, args.guidance)])
    print(
        f"one {args.steps}-step trajectory with guidance, every step captured and decoded: "
        f"{time.perf_counter() - started:.2f} s"
    )

    pictures = ds.pictures(64)
    bank = features(pictures)
    wanted = [rows_by_name[names[p]] for p in prompts for _ in SEEDS]
    top5 = match_rate(features(samples), wanted, bank)

    # chance: every training image stands in as a sample for every prompt
    wanted_one = [rows_by_name[names[p]] for p in prompts]
    near_all = nearest(bank, bank)
    chance = float(np.mean([[bool(set(row) & want) for row in near_all] for want in wanted_one]))

    # ceiling: the prompts' own training images, through the autoencoder
    originals = torch.from_numpy(pictures[prompts]).permute(0, 3, 1, 2).float() / 255
    recon = model.decode(model.encode_images(originals))
    recon = to_uint8(recon)
    ceiling = match_rate(features(recon), wanted_one, bank)

    if args.pictures:
        docs = args.pictures
        docs.mkdir(parents=True, exist_ok=True)
        by_prompt = [samples[i * len(SEEDS) : (i + 1) * len(SEEDS)] for i in range(len(prompts))]
        rows = [(names[p], [pictures[p], *ims]) for p, ims in zip(prompts[:20], by_prompt[:20])]
        grid(rows, blocks=2).save(docs / "builtin-samples.png")
        doctor = generate(model, ["a doctor"] * 16, list(range(16)), args.steps, args.guidance)
        grid([("a doctor, seeds 0-7", list(doctor[:8])), ("seeds 8-15", list(doctor[8:]))]).save(
            docs / "builtin-doctor.png"
        )
        print(f"wrote {docs}/builtin-samples.png (first column: the training image) and {docs}/builtin-doctor.png")

    print(f"top5_match={top5:.2f} chance={chance:.4f} ceiling={ceiling:.2f}")


if __name__ == "__main__":
    main()

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

    python benchmarks/model_quality.py            # also writes docs/builtin-samples.png, docs/builtin-doctor.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from stepthrough.builtin.data import load_dataset
from stepthrough.precompute.models.builtin import load_builtin
from stepthrough.precompute.plan import Job
from stepthrough.precompute.sampler import sample

ROOT = Path(__file__).resolve().parents[1]
N_PROMPTS, SEEDS, K = 50, (0, 1, 2, 3), 5
FEATURE_SIDE = 16


def pick_prompts(names: list[str], groups: np.ndarray, n: int = N_PROMPTS) -> list[int]:
    """Row indices of n prompts: distinct base emoji, then one variant each (fixed seed)."""
    rng = np.random.default_rng(2024)
    chosen = rng.choice(groups.max() + 1, size=n, replace=False)
    return [int(rng.choice(np.flatnonzero(groups == g))) for g in chosen]


def features(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 64, 64, 3) → (N, 16·16·3) float, box-downscaled."""
    n, h, w, c = images.shape
    f = FEATURE_SIDE
    small = images.reshape(n, f, h // f, f, w // f, c).astype(np.float32).mean(axis=(2, 4)) / 255
    return small.reshape(n, -1)


def nearest(queries: np.ndarray, bank: np.ndarray, k: int = K) -> np.ndarray:
    """Indices (Q, k) of the k nearest rows of ``bank`` for each query."""
    d = (queries**2).sum(1)[:, None] - 2 * queries @ bank.T + (bank**2).sum(1)[None, :]
    return np.argsort(d, axis=1)[:, :k]


def match_rate(queries: np.ndarray, wanted: list[set[int]], bank: np.ndarray) -> float:
    hits = [bool(set(row) & want) for row, want in zip(nearest(queries, bank), wanted)]
    return float(np.mean(hits))


def grid(rows: list[tuple[str, list[np.ndarray]]], scale: int = 2, label_width: int = 300) -> Image.Image:
    """One row per prompt: its caption, then its pictures."""
    side = 64 * scale
    cols = max(len(ims) for _, ims in rows)
    sheet = Image.new("RGB", (label_width + cols * side, len(rows) * side), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (label, ims) in enumerate(rows):
        draw.text((6, r * side + side // 2 - 6), label[:48], fill="black")
        for c, im in enumerate(ims):
            tile = Image.fromarray(im).resize((side, side), Image.Resampling.NEAREST)
            sheet.paste(tile, (label_width + c * side, r * side))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--no-pictures", action="store_true", help="skip docs/*.png")
    args = parser.parse_args()
    torch.set_num_threads(2)

    ds = load_dataset(ROOT / ".runs" / "cache")
    names = [c[0] for c in ds.captions]
    rows_by_name: dict[str, set[int]] = {}
    for i, name in enumerate(names):
        rows_by_name.setdefault(name, set()).add(i)
    prompts = pick_prompts(names, ds.groups)
    model = load_builtin()
    print(f"model revision {model.info.revision}, {model.info.extra['images_seen']:,} images seen")

    # Samples: prompt-major, seed-minor; batches share a step count.
    jobs = [
        Job(prompt=names[p], seed=s, steps=args.steps, guidance=args.guidance) for p in prompts for s in SEEDS
    ]
    started = time.perf_counter()
    results = []
    for i in range(0, len(jobs), args.batch):
        results += sample(model, jobs[i : i + args.batch])
    seconds = time.perf_counter() - started
    samples = np.stack([r.x0[-1] for r in results])
    print(
        f"{len(jobs)} trajectories of {args.steps} steps in {seconds:.0f} s "
        f"({seconds / len(jobs):.2f} s each, batched by {args.batch})"
    )

    bank = features(ds.images)
    wanted = [rows_by_name[names[p]] for p in prompts for _ in SEEDS]
    top5 = match_rate(features(samples), wanted, bank)

    # chance: every training image stands in as a sample for every prompt
    wanted_one = [rows_by_name[names[p]] for p in prompts]
    near_all = nearest(bank, bank)
    chance = float(np.mean([[bool(set(row) & want) for row in near_all] for want in wanted_one]))

    # ceiling: the prompts' own training images, through the autoencoder
    originals = torch.from_numpy(ds.images[prompts]).permute(0, 3, 1, 2).float() / 255
    recon = model.decode(model.encode_images(originals))
    recon = (recon.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    ceiling = match_rate(features(recon), wanted_one, bank)

    if not args.no_pictures:
        docs = ROOT / "docs"
        docs.mkdir(exist_ok=True)
        by_prompt = [samples[i * len(SEEDS) : (i + 1) * len(SEEDS)] for i in range(len(prompts))]
        rows = [(names[p], [ds.images[p], *ims]) for p, ims in zip(prompts[:20], by_prompt[:20])]
        grid(rows).save(docs / "builtin-samples.png")
        doctor = sample(model, [Job("a doctor", s, args.steps, args.guidance) for s in range(16)])
        ims = [r.x0[-1] for r in doctor]
        grid([("a doctor", ims[i : i + 8]) for i in (0, 8)], label_width=90).save(docs / "builtin-doctor.png")
        print("wrote docs/builtin-samples.png (first column: the training image) and docs/builtin-doctor.png")

    print(f"top5_match={top5:.2f} chance={chance:.4f} ceiling={ceiling:.2f}")


if __name__ == "__main__":
    main()

"""Do the builtin model's pictures show what the explainer says about diffusion?

Twenty measured claims, one line each (value, target, PASS/FAIL), then ``teaching_fit N/20 PASS``.
Every picture is a 64×64 final (or a captured step) sampled the way the site samples (DDIM,
guidance batched with the empty prompt); RMS is on pixels in [0, 1]. A picture *matches* a prompt
when one of its 5 nearest training pictures (16×16 box-downscaled RGB) has the prompt among its
captions (name, alias or keyword, with or without "a").

    python benchmarks/teaching_fit.py                  # the shipped weights
    python benchmarks/teaching_fit.py --weights DIR    # a checkpoint's export
    python benchmarks/teaching_fit.py --sheet docs/builtin-seeds.png   # also a contact sheet, 8 prompts × 6 seeds
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_quality import generate, grid, nearest

from stepthrough.builtin.data import load_dataset
from stepthrough.builtin.train import pick_threads
from stepthrough.bundle.ids import Job
from stepthrough.precompute.capture import render
from stepthrough.precompute.models.builtin import BuiltinModel, load_builtin
from stepthrough.precompute.project import picture_features as features

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ["red apple", "rocket", "cat face", "sunflower", "pizza", "butterfly", "house", "dog face"]
OFF_LIST = ["a cup of coffee on a wooden table", "a happy robot", "a blue bird flying", "a tree in winter",
            "a tiny castle on a hill", "a smiling vegetable"]
BLENDS = [("cat face", "dog face"), ("red apple", "tangerine"), ("rocket", "airplane")]
SEEDS = list(range(8))


def rms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS over the last three axes, pixels as uint8 → [0, 1]."""
    d = (a.astype(np.float32) - b.astype(np.float32)) / 255
    return np.sqrt((d**2).mean(axis=(-3, -2, -1)))


def pairwise(pictures: np.ndarray) -> np.ndarray:
    return np.array([rms(pictures[i], pictures[j]) for i, j in itertools.combinations(range(len(pictures)), 2)])


def ink_saturation(pictures: np.ndarray) -> float:
    """Mean HSV saturation over the pixels that are drawn (min channel < 0.92)."""
    x = pictures.astype(np.float32) / 255
    hi, lo = x.max(-1), x.min(-1)
    ink = lo < 0.92
    sat = np.where(hi > 0, (hi - lo) / np.maximum(hi, 1e-6), 0)
    return float(sat[ink].mean())


def sharpness(pictures: np.ndarray) -> float:
    """Mean |Laplacian| of the grey picture."""
    g = pictures.astype(np.float32).mean(-1) / 255
    lap = 4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2] - g[:, 1:-1, 2:]
    return float(np.abs(lap).mean())


def low_pass(pictures: np.ndarray, factor: int = 8) -> np.ndarray:
    """Box-downscale by ``factor`` and blow back up: what is left at coarse scale."""
    x = pictures.astype(np.float32)
    n, h, w, c = x.shape
    small = x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))
    return np.repeat(np.repeat(small, factor, axis=1), factor, axis=2)


def single_link_clusters(pictures: np.ndarray, threshold: float) -> int:
    """Connected groups when pictures closer than ``threshold`` RMS are joined."""
    n = len(pictures)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(n), 2):
        if rms(pictures[i], pictures[j]) < threshold:
            parent[find(i)] = find(j)
    return len({find(i) for i in range(n)})


class Judge:
    """Training pictures, their 16×16 features and which of them each prompt names."""

    def __init__(self) -> None:
        ds = load_dataset(ROOT / ".runs" / "cache")
        self.pictures = ds.pictures(64)
        self.bank = features(self.pictures)
        self.captions = [{c.lower() for c in cs} for cs in ds.captions]

    def named(self, prompt: str) -> set[int]:
        p = prompt.lower()
        bare = p.removeprefix("a ")
        return {i for i, cs in enumerate(self.captions) if p in cs or bare in cs}

    def match(self, pictures: np.ndarray, prompts: list[str]) -> np.ndarray:
        near = nearest(features(pictures), self.bank)
        return np.array([bool(set(row) & self.named(p)) for row, p in zip(near, prompts)])

    def nearest_training(self, pictures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of and RMS to the nearest training picture (64×64), searched among 50 by feature."""
        near = nearest(features(pictures), self.bank, k=50)
        best = [min(row, key=lambda i: rms(p, self.pictures[i])) for p, row in zip(pictures, near)]
        return np.array(best), np.array([rms(p, self.pictures[i]) for p, i in zip(pictures, best)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=None, help="a weights folder instead of the shipped one")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--sheet", type=Path, default=None, help="write a contact sheet: 8 prompts × 6 seeds")
    args = parser.parse_args()
    pick_threads(2)
    model = BuiltinModel(args.weights) if args.weights else load_builtin()
    print(f"model revision {model.info.revision}, {model.info.extra['images_seen']:,} images seen")
    judge = Judge()
    steps = args.steps
    results: list[tuple[str, float, str, bool]] = []

    def claim(name: str, value: float, op: str, target: float | tuple[float, float]) -> None:
        if op == "in":
            ok, shown = target[0] <= value <= target[1], f"in {target[0]:g}-{target[1]:g}"
        else:
            ok, shown = (value >= target if op == ">=" else value <= target), f"{op} {target:g}"
        results.append((name, value, shown, ok))
        print(f"{name:<50} {value:8.3f}  target {shown:<12} {'PASS' if ok else 'FAIL'}", flush=True)

    def finals(prompts: list[str], seeds: list[int], guidance: float, n_steps: int = steps, **kw) -> np.ndarray:
        return np.concatenate([generate(model, prompts[i : i + 64], seeds[i : i + 64], n_steps, guidance,
                                        **{k: v[i : i + 64] for k, v in kw.items()})
                               for i in range(0, len(prompts), 64)])

    # Seeds: where you start decides the picture.
    prompts = [p for p in PROMPTS for _ in SEEDS]
    seeds = [s for _ in PROMPTS for s in SEEDS]
    g5 = finals(prompts, seeds, 5.0)
    by_prompt = g5.reshape(len(PROMPTS), len(SEEDS), *g5.shape[1:])
    pairs = np.concatenate([pairwise(p) for p in by_prompt])
    claim("seeds: pairwise RMS (g5)", float(pairs.mean()), ">=", 0.10)
    claim("seeds: share of pairs > 0.08 apart", float((pairs > 0.08).mean()), ">=", 0.6)
    claim("prompt: top-5 match at g5", float(judge.match(g5, prompts).mean()), ">=", 0.8)
    claim("not a copy: RMS to nearest training picture", float(judge.nearest_training(g5)[1].mean()), ">=", 0.12)
    off = finals([p for p in OFF_LIST for _ in SEEDS], [s for _ in OFF_LIST for s in SEEDS], 5.0)
    off_pairs = np.concatenate([pairwise(p) for p in off.reshape(len(OFF_LIST), len(SEEDS), *off.shape[1:])])
    claim("off-list prompts: seed pairwise RMS", float(off_pairs.mean()), ">=", 0.10)

    # Guidance: 0 ignores the prompt, 1 is the plain with-prompt prediction, 15 overdoes it.
    gseeds = SEEDS[:4]
    gp = [p for p in PROMPTS for _ in gseeds]
    gs = [s for _ in PROMPTS for s in gseeds]
    by_g = {g: finals(gp, gs, g) for g in (0.0, 1.0, 3.0, 15.0)}
    by_g[5.0] = by_prompt[:, : len(gseeds)].reshape(-1, *g5.shape[1:])
    claim("guidance 0: top-5 match", float(judge.match(by_g[0.0], gp).mean()), "<=", 0.15)
    claim("guidance 1: top-5 match", float(judge.match(by_g[1.0], gp).mean()), "<=", 0.7)
    claim("guidance: ink saturation g15 - g1", ink_saturation(by_g[15.0]) - ink_saturation(by_g[1.0]), ">=", 0.10)
    claim("guidance: RMS g1 <-> g5", float(rms(by_g[1.0], by_g[5.0]).mean()), ">=", 0.10)
    claim("guidance: RMS g15 <-> g5", float(rms(by_g[15.0], by_g[5.0]).mean()), ">=", 0.08)

    def spread(pics: np.ndarray) -> float:
        return float(np.mean([pairwise(p).mean() for p in pics.reshape(len(PROMPTS), len(gseeds), *pics.shape[1:])]))

    claim("guidance: seed spread g15 / g3", spread(by_g[15.0]) / spread(by_g[3.0]), "<=", 0.7)

    # Steps: one step is a blurry average, ten steps nearly the finished picture.
    sp, ss = PROMPTS, [0] * len(PROMPTS)
    s50, s10, s1 = (finals(sp, ss, 5.0, n) for n in (50, 10, 1))
    claim("steps: 1-step RMS to 50-step", float(rms(s1, s50).mean()), ">=", 0.12)
    claim("steps: 1-step sharpness / 50-step", sharpness(s1) / sharpness(s50), "<=", 0.6)
    claim("steps: 10-step RMS to 50-step", float(rms(s10, s50).mean()), "<=", 0.04)

    # Blends: the path between two prompts passes through pictures of its own.
    weights = np.linspace(0, 1, 11).tolist()
    biggest, between = [], []
    for a, b in BLENDS:
        pics = finals([a] * 11, [0] * 11, 5.0, towards=[b] * 11, blends=weights)
        hops = rms(pics[1:], pics[:-1])
        biggest.append(hops.max() / hops.sum())
        far = (rms(pics[1:-1], pics[0]) > 0.08) & (rms(pics[1:-1], pics[-1]) > 0.08)
        between.append(int(far.sum()))
    claim("blends: largest hop / whole path", float(max(biggest)), "<=", 0.35)
    claim("blends: in-between pictures (fewest of 3)", float(min(between)), ">=", 3)

    # The model's guess: recognisable partway, not at the start; coarse structure settles first.
    rendered = render(model, [Job(p, 0, steps, 5.0) for p in PROMPTS])
    first = []
    low_high = []
    for r in rendered:
        ok = judge.match(r.x0[:-1], [r.job.prompt] * steps)
        stays = [k for k in range(steps) if ok[k:].all()]
        first.append(stays[0] / steps if stays else 1.0)
        k = round(0.2 * steps)
        err = r.xt[k : k + 1].astype(np.float32) - r.xt[-1:].astype(np.float32)
        low = low_pass(err)
        low_high.append(np.sqrt((low**2).mean()) / np.sqrt(((err - low) ** 2).mean()))
    median_first = float(np.median(first))
    claim("x0 guess: recognisable (and stays) from share of steps", median_first, "in", (0.12, 0.60))
    claim("x_t at 20%: low-frequency / high-frequency error", float(np.median(low_high)), "<=", 0.85)

    # The Default Test: "a doctor" over 32 seeds.
    doctors = finals(["a doctor"] * 32, list(range(32)), 5.0)
    claim("a doctor x 32: clusters (single link, RMS < 0.08)", single_link_clusters(doctors, 0.08), ">=", 6)
    claim("a doctor x 32: distinct nearest training pictures", len(set(judge.nearest_training(doctors)[0])), ">=", 4)

    if args.sheet:
        rows = [(p, list(by_prompt[i, :6])) for i, p in enumerate(PROMPTS)]
        rows.append(("a doctor", list(doctors[:6])))
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        grid(rows).save(args.sheet)
        print(f"wrote {args.sheet}")
        Image.open(args.sheet)  # readable
    passed = sum(ok for *_, ok in results)
    print(f"teaching_fit {passed}/{len(results)} PASS")


if __name__ == "__main__":
    main()

"""Two bundles of the same content side by side: before shipping new weights, look at what changed.

Pairs the trajectories of two bundles by what they draw (prompt, blend, seed, steps, guidance,
sampler), writes a contact sheet of their finished pictures (the first bundle's on the left of
each pair, the second's on the right) and prints, per pair, the root-mean-square difference of the
two pictures (0–1), largest first. This is how u9585 was judged against u7726 (2026-12-08): the
benchmarks' averages improved while "dog face" turned into a cat; the sheet showed it at a glance.

    python benchmarks/compare_bundles.py OLD_BUNDLE NEW_BUNDLE --sheet compare.png [--top 20]

Render the second bundle with the candidate weights into another folder first, e.g. copy the
export over stepthrough/builtin/weights in a scratch checkout and run `stepthrough precompute`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import stepthrough.widgets  # noqa: F401  (registers the recorders, so bundles with attention maps read)
from stepthrough.bundle import read_manifest

SIDE, COLUMNS = 96, 4


def finals(bundle: Path) -> dict[tuple, tuple[str, Image.Image]]:
    """Each trajectory's finished picture (the last frame of its x_t strip), by what it draws."""
    out = {}
    for t in read_manifest(bundle).trajectories.values():
        view = t.views["xt"]
        strip = Image.open(bundle / view.file).convert("RGB")
        col, row = (view.frames - 1) % view.columns, (view.frames - 1) // view.columns
        picture = strip.crop(
            (col * view.width, row * view.height, (col + 1) * view.width, (row + 1) * view.height)
        )
        towards = f" -> {t.towards} {t.blend:g}" if t.towards else ""
        label = f"{t.prompt}{towards} · seed {t.seed} · {t.steps} steps · g{t.guidance:g} · {t.scheduler or 'its sampler'}"
        out[(t.prompt, t.towards, t.blend, t.seed, t.steps, t.guidance, t.scheduler)] = (label, picture)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--sheet", type=Path, help="write the side-by-side contact sheet here (PNG)")
    parser.add_argument("--top", type=int, default=20, help="how many of the most changed pairs to print")
    args = parser.parse_args()
    old, new = finals(args.old), finals(args.new)
    keys = sorted(set(old) & set(new), key=str)
    if not keys:
        raise SystemExit(f"{args.old} and {args.new} draw no trajectory in common")
    change = {
        k: float(
            np.sqrt(np.mean((np.asarray(old[k][1], np.float32) - np.asarray(new[k][1], np.float32)) ** 2))
            / 255
        )
        for k in keys
    }
    print(
        f"{len(keys)} trajectories in both ({len(old) - len(keys)} only in the first, {len(new) - len(keys)} only in the second)"
    )
    print(f"RMS difference of the finished pictures: median {np.median(list(change.values())):.3f}, largest:")
    for k in sorted(keys, key=change.get, reverse=True)[: args.top]:
        print(f"  {change[k]:.3f}  {old[k][0]}")
    if args.sheet:
        rows = -(-len(keys) // COLUMNS)
        sheet = Image.new("RGB", (COLUMNS * (2 * SIDE + 12), rows * (SIDE + 26)), "white")
        pen = ImageDraw.Draw(sheet)
        for i, k in enumerate(keys):
            x, y = (i % COLUMNS) * (2 * SIDE + 12), (i // COLUMNS) * (SIDE + 26)
            pen.text((x + 2, y + 2), old[k][0][:36], fill="black")
            sheet.paste(old[k][1].resize((SIDE, SIDE)), (x, y + 22))
            sheet.paste(new[k][1].resize((SIDE, SIDE)), (x + SIDE, y + 22))
        sheet.save(args.sheet)
        print(f"wrote {args.sheet}: each pair the first bundle's picture, then the second's")


if __name__ == "__main__":
    main()

"""How far each sampler's picture lands from a many-step reference, by steps and by model
evaluations: the numbers behind the samplers section (issue 25). The builtin model, one prompt and
seed, on the CPU (about a minute). Also diffusers' plain Heun (a trapezoid on every step but the
last), whose first stride out of σ ≈ 20,000 throws the picture off at every budget.

    python benchmarks/samplers.py [--prompt "red apple"] [--seed 7] [--guidance 5]
"""

from __future__ import annotations

import argparse

import numpy as np

from stepthrough.bundle.ids import Job
from stepthrough.precompute import sampler
from stepthrough.precompute.models.builtin import load_builtin

STEPS = (3, 4, 5, 6, 10, 13, 25, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompt", default="red apple")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--reference-steps", type=int, default=100)
    args = parser.parse_args()
    model = load_builtin()

    def picture(job: Job) -> np.ndarray:
        return model.decode(sampler.sample(model, [job])).numpy()

    reference = picture(Job(args.prompt, args.seed, args.reference_steps, args.guidance, sampler="dpm++2m"))
    print(f"“{args.prompt}”, seed {args.seed}, guidance {args.guidance}: RMS pixel distance (0–1) to "
          f"DPM-Solver++ with {args.reference_steps} steps; each cell: evaluations/distance")
    print(f"{'sampler':<22}" + "".join(f"{n:>6} st " for n in STEPS))
    rows = [(name, name) for name in ("ddim", "euler", "dpm++2m", "heun")] + [("heun (trapezoid first)", "heun")]
    for label, name in rows:
        plain = label != name
        if plain:  # diffusers' own Heun, as this project used it before issue 25
            sampler.SAMPLER_CLASSES["heun"] = ("HeunDiscreteScheduler", {})
        cells = []
        for n in STEPS:
            job = Job(args.prompt, args.seed, n, args.guidance, sampler=name)
            distance = float(np.sqrt(((picture(job) - reference) ** 2).mean()))
            evaluations = job.evaluations + (1 if plain and n > 1 else 0)
            cells.append(f"{evaluations:>3}/{distance:.3f}")
        print(f"{label:<22}" + " ".join(cells))


if __name__ == "__main__":
    main()

"""How planning, precompute, build and a one-section rebuild grow with the number of trajectories.

Synthetic content at 1×, 10× and 100× the default explainer's trajectories (82): stepper sections
of eight trajectories each (two prompts × four seeds, --steps steps, guidance 5) and a paragraph of text,
rendered by a tiny random-weight Stable Diffusion pipeline (tests/tiny_pipelines.py: 16×16
pictures) through the library functions of `stepthrough.make`:

- plan: `render_cost_line`, what `precompute --dry-run` prints (content loaded, trajectories planned);
- precompute: `precompute_project` into an empty bundle folder;
- build: `build_project` from the complete bundle, with an empty build cache;
- rebuild: `build_project` again after one sentence is added to one section, the cache kept (what
  `stepthrough serve` does after an edit);
- first screen: bytes before the first paint at 390 × 844 (benchmarks/first_screen.py, Chromium).

Each phase runs in a fresh process (imports not timed); its time is the median of --repeats runs
(precompute: one run from 10× up; build and rebuild: one at 100×) and its memory the peak resident size above the size at its
start (Linux: /proc/self/clear_refs); the heap the imports left is collected and frozen first
(gc.freeze), so that one full collection of it, a fixed tenth of a second that a small phase may or may
not happen to trigger, is not counted as growth. Printed as ratios to 1×: time and memory should grow at most
linearly with trajectories (ratio ≤ the factor), the first screen and the rebuild sub-linearly.
Judge by the CPU seconds on a busy machine: wall time there measures the other jobs too.

    nice python benchmarks/scale.py [--factors 1 10 100] [--repeats 3] [--steps 25] [--keep DIR] [--reuse]

--reuse takes the bundles an earlier run with the same --keep, factors and --steps left, and skips
precompute (to measure the other phases again after a change to the builder).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TRAJECTORIES = 82  # `stepthrough precompute --dry-run` of the default explainer
PER_SECTION = 8
WORDS = ["apple", "rocket", "ghost", "house", "tiger", "cloud", "river", "lamp", "violin", "garden", "candle", "anchor"]
TEXT = (
    "A picture starts as noise, and every step removes a little of it. The model guesses which part "
    "is noise; the prompt's words steer each guess. Drag the slider to see the canvas after each "
    "step, and compare the seeds: each one starts from different noise, so each ends in a different "
    "picture of the same prompt. Broad colours come first, small details last. "
) * 2


def prompt(n: int) -> str:
    """A distinct two-word prompt for every n."""
    return f"{WORDS[n % len(WORDS)]} {WORDS[n // len(WORDS) % len(WORDS)]} {n}"


def write_content(folder: Path, trajectories: int, model: Path, steps: int = 25) -> Path:
    """Stepper sections of PER_SECTION trajectories each (the last one holds the rest)."""
    sections = folder / "sections"
    sections.mkdir(parents=True)
    (folder / "site.toml").write_text(f'title = "Scale"\nmodel = "{model}"\nbundle = "scale"\n', encoding="utf-8")
    for i in range(math.ceil(trajectories / PER_SECTION)):
        count = min(PER_SECTION, trajectories - i * PER_SECTION)
        prompts = [prompt(2 * i), prompt(2 * i + 1)] if count == PER_SECTION else [prompt(2 * i)]
        seeds = list(range(count // len(prompts)))
        (sections / f"{i:05d}-part-{i + 1}.md").write_text(
            f"---\ntitle: Part {i + 1}\nwidget: stepper\ncaption: Drag the slider.\n"
            f"sweep:\n  prompts: {json.dumps(prompts)}\n  seeds: {seeds}\n  steps: [{steps}]\n  guidance: [5]\n---\n\n"
            f"{TEXT}\n",
            encoding="utf-8",
        )
    return folder


def run_phase(phase: str, project: Path, env: dict[str, str]) -> dict[str, float]:
    """One phase in a fresh process; its seconds and the memory it added at its peak (MB)."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--project", str(project)],
        env=env, check=False, capture_output=True, text=True,
    )
    if done.returncode:
        sys.exit(f"{phase} of {project} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def phase_main(phase: str, project: Path) -> None:
    """The child's side: import what the phase needs, then time it and measure its peak memory."""
    sys.path.insert(0, str(ROOT))
    from stepthrough import log, make

    log.quiet_library_bars()
    content, bundles, site = project / "content", project / "bundles", project / "site"
    phases = {
        "plan": lambda: make.render_cost_line(content, 8),
        "precompute": lambda: make.precompute_project(content, bundles, yes=True),
        "build": lambda: make.build_project(content, bundles, site),
        "rebuild": lambda: make.build_project(content, bundles, site),
    }
    if phase == "precompute":
        import stepthrough.precompute.run
    else:
        import stepthrough.site.build  # noqa: F401
    gc.collect()
    gc.freeze()  # the imports' objects: a full collection of them is no part of the phase
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak resident size (VmHWM)
    start_kb = _rss_kb("VmRSS")
    started, used = time.perf_counter(), time.process_time()
    phases[phase]()
    seconds, cpu = time.perf_counter() - started, time.process_time() - used
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "memory_mb": (_rss_kb("VmHWM") - start_kb) / 1024}))


def first_screen(site: Path, runs: int) -> float:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from first_screen import measure

    before, _, _ = measure(site, runs=runs)
    return statistics.median(before) / 1e3


def measure_factor(
    work: Path, factor: int, model: Path, repeats: int, steps: int, reuse: bool = False
) -> dict[str, dict[str, float]]:
    project = work / f"x{factor}"
    for part in ("content", "site", *([] if reuse else ["bundles"])):
        shutil.rmtree(project / part, ignore_errors=True)
    write_content(project / "content", factor * DEFAULT_TRAJECTORIES, model, steps)
    # one thread: the tiny model's convolutions only wait on each other with more, on a shared machine
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    expensive = 1 if factor >= 10 else repeats  # precompute runs: one from 10× up
    results: dict[str, list[dict[str, float]]] = {phase: [] for phase in ("plan", "precompute", "build", "rebuild")}
    for _ in range(repeats):
        results["plan"].append(run_phase("plan", project, env))
    for _ in range(0 if reuse else expensive):
        shutil.rmtree(project / "bundles", ignore_errors=True)
        results["precompute"].append(run_phase("precompute", project, env))
    section = sorted((project / "content" / "sections").glob("*.md"))[len(list((project / "content" / "sections").glob("*.md"))) // 2]
    for repeat in range(repeats if factor < 100 else 1):  # build and rebuild: one at 100×
        cache = project / f"cache{repeat}"
        cold = {**env, "STEPTHROUGH_CACHE": str(cache)}
        shutil.rmtree(cache, ignore_errors=True)
        results["build"].append(run_phase("build", project, cold))
        with section.open("a", encoding="utf-8") as text:
            text.write(f"\nOne more sentence, number {repeat}.\n")
        results["rebuild"].append(run_phase("rebuild", project, cold))
    summary = {
        phase: {key: statistics.median(run[key] for run in runs) for key in ("seconds", "cpu_seconds", "memory_mb")}
        | {"cpu spread": max(run["cpu_seconds"] for run in runs) - min(run["cpu_seconds"] for run in runs)}
        for phase, runs in results.items()
        if runs
    }
    summary["first screen"] = {"kB": first_screen(project / "site", repeats)}
    return summary


def verdict(ratio: float, factor: int, sublinear: bool) -> str:
    if sublinear:
        return "sub-linear" if ratio < 0.5 * factor else "NOT sub-linear"
    return "≤ linear" if ratio <= 1.2 * factor else "WORSE than linear"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=25, help="denoising steps of every trajectory")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="skip precompute: use the bundles --keep holds")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reuse and not args.keep:
        parser.error("--reuse needs --keep: the folder an earlier run left its bundles in")
    if args.phase:
        return phase_main(args.phase, args.project)

    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_pipelines import stable_diffusion

    work = args.keep or Path(tempfile.mkdtemp(prefix="stepthrough-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    model = stable_diffusion(work / "tiny-sd") if not (work / "tiny-sd").exists() else work / "tiny-sd"
    measured = {}
    for factor in args.factors:
        started = time.perf_counter()
        measured[factor] = measure_factor(work, factor, model, args.repeats, args.steps, args.reuse)
        print(f"{factor}× ({factor * DEFAULT_TRAJECTORIES} trajectories) measured in {time.perf_counter() - started:.0f} s:")
        for phase, values in measured[factor].items():
            print(f"  {phase:12s} " + "  ".join(f"{k} {v:.2f}" for k, v in values.items()))
    base = args.factors[0]
    print(f"\nratios to {base}× (trajectories grow by the factor; linear growth is a ratio equal to it):")
    for factor in args.factors[1:]:
        scale = factor // base
        for phase in ("plan", "precompute", "build", "rebuild", "first screen"):
            sublinear = phase in ("rebuild", "first screen")
            for key in ("seconds", "cpu_seconds", "memory_mb", "kB"):
                if key in measured[factor].get(phase, {}):
                    ratio = measured[factor][phase][key] / max(measured[base][phase][key], 1e-9)
                    print(f"  {factor}×/{base}×  {phase:12s} {key:9s} ×{ratio:7.2f}  {verdict(ratio, scale, sublinear)}")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

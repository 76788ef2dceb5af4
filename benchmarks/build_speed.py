"""How long `stepthrough build` takes when the bundle is complete: the build an author runs again
and again, and the rebuild `stepthrough serve` runs after each edit.

1. `python -m stepthrough build` of the default content from a complete bundle, a fresh process each
   time (imports included), `--runs` times: median and spread. Also whether it imported a model
   stack (torch, diffusers, transformers): it must not.
2. A rebuild after a one-section text edit, in one process as `stepthrough serve` rebuilds: each
   run appends a different sentence to one section, then builds. Median and spread.

The bundle is rendered first when --bundles lacks it (with the builtin model, on the CPU: minutes;
not timed). Targets (issue 14): build ≤ 1.0 s, rebuild ≤ 0.5 s. Each line also gives the CPU time
spent, which a busy machine (another job on the cores) changes less than the wall time.

    python benchmarks/build_speed.py [--bundles bundles] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_STACK = ("torch", "diffusers", "transformers")
# One fresh process: build, then say which model-stack modules were imported.
PROBE = (
    "import sys, json\n"
    "from stepthrough.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
    f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({MODEL_STACK!r}))), file=sys.stderr)\n"
)


def spread(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds):.2f} s  spread {min(seconds):.2f}–{max(seconds):.2f} s"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=Path, default=ROOT / "build" / "bench-bundles")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    import stepthrough

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        content = work / "content"
        shutil.copytree(Path(stepthrough.__file__).parent / "default_content", content)
        words = ["build", "--content", str(content), "--bundles", str(args.bundles), "-q"]
        words = ["-q", *words[:-1], "--out", str(work / "site"), "--no-progress"]
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stepthrough", *words], env=env, check=True)
        print(f"first build (renders what the bundle lacks, fills the caches): {time.perf_counter() - started:.1f} s")

        def fresh_processes(env: dict[str, str]) -> tuple[list[float], list[float], set[str]]:
            seconds, cpu, imported = [], [], set()
            for _ in range(args.runs):
                started, used = time.perf_counter(), children_cpu()
                done = subprocess.run(
                    [sys.executable, "-c", PROBE, *words], env=env, check=True, capture_output=True, text=True
                )
                seconds.append(time.perf_counter() - started)
                cpu.append(children_cpu() - used)
                imported |= set(json.loads(done.stderr.strip().splitlines()[-1]))
            return seconds, cpu, imported

        seconds, cpu, imported = fresh_processes(env)
        print(f"python -m stepthrough build, complete bundle, {args.runs} runs: {spread(seconds)}")
        print(f"  its CPU time (user + system; steadier on a busy machine): {spread(cpu)}")
        print(f"model stack imported: {', '.join(sorted(imported)) or 'none'}")
        build_median = statistics.median(seconds)
        if env.get("PYTHONDONTWRITEBYTECODE"):
            # This shell keeps Python from caching compiled modules, so every import compiles its
            # source again; a default Python install caches them (__pycache__) after the first run.
            cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
            subprocess.run([sys.executable, "-c", PROBE, *words], env=cached, check=True, capture_output=True)
            seconds, cpu, _ = fresh_processes(cached)
            print(
                f"  with compiled modules cached (as a default Python does; this shell sets "
                f"PYTHONDONTWRITEBYTECODE): {spread(seconds)}, CPU {spread(cpu)}"
            )

        sys.path.insert(0, str(ROOT))
        from stepthrough.cli import main as cli

        cli.main(words, standalone_mode=False)  # the first build of `serve`, imports included
        section = sorted((content / "sections").glob("*.md"))[2]
        seconds, cpu = [], []
        for run in range(args.runs):
            with section.open("a", encoding="utf-8") as text:
                text.write(f"\nOne more sentence, number {run}.\n")
            started, used = time.perf_counter(), time.process_time()
            cli.main(words, standalone_mode=False)
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
        print(f"rebuild after editing {section.name}'s text, in one process, {args.runs} runs: {spread(seconds)}")
        print(f"  its CPU time: {spread(cpu)}")
        rebuild_median = statistics.median(seconds)
    print(f"build={build_median:.2f} rebuild={rebuild_median:.2f} (targets 1.0 and 0.5)")


if __name__ == "__main__":
    main()

"""One build per output folder and one writer per bundle at a time; a killed run's leftovers are
cleaned by the next; the site swap never leaves the output folder missing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import STEPPER_SECTION, write_content
from tiny_model import TinyModel

import stepthrough.site.build as builder
from stepthrough.bundle import check_bundle, folder_lock
from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.precompute.run import precompute

REPO = Path(__file__).resolve().parents[1]


def build_command(project: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "stepthrough",
        "build",
        "--content",
        str(project / "content"),
        "--bundles",
        str(project / "bundles"),
        "--out",
        str(project / "build" / "site"),
        "--no-progress",
    ]


def spawn(project: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        build_command(project), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def leftovers(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "build").iterdir() if p.name != "site")


def test_builds_racing_into_one_out_all_succeed_one_after_another(tiny_project):
    runs = [spawn(tiny_project) for _ in range(4)]
    results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    for code, stderr in results:
        assert code == 0 and "Traceback" not in stderr, stderr
    site = tiny_project / "build" / "site"
    assert (site / "index.html").is_file() and (site / ".stepthrough-site").is_file()
    assert leftovers(tiny_project) == []


def test_a_second_build_waits_and_says_which_pid_holds_the_output(tiny_project):
    with folder_lock(tiny_project / "build", "building site"):
        run = spawn(tiny_project)
        line = run.stderr.readline()  # blocks until the second build has met the lock
        assert f"pid {os.getpid()} is building site here; waiting for it to finish" in line
        assert run.poll() is None  # still waiting
    assert run.wait(timeout=120) == 0, run.stderr.read()


def test_a_killed_builds_leftovers_are_cleaned_by_the_next(tiny_project):
    build_folder = tiny_project / "build"
    (build_folder / ".site.building-k1ll3d").mkdir()
    (build_folder / ".site.building-k1ll3d" / "index.html").write_text("half")
    (build_folder / ".site.old-k1ll3d").mkdir()
    assert CliRunner().invoke(main, build_command(tiny_project)[3:]).exit_code == 0
    assert leftovers(tiny_project) == []


def test_a_crash_between_the_two_renames_leaves_a_site_the_next_build_puts_back(tiny_project, monkeypatch):
    site = tiny_project / "build" / "site"
    before = (site / "index.html").read_bytes()
    site.rename(site.with_name(".site.old-crashed"))  # where the fallback swap's first rename leaves it

    def explode(*args, **kwargs):
        raise RuntimeError("this build fails too")

    monkeypatch.setattr(builder.WIDGETS["stepper"], "data", explode)
    result = CliRunner().invoke(main, build_command(tiny_project)[3:])
    assert isinstance(result.exception, RuntimeError)
    assert (site / "index.html").read_bytes() == before and leftovers(tiny_project) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_the_swap_is_one_exchange_never_a_moment_without_the_site(tiny_project, monkeypatch):
    renamed: list[str] = []
    real = Path.rename
    monkeypatch.setattr(Path, "rename", lambda self, target: renamed.append(self.name) or real(self, target))
    (tiny_project / "content" / "site.toml").write_text(
        (tiny_project / "content" / "site.toml").read_text().replace("Test site", "Second edition")
    )
    assert CliRunner().invoke(main, build_command(tiny_project)[3:]).exit_code == 0
    assert renamed == []  # the old site was never moved aside
    assert "Second edition" in (tiny_project / "build" / "site" / "index.html").read_text()


def test_two_contents_sharing_a_bundle_name_render_one_after_the_other(tmp_path):
    contents = []
    for name, prompts in (("a", '["a doctor", "red apple"]'), ("b", '["rocket", "a doctor"]')):
        section = STEPPER_SECTION.replace('["a doctor", "red apple"]', prompts)
        contents.append(load_content(write_content(tmp_path / name, {"01-watch.md": section})))
    errors: list[BaseException] = []

    def render(content) -> None:
        try:
            precompute(content, tmp_path / "bundles", model=TinyModel(), progress=False, batch_size=1)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(content,)) for content in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert check_bundle(tmp_path / "bundles" / "test-bundle") == []


@pytest.mark.slow
def test_kill_9_at_any_moment_never_leaves_the_site_missing_and_the_next_build_cleans_up(tiny_project):
    site = tiny_project / "build" / "site"
    toml = tiny_project / "content" / "site.toml"
    durations = []
    for _ in range(3):  # uninterrupted builds, start-up included (most of it: imports)
        started = time.perf_counter()
        assert spawn(tiny_project).wait(timeout=120) == 0
        durations.append(time.perf_counter() - started)
    whole = sorted(durations)[1]
    rng = random.Random(13)
    kills = 0
    for trial in range(26):
        toml.write_text(f'title = "Trial {trial}"\nmodel = "tiny-test"\nbundle = "test-bundle"\n')
        run = spawn(tiny_project)
        try:
            run.wait(
                timeout=rng.uniform(0.5, 1.2) * whole
            )  # late in a build (its writing and swap), or after it
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGKILL)
            run.wait()
            kills += 1
        assert (site / "index.html").is_file() and (site / ".stepthrough-site").is_file(), trial
    print(f"kill -9 trials: {kills} of 26 builds killed mid-run (an uninterrupted one took {whole:.1f} s)")
    assert kills >= 8  # many trials really were cut short
    assert CliRunner().invoke(main, build_command(tiny_project)[3:]).exit_code == 0
    assert leftovers(tiny_project) == []
    assert "Trial 25" in (site / "index.html").read_text()

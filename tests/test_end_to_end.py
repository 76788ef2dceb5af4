"""The main job, as a user runs it: `stepthrough build` on the builtin model from an empty bundles folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import open_page
from conftest import write_content

from stepthrough.bundle import check_bundle

SECTION = """
    ---
    title: Watch it denoise
    widget: stepper
    sweep:
      prompts: ["a doctor", "red apple"]
      seeds: [3]
      steps: [4]
      guidance: [5.0]
    ---
    Text.
"""


def stepthrough(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "stepthrough", *args, "--no-progress"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    write_content(root / "content", {"01-watch.md": SECTION})
    result = stepthrough("build", cwd=root)
    assert result.returncode == 0, result.stderr
    return root, result


def test_build_renders_the_missing_bundle_with_the_builtin_model_then_builds_the_site(built):
    root, result = built
    assert "Rendering 2 trajectories with the builtin model" in result.stderr
    assert f"Built {Path('build/site/index.html')}" in result.stdout
    bundle = root / "bundles" / "test-bundle"
    assert check_bundle(bundle) == []
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["model"]["id"] == "builtin"
    for trajectory in manifest["trajectories"].values():
        assert trajectory["model_evaluations"] == trajectory["steps"] == 4
        assert trajectory["views"]["xt"]["width"] == 64 and trajectory["views"]["xt"]["frames"] == 5


def test_a_second_build_reuses_the_bundle(built):
    root, _ = built
    again = stepthrough("build", cwd=root)
    assert again.returncode == 0, again.stderr
    assert "Rendering" not in again.stderr


def test_build_single_file_also_writes_one_page_beside_the_site_and_says_how_big(built):
    root, _ = built
    result = stepthrough("build", "--single-file", cwd=root)
    assert result.returncode == 0, result.stderr
    page = root / "build" / "site.html"
    assert re.search(rf"Wrote {re.escape(str(Path('build/site.html')))} \(\d+ kB\)", result.stdout), (
        result.stdout
    )
    assert page.stat().st_size > sum(
        p.stat().st_size for p in (root / "build" / "site" / "assets" / "frames").iterdir()
    )


def test_the_built_page_steps_through_real_builtin_frames(built, browser):
    root, _ = built
    page, watch = open_page(browser, root / "build" / "site")
    frame = page.locator(".stepper-frame")
    final = frame.screenshot()
    page.locator(".stepper-step").fill("0")
    assert page.locator(".stepper-count").inner_text() == "0 / 4"
    assert frame.screenshot() != final
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()

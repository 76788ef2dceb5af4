"""A budget before rendering: `build` and `precompute` say what a render costs (trajectories, time
from the builtin model's measured speed, disk), and above 2,000 trajectories or an hour they stop
with one line naming the section and --yes (exit 2) before any model loads."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import write_content

from stepthrough.cli import main
from stepthrough.precompute.cost import Cost, duration, render_cost

SWEEP = """
    ---
    title: Many
    widget: stepper
    sweep:
      prompts: {prompts}
      seeds: {{from: 0, count: {seeds}}}
      steps: {steps}
      guidance: {guidance}
    ---
    Text.
"""
TEN_PROMPTS = '["a cat", "a dog", "a doctor", "red apple", "a tree", "a house", "a car", "a boat", "a star", "a fish"]'


def content(tmp_path, prompts='["a cat"]', seeds=1, steps="[25]", guidance="[4]"):
    text = SWEEP.format(prompts=prompts, seeds=seeds, steps=steps, guidance=guidance)
    return write_content(tmp_path / "content", {"01-many.md": text})


class Reached(Exception):
    """Raised where rendering would begin: the budget let it through."""


@pytest.fixture
def no_rendering(monkeypatch):
    """Rendering and model loading stop at once with Reached (the budget is what is under test)."""
    from stepthrough.precompute import models, run

    def reached(*args, **kwargs):
        raise Reached

    monkeypatch.setattr(run, "precompute", reached)
    monkeypatch.setattr(models, "load_model", reached)


def one_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_half_a_million_trajectories_stop_before_rendering_with_one_line_naming_yes(tmp_path, no_rendering):
    root = content(tmp_path, TEN_PROMPTS, seeds=1000, steps="[5, 10, 15, 20, 25]", guidance="[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]")
    result = CliRunner().invoke(main, ["build", "--content", str(root), "--out", str(tmp_path / "site")])
    line = one_line(result)
    assert "01-many.md: the content asks to render 500,000 trajectories (about 2 days, 60.0 GB)" in line
    assert line.endswith("add --yes to render them all")
    assert not (tmp_path / "bundles").exists()


def test_more_than_an_hour_stops_even_with_few_trajectories(tmp_path, no_rendering):
    root = content(tmp_path, seeds=1000, steps="[200]")  # 1,000 trajectories of 200 steps: 1.6 hours
    result = CliRunner().invoke(main, ["precompute", "--content", str(root)])
    assert "render 1,000 trajectories (about 1.6 hours, 1.6 GB)" in one_line(result)


def test_yes_lets_a_large_render_start(tmp_path, no_rendering):
    root = content(tmp_path, TEN_PROMPTS, seeds=300)
    for command in ("build", "precompute"):
        result = CliRunner().invoke(main, [command, "--content", str(root), "--yes"])
        assert isinstance(result.exception, Reached), result.output


def test_a_small_render_says_its_count_time_and_disk_and_starts(tmp_path, no_rendering):
    root = content(tmp_path, '["a cat", "a dog"]', seeds=4)
    result = CliRunner().invoke(main, ["build", "--content", str(root), "--out", str(tmp_path / "site")])
    assert isinstance(result.exception, Reached), result.output
    assert "Rendering 8 trajectories with the builtin model on the CPU: about 6 s, 1.6 MB …" in result.output
    result = CliRunner().invoke(main, ["precompute", "--content", str(root)])
    assert isinstance(result.exception, Reached) and "Rendering up to 8 trajectories (about 6 s, 1.6 MB)" in result.output


def test_only_what_the_bundle_lacks_counts(tiny_project, no_rendering):
    """A bundle with its trajectories rendered asks for nothing, however many it holds."""
    from stepthrough.content import load_content
    from stepthrough.site.build import bundle_state

    state = bundle_state(load_content(tiny_project / "content"), tiny_project / "bundles" / "test-bundle")
    assert state.missing == () and render_cost(state.missing, "builtin").trajectories == 0


def test_the_dry_run_prints_time_and_disk_for_the_builtin_model(tmp_path):
    root = content(tmp_path, seeds=4)
    result = CliRunner().invoke(main, ["precompute", "--content", str(root), "--dry-run"])
    assert result.exit_code == 0 and result.output.rstrip().endswith("; about 3 s, 800 kB with the builtin model on 2 CPU cores")


def test_a_model_without_a_measured_speed_is_bounded_by_its_count():
    from stepthrough.bundle.ids import Job

    jobs = [Job(prompt="a cat", seed=seed, steps=50, guidance=7.5) for seed in range(2001)]
    cost = render_cost(jobs, "stabilityai/stable-diffusion-2-1")
    assert cost.seconds is None and cost.too_much and str(cost) == "2,001 trajectories"
    assert not render_cost(jobs[:2000], "some/model").too_much
    assert Cost(10, 250, seconds=3601).too_much and not Cost(10, 250, seconds=3599).too_much
    assert [duration(s) for s in (0.2, 45, 600, 9000, 500_000)] == ["1 s", "45 s", "10 min", "2.5 hours", "6 days"]

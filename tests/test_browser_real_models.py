"""Every supported pipeline family end to end: precompute → build → the stepper in Chromium."""

from __future__ import annotations

import pytest
from browser import open_page
from click.testing import CliRunner
from conftest import write_content
from tiny_pipelines import BUILDERS

from stepthrough.bundle import read_manifest
from stepthrough.cli import main

SECTION = """
    ---
    title: Watch it denoise
    widget: stepper
    sweep:
      prompts: ["a doctor", "red apple"]
      seeds: [1]
      steps: [4]
      guidance: [4.0]
    ---
    Words beside the widget.
"""

BUILDERS_PIPELINES = {
    "sd": "StableDiffusionPipeline",
    "sd-v": "StableDiffusionPipeline",
    "sdxl": "StableDiffusionXLPipeline",
    "pixart-alpha": "PixArtAlphaPipeline",
    "pixart-sigma": "PixArtSigmaPipeline",
    "sd3": "StableDiffusion3Pipeline",
    "flux": "FluxPipeline",
    "prx": "PRXPipeline",
}


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_a_tiny_pipeline_renders_builds_and_its_stepper_frame_changes_with_the_slider(
    kind, tiny_pipeline, browser, tmp_path
):
    folder = tiny_pipeline(kind)
    site_toml = f'title = "Tiny {kind}"\nmodel = "{folder}"\nbundle = "tiny-{kind}"\n'
    content = write_content(tmp_path / "content", {"01-watch.md": SECTION}, site=site_toml)
    where = ["--content", str(content), "--bundles", str(tmp_path / "bundles")]
    rendered = CliRunner().invoke(main, ["precompute", *where, "--size", "16", "--no-progress"])
    assert rendered.exit_code == 0, rendered.output
    manifest = read_manifest(tmp_path / "bundles" / f"tiny-{kind}")
    assert manifest.model["extra"]["pipeline"] == BUILDERS_PIPELINES[kind]
    assert {t.model_evaluations for t in manifest.trajectories.values()} == {4}
    built = CliRunner().invoke(main, ["build", *where, "--out", str(tmp_path / "site")])
    assert built.exit_code == 0, built.output

    page, watch = open_page(browser, tmp_path / "site")
    slider = page.locator(".stepper input[type=range]")
    assert slider.get_attribute("max") == "4"
    slider.focus()
    frames = []
    for key in ("Home", "ArrowRight", "ArrowRight", "End"):
        page.keyboard.press(key)
        frames.append(page.locator(".stepper-frame").screenshot())
    assert page.locator(".stepper-count").inner_text() == "4 / 4"
    assert len(set(frames)) == 4, f"{kind}: the frame did not change at every slider position"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()

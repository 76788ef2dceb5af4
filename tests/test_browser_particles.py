"""The particles widget in real headless Chromium from file://: the live run matches the numpy sampler."""

from __future__ import annotations

import numpy as np
import pytest
from browser import open_page
from conftest import write_content

from stepthrough.content import load_content
from stepthrough.particles.sample import load_model, sample, start_noise
from stepthrough.site.build import build_site

COUNT, STEPS = 300, 16
SECTION = f"""
    ---
    title: Dots find their shape
    widget: particles
    caption: Press play.
    settings:
      shapes: [heart, star, ring]
      count: {COUNT}
      steps: {STEPS}
      guidance: 3
    ---
    Words beside the dots.
"""
# Same float64 arithmetic on both sides; only the order of sums (BLAS vs a loop) differs.
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("particles")
    content = load_content(write_content(root / "content", {"01-dots.md": SECTION}))
    return build_site(content, root / "bundles" / "none", root / "site")


@pytest.fixture(scope="module")
def model():
    return load_model()


def settled(page, step: int = STEPS) -> np.ndarray:
    """Wait until the canvas shows `step` of a finished run; its positions as count × 2."""
    page.wait_for_function(
        f"() => {{ const p = document.querySelector('.particles').particles;"
        f" return p !== undefined && p.done && p.step === {step}; }}",  # undefined: not started yet
        timeout=10_000,
    )
    return np.array(page.evaluate("document.querySelector('.particles').particles.positions")).reshape(-1, 2)


def test_the_live_run_matches_the_python_sampler_with_no_errors_and_no_outside_requests(site, browser, model):
    page, watch = open_page(browser, site)
    expected = sample(model, "heart", seed=0, count=COUNT, steps=STEPS, guidance=3.0)
    assert np.abs(settled(page) - expected[-1]).max() < TOLERANCE
    # The live run has caught up with the build-time still (the same state), and replaced it.
    assert (
        page.locator(".particles-canvas").is_visible() and not page.locator(".particles-still").is_visible()
    )
    assert (
        "Step 16 of 16 · heart · guidance 3 · the particles have settled"
        in page.locator(".particles-status").inner_text()
    )
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_shape_guidance_and_new_noise_each_change_the_run_as_python_predicts(site, browser, model):
    page, watch = open_page(browser, site)
    heart = settled(page)
    page.locator("select[data-param=shape]").select_option("star")
    star = settled(page)
    assert np.abs(star - heart).max() > 0.1
    assert np.abs(star - sample(model, "star", 0, COUNT, STEPS, 3.0)[-1]).max() < TOLERANCE
    page.locator("input[data-param=guidance]").fill("0")
    loose = settled(page)
    assert np.abs(loose - sample(model, "star", 0, COUNT, STEPS, 0.0)[-1]).max() < TOLERANCE
    assert np.abs(loose - star).max() > 0.1
    page.get_by_role("button", name="New noise").click()
    assert np.abs(settled(page) - sample(model, "star", 1, COUNT, STEPS, 0.0)[-1]).max() < TOLERANCE
    assert page.evaluate("location.hash") == f"#dots?shape=star&guidance=0&seed=1&step={STEPS}"
    assert watch.errors == []
    page.context.close()


def test_step_zero_is_the_seeded_noise_and_play_runs_to_the_end(site, browser):
    page, watch = open_page(browser, site)
    settled(page)
    page.locator(".particles-canvas").focus()
    page.keyboard.press("Home")
    assert page.locator(".particles-count").inner_text() == f"0 / {STEPS}"
    assert np.abs(settled(page, 0) - start_noise(0, COUNT)).max() < 1e-12
    page.keyboard.press("ArrowRight")
    settled(page, 1)
    page.locator("[data-action=play]").click()
    assert page.locator("[data-action=play]").get_attribute("aria-pressed") == "true"
    settled(page)
    page.wait_for_function(
        "() => document.querySelector('[data-action=play]').getAttribute('aria-pressed') === 'false'"
    )
    assert watch.errors == []
    page.context.close()


def test_a_link_opens_that_exact_state(site, browser, model):
    page, watch = open_page(browser, site, fragment="#dots?shape=ring&guidance=1.5&seed=7&step=5")
    assert page.locator("select[data-param=shape]").input_value() == "ring"
    assert page.locator(".particles-count").inner_text() == f"5 / {STEPS}"
    expected = sample(model, "ring", seed=7, count=COUNT, steps=STEPS, guidance=1.5)[5]
    assert np.abs(settled(page, 5) - expected).max() < TOLERANCE
    assert watch.errors == []
    page.context.close()


def test_without_javascript_the_settled_shape_and_caption_show(site, browser):
    page, _ = open_page(browser, site, java_script_enabled=False)
    assert not page.locator(".particles-controls").is_visible()
    assert not page.locator(".particles-canvas").is_visible()
    still = page.locator(".particles-still")
    box = still.bounding_box()
    assert box["width"] > 200 and box["height"] > 200
    assert "settled into a heart" in still.get_attribute("aria-label")
    assert "Press play." in page.locator(".particles figcaption").inner_text()
    page.context.close()


def test_phone_width_fits_and_still_runs(site, browser, model):
    page, watch = open_page(browser, site, width=390, height=800, is_mobile=True, has_touch=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for selector in (
        ".particles-stage",
        "input[data-param=step]",
        "[data-action=play]",
        "[data-action=noise]",
    ):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    settled(page)
    page.locator("[data-action=prev]").tap()
    assert page.locator(".particles-count").inner_text() == f"{STEPS - 1} / {STEPS}"
    expected = sample(model, "heart", seed=0, count=COUNT, steps=STEPS, guidance=3.0)[STEPS - 1]
    assert np.abs(settled(page, STEPS - 1) - expected).max() < TOLERANCE
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_scrolling_through_the_paragraphs_walks_the_dots_from_noise_to_shape(browser, model, tmp_path):
    paragraphs = "\n\n".join(f"Paragraph {i}. " + "Words to read. " * 60 for i in range(3))
    text = SECTION.replace("Words beside the dots.", paragraphs.replace("\n", "\n    "))
    content = load_content(write_content(tmp_path / "content", {"01-dots.md": text}))
    site = build_site(content, tmp_path / "bundles" / "none", tmp_path / "site")
    page, watch = open_page(browser, site, width=1280, height=700)
    first, middle = (page.locator(".prose > p").nth(i) for i in (0, 1))
    first.evaluate("p => p.scrollIntoView({block: 'center'})")
    page.wait_for_function(f"() => document.querySelector('.particles-count').textContent === '0 / {STEPS}'")
    middle.evaluate("p => p.scrollIntoView({block: 'center'})")
    half = STEPS // 2
    page.wait_for_function(
        f"() => document.querySelector('.particles-count').textContent === '{half} / {STEPS}'"
    )
    expected = sample(model, "heart", seed=0, count=COUNT, steps=STEPS, guidance=3.0)[half]
    assert np.abs(settled(page, half) - expected).max() < TOLERANCE
    assert watch.errors == []
    page.context.close()


def test_with_reduced_motion_no_half_finished_frames_flash_by(site, browser):
    page, watch = open_page(browser, site, reduced_motion="reduce")
    settled(page)
    page.evaluate(
        """() => {
        const figure = document.querySelector('.particles');
        window.drawnSteps = [];
        new MutationObserver(() => window.drawnSteps.push(figure.dataset.step))
            .observe(figure, {attributes: true, attributeFilter: ['data-step']});
    }"""
    )
    page.locator("select[data-param=shape]").select_option("ring")
    settled(page)
    drawn = page.evaluate("window.drawnSteps")
    assert drawn and set(drawn) <= {"-1", str(STEPS)}
    assert watch.errors == []
    page.context.close()


RECORD = """
document.addEventListener("DOMContentLoaded", () => {
  const figure = document.querySelector(".particles"), status = figure.querySelector(".particles-status");
  window.seen = {steps: [figure.dataset.step], texts: [status.textContent]};
  new MutationObserver(() => window.seen.steps.push(figure.dataset.step))
    .observe(figure, {attributes: true, attributeFilter: ["data-step"]});
  new MutationObserver(() => window.seen.texts.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
});
"""


def test_the_first_screen_is_a_frame_not_a_wait(site, browser):
    """The opening state is the build-time still, complete at once, until the live run has the
    same frame; a linked state draws its steps as they come, playing up to the linked step."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD)
    page = context.new_page()
    page.goto((site / "index.html").resolve().as_uri())
    settled(page)
    seen = page.evaluate("window.seen")
    # None: the deferred script has not started yet (the static still shows); then no noise
    # flashing by before the shape.
    assert set(seen["steps"]) - {None} <= {"-1", str(STEPS)}
    assert all(t.startswith(f"Step {STEPS} of {STEPS}") and "working out" not in t for t in seen["texts"])
    page.goto((site / "index.html").resolve().as_uri() + f"#dots?shape=star&step={STEPS}")
    page.reload()
    settled(page)
    seen = page.evaluate("window.seen")
    drawn = [int(step) for step in seen["steps"] if step not in ("-1", None)]
    assert drawn[0] < STEPS and drawn == sorted(drawn) and drawn[-1] == STEPS  # it plays up to the link
    assert not any("working out" in t for t in seen["texts"])
    context.close()

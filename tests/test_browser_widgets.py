"""Widgets beyond the stepper, driven in headless Chromium from file://: paths, map, compare, noise, forward."""

from __future__ import annotations

import pytest
from browser import open_page
from conftest import tiny_site
from test_project import MAP, PATHS


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("projections"), {"01-map.md": MAP, "02-paths.md": PATHS})


def dots(page) -> list[tuple[str, str]]:
    return [(d.get_attribute("cx"), d.get_attribute("cy")) for d in page.locator(".path-now").all()]


def test_the_step_slider_walks_every_path_and_updates_the_thumbnails(site, browser):
    page, watch = open_page(browser, site)
    widget = page.locator("#paths-widget")
    widget.scroll_into_view_if_needed()
    assert page.locator(".path-now").count() == 3 and page.locator(".paths-thumbs li").count() == 3
    arrived, thumbs = dots(page), widget.locator(".paths-thumbs").screenshot()
    assert len(set(arrived)) <= 3
    widget.locator("input[type=range]").fill("0")
    start = dots(page)
    assert start != arrived and len(set(start)) == 3  # three seeds start in three places
    assert widget.locator(".paths-thumbs").screenshot() != thumbs
    assert "pure noise" in widget.locator(".paths-status").inner_text()
    assert " apart at this step " in widget.locator(".paths-spread").inner_text()
    assert page.evaluate("location.hash") == "#paths?step=0"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_a_legend_button_highlights_one_group_of_prompts(site, browser):
    page, watch = open_page(browser, site)
    points = page.locator(".map-point")
    assert points.count() == 6
    assert page.locator(".map text").all_text_contents()[:3] == ["a cat", "a dog", "a small cat"]
    page.get_by_role("button", name="food").click()
    opacities = [float(p.evaluate("el => getComputedStyle(el).opacity")) for p in points.all()]
    assert opacities[:3] == [pytest.approx(0.18)] * 3 and opacities[3:] == [1.0] * 3
    assert page.get_by_role("button", name="food").get_attribute("aria-pressed") == "true"
    page.get_by_role("button", name="food").click()
    assert all(float(p.evaluate("el => getComputedStyle(el).opacity")) == 1.0 for p in points.all())
    assert watch.errors == []
    page.context.close()


def test_without_javascript_both_pictures_are_complete(site, browser):
    page, _ = open_page(browser, site, java_script_enabled=False)
    assert page.locator(".map-point").count() == 6
    assert page.locator(".path-line").count() == 3
    assert not page.locator("#paths-widget .widget-controls").is_visible()
    page.context.close()


STEPS = """
    ---
    title: Step counts
    widget: compare
    settings:
      label: steps
      reference: most-steps
      notes: {"1": "still mud", "8": "crisp"}
    sweep:
      prompts: ["a cat"]
      steps: [1, 2, 4, 8]
    ---
    Text.
"""


@pytest.fixture(scope="module")
def compare_site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("compare"), {"01-steps.md": STEPS})


def test_compare_measures_each_step_count_against_the_many_step_result(compare_site, browser):
    page, watch = open_page(browser, compare_site)
    names = page.locator(".tile-name").all_inner_texts()
    assert names == ["1 step", "2 steps", "4 steps", "8 steps"]
    distances = [float(d) for d in page.locator(".tile-distance").all_inner_texts()]
    assert distances[-1] == 0 and all(d > 0 for d in distances[:-1])
    assert page.locator(".tile-note").all_inner_texts() == ["still mud", "crisp"]
    assert page.locator(".compare-chart .chart-dot").count() == 4
    tiles = page.locator(".compare-tiles").screenshot()
    page.locator("#steps-widget input[type=range]").fill("4")
    assert page.locator("#steps-widget .widget-count").inner_text() == "50%"
    labels = [t.get_attribute("aria-label") for t in page.locator(".compare-tiles .thumb").all()]
    assert labels == [
        "1 step: step 0 of 1.",
        "2 steps: step 1 of 2.",
        "4 steps: step 2 of 4.",
        "8 steps: step 4 of 8.",
    ]
    assert page.locator(".compare-tiles").screenshot() != tiles
    assert page.evaluate("location.hash") == "#steps?at=4"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


NOISE = "---\ntitle: So many pictures\nwidget: noise-canvas\nsettings:\n  per_second: 30\n---\nText.\n"


@pytest.fixture(scope="module")
def noise_site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("noise"), {"01-noise.md": NOISE})


def test_noise_canvas_draws_fresh_random_pictures_many_per_second(noise_site, browser):
    page, watch = open_page(browser, noise_site)
    page.wait_for_function(
        "() => /^([4-9]|\\d\\d+) random/.test(document.querySelector('.noise-count').textContent)"
    )
    assert page.locator(".noise-toggle").get_attribute("aria-pressed") == "true"
    page.locator(".noise-toggle").click()
    pixels = "Array.from(document.querySelector('canvas').getContext('2d').getImageData(0, 0, 16, 16).data)"
    before = page.evaluate(pixels)
    page.locator(".noise-one").click()
    assert page.evaluate(pixels) != before
    assert "digits" not in page.locator(".noise-count").inner_text()
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_noise_canvas_draws_nothing_while_it_is_off_screen(noise_site, browser):
    page, watch = open_page(browser, noise_site, width=390, height=300)
    count = "() => parseInt(document.querySelector('.noise-count').textContent.replace(/,/g, ''))"
    page.wait_for_function(f"() => ({count})() >= 3")
    page.evaluate("() => { document.body.style.paddingBottom = '5000px'; window.scrollTo(0, 4000); }")
    page.wait_for_timeout(300)  # the observer has seen it leave
    away = page.evaluate(count)
    page.wait_for_timeout(500)  # 15 pictures' worth at 30 a second
    assert page.evaluate(count) == away
    assert page.locator(".noise-toggle").get_attribute("aria-pressed") == "true"  # still playing, for when it is back
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_function(f"() => ({count})() > {away}")
    assert watch.errors == []
    page.context.close()


def test_noise_canvas_waits_for_the_reader_when_motion_is_reduced(noise_site, browser):
    page, watch = open_page(browser, noise_site, reduced_motion="reduce")
    assert page.locator(".noise-toggle").get_attribute("aria-pressed") == "false"
    assert page.locator(".noise-count").inner_text().startswith("1 random picture so far")
    page.locator(".noise-one").click()
    assert page.locator(".noise-count").inner_text().startswith("2 random pictures")
    assert watch.errors == []
    page.context.close()
    still, _ = open_page(browser, noise_site, java_script_enabled=False)
    assert still.locator(".noise-still").is_visible()
    assert "a number with 1,850 digits" in still.locator(".noise-count").inner_text()  # 256^(16·16·3)
    still.context.close()


FORWARD = """
    ---
    title: Drowning a picture
    widget: forward-process
    settings: {steps: 20, size: 32}
    sweep:
      prompts: ["a cat"]
      steps: [3]
    ---
    Text.
"""
PIXEL = "Array.from(document.querySelector('{}').getContext('2d').getImageData(0, 0, 32, 32).data)"


@pytest.fixture(scope="module")
def forward_site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("forward"), {"01-forward.md": FORWARD})


def test_forward_process_drowns_the_picture_and_shows_the_added_noise(forward_site, browser):
    page, watch = open_page(browser, forward_site)
    page.wait_for_function("() => !document.querySelector('.forward-noisy').hidden")
    clean = page.evaluate(PIXEL.format(".forward-noisy"))
    noise = page.evaluate(PIXEL.format(".forward-noise"))
    slider = page.locator("#forward-widget input[type=range]")
    slider.fill("10")
    half = page.evaluate(PIXEL.format(".forward-noisy"))
    assert half != clean and "50% picture, 50% noise" in page.locator(".forward-status").inner_text()
    slider.fill("20")
    assert "Pure noise" in page.locator(".forward-status").inner_text()
    assert page.evaluate(PIXEL.format(".forward-noise")) == noise  # the same noise, only mixed in more
    page.get_by_role("button", name="New noise").click()
    assert page.evaluate(PIXEL.format(".forward-noise")) != noise
    assert page.evaluate("location.hash") == "#forward?step=20&seed=2"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_the_readers_own_photo_is_used_and_nothing_is_sent(forward_site, browser, tmp_path):
    from PIL import Image

    photo = tmp_path / "me.png"
    Image.new("RGB", (40, 30), (250, 10, 10)).save(photo)
    page, watch = open_page(browser, forward_site)
    page.wait_for_function("() => !document.querySelector('.forward-noisy').hidden")
    page.locator("#forward-widget input[type=range]").fill("0")
    page.locator("input[type=file]").set_input_files(str(photo))
    page.wait_for_function("() => " + PIXEL.format(".forward-noisy") + "[0] > 240")
    red = page.evaluate(PIXEL.format(".forward-noisy"))
    assert red[1] < 20 and red[2] < 20
    assert watch.outside_requests == [] and watch.errors == []
    page.context.close()


def every_widget_sections() -> dict[str, str]:
    """A section of each widget kind that a tiny model renders: for the sites that check them all."""
    from test_browser_stepper import EXPLORER
    from test_samplers import SAMPLERS
    from test_tally import TALLY

    return {
        "01-noise.md": NOISE,
        "02-forward.md": FORWARD,
        "03-explore.md": EXPLORER,
        "04-map.md": MAP,
        "05-paths.md": PATHS,
        "06-steps.md": STEPS,
        "07-counted.md": TALLY,
        "08-samplers.md": SAMPLERS,
    }


@pytest.fixture(scope="module")
def every_widget_site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("every"), every_widget_sections())


@pytest.mark.parametrize("width", [320, 390])
def test_every_widget_fits_a_phone_and_runs_without_errors(every_widget_site, browser, width):
    page, watch = open_page(browser, every_widget_site, width=width, height=800)
    for figure in page.locator("figure[data-widget]").all():
        figure.scroll_into_view_if_needed()
        box = figure.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, figure.get_attribute("data-widget")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for slider in page.locator("figure input[type=range]").all():
        slider.scroll_into_view_if_needed()
        assert slider.bounding_box()["height"] >= 24  # big enough for a finger
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


@pytest.fixture(scope="module")
def far_forward_site(tmp_path_factory):
    intro = "---\ntitle: Before it\n---\n" + "\n\n".join(f"Paragraph {i} of the text before it." for i in range(40))
    return tiny_site(tmp_path_factory.mktemp("far"), {"01-intro.md": intro, "02-forward.md": FORWARD})


def test_a_widget_far_below_waits_for_the_reader_and_a_link_still_opens_its_state(far_forward_site, browser):
    page, watch = open_page(browser, far_forward_site, width=390, height=500)
    page.wait_for_timeout(400)
    # Screens away from the reader: the still (the no-JavaScript frame) shows, and no pixels are read yet.
    # (Not is_visible(): a section off screen is not rendered at all, content-visibility: auto.)
    assert page.evaluate(
        "() => document.querySelector('.forward-noisy').hidden && !document.querySelector('.forward-still').hidden"
    )
    page.locator("#forward-widget").scroll_into_view_if_needed()
    page.wait_for_function("() => !document.querySelector('.forward-noisy').hidden")
    page.locator("#forward-widget input[type=range]").fill("10")
    assert "50% picture, 50% noise" in page.locator(".forward-status").inner_text()
    page.context.close()
    linked, watch = open_page(browser, far_forward_site, width=390, height=500, fragment="#forward?step=20&seed=2")
    linked.wait_for_function("() => !document.querySelector('.forward-noisy').hidden")
    assert "Pure noise" in linked.locator(".forward-status").inner_text()
    assert linked.locator("#forward-widget input[type=range]").input_value() == "20"
    assert watch.errors == []
    linked.context.close()

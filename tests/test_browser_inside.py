"""The inside-the-model widgets driven in headless Chromium from file://: the noise schedule,
where each word acts, samplers side by side."""

from __future__ import annotations

import pytest
from browser import open_page
from conftest import STEPPER_SECTION, tiny_site

SCHEDULE = """
    ---
    title: How much noise
    widget: schedule
    settings:
      follow: watch
    sweep:
      prompts: ["a doctor"]
      seeds: [1]
      steps: [3]
      guidance: [4.0]
    ---
    Text.
"""


@pytest.fixture(scope="module")
def schedule_site(tmp_path_factory):
    return tiny_site(
        tmp_path_factory.mktemp("schedule"), {"01-watch.md": STEPPER_SECTION, "02-schedule.md": SCHEDULE}
    )


def test_the_schedule_slider_moves_the_marker_and_the_numbers(schedule_site, browser):
    page, watch = open_page(browser, schedule_site)
    widget = page.locator("#schedule-widget")
    status = widget.locator(".schedule-status")
    assert status.inner_text() == "Step 3 of 3: picture 1.00, noise 0.00."
    end = widget.locator(".schedule-marker").get_attribute("x1")
    widget.locator("input[type=range]").fill("0")
    picture, noise = (
        float(v)
        for v in status.inner_text().removeprefix("Step 0 of 3: picture ").rstrip(".").split(", noise ")
    )
    assert picture < 0.2 and noise > 0.98 and abs(picture**2 + noise**2 - 1) < 0.02
    assert widget.locator(".schedule-marker").get_attribute("x1") != end
    assert widget.locator(".schedule-a").inner_text() == f"{picture:.2f}"
    assert page.evaluate("location.hash") == "#schedule?step=0"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_the_schedule_follows_the_step_through_viewer(schedule_site, browser):
    page, watch = open_page(browser, schedule_site)
    page.locator("#watch-widget .stepper-step").fill("1")
    assert page.locator("#schedule-widget .schedule-status").inner_text().startswith("Step 1 of 3:")
    page.locator("#watch-widget [data-action=prev]").click()
    assert page.locator("#schedule-widget .schedule-status").inner_text().startswith("Step 0 of 3:")
    assert watch.errors == []
    page.context.close()


def test_without_javascript_the_schedule_shows_both_curves_and_numbers(schedule_site, browser):
    page, _ = open_page(browser, schedule_site, java_script_enabled=False)
    widget = page.locator("#schedule-widget")
    assert widget.locator("polyline").count() == 2
    assert "At the start: picture 0." in widget.locator(".widget-note").inner_text()
    assert not widget.locator(".widget-controls").is_visible()
    page.context.close()


ATTENTION = """
    ---
    title: Where each word acts
    widget: attention
    sweep:
      prompts: ["red apple pie", "a doctor"]
      seeds: [1]
      steps: [3]
      guidance: [4.0]
    ---
    Text.
"""


@pytest.fixture(scope="module")
def attention_site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("attention"), {"01-words.md": ATTENTION})


def shares(site) -> dict:
    """Each prompt's attention shares [step][token], from the bundle beside the site."""
    from stepthrough.bundle import read_manifest

    manifest = read_manifest(site.parent / "bundles" / "test-bundle")
    return {t.prompt: t.attention.share for t in manifest.trajectories.values()}


def test_tapping_a_word_and_moving_the_step_change_the_heat_map(attention_site, browser):
    page, watch = open_page(browser, attention_site)
    widget = page.locator("#words-widget")
    heat = widget.locator(".attention-map")
    assert widget.get_by_role("button").all_inner_texts() == ["red", "apple", "pie"]
    assert widget.get_by_role("button", name="red").get_attribute("aria-pressed") == "true"
    red = (heat.get_attribute("style"), heat.screenshot())
    widget.get_by_role("button", name="apple").click()
    assert widget.get_by_role("button", name="apple").get_attribute("aria-pressed") == "true"
    apple = (heat.get_attribute("style"), heat.screenshot())
    assert apple[0] != red[0] and apple[1] != red[1]
    share = shares(attention_site)["red apple pie"][-1][1]  # the last step, "apple"
    assert f"“apple”: {100 * share:.1f}% of the attention" in widget.locator(".attention-status").inner_text()
    widget.locator("input[type=range]").fill("1")
    assert heat.screenshot() != apple[1]
    assert (
        widget.locator(".attention-status").inner_text().startswith("Step 1 of 3 · “red apple pie” · “apple”")
    )
    assert page.evaluate("location.hash") == "#words?prompt=0&word=1&step=1&view=x0"
    widget.locator(".attention-prompt select").select_option("1")
    assert widget.get_by_role("button").all_inner_texts() == ["a", "doctor"]
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_a_link_opens_one_word_at_one_step_over_the_canvas(attention_site, browser):
    page, watch = open_page(browser, attention_site, fragment="#words?prompt=0&word=2&step=2&view=xt")
    widget = page.locator("#words-widget")
    assert widget.get_by_role("button", name="pie").get_attribute("aria-pressed") == "true"
    assert widget.locator("input[value=xt]").is_checked()
    assert widget.locator(".attention-status").inner_text().startswith("Step 2 of 3")
    assert watch.errors == []
    page.context.close()


def test_without_javascript_the_last_steps_map_and_every_words_share_show(attention_site, browser):
    page, _ = open_page(browser, attention_site, java_script_enabled=False)
    widget = page.locator("#words-widget")
    text = widget.locator(".attention-shares").inner_text()
    for token, share in zip(
        ["red", "apple", "pie"], shares(attention_site)["red apple pie"][-1], strict=True
    ):
        assert f"“{token}” gets {100 * share:.1f}%" in text
    assert widget.locator(".attention-map").get_attribute("style").startswith("background-image")
    assert not widget.locator(".attention-controls").is_visible()
    page.context.close()


def test_a_model_without_cross_attention_says_so_on_the_page(tmp_path, browser):
    from conftest import write_content
    from test_attention import NoAttention

    from stepthrough.content import load_content
    from stepthrough.precompute.run import precompute
    from stepthrough.site.build import build_site

    content = load_content(write_content(tmp_path / "content", {"01-words.md": ATTENTION}))
    bundle = precompute(content, tmp_path / "bundles", model=NoAttention(), progress=False)
    site = build_site(content, bundle, tmp_path / "site")
    page, watch = open_page(browser, site)
    assert "offers no maps of where each word acts" in page.locator("#words-widget").inner_text()
    assert watch.errors == []
    page.context.close()

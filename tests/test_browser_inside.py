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

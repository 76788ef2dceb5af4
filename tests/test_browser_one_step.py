"""One step, opened up (widget: inside) in headless Chromium from file://."""

from __future__ import annotations

import pytest
from browser import open_page
from conftest import tiny_site
from test_inside import INSIDE

from stepthrough.bundle import read_manifest
from stepthrough.widgets.inside import step_numbers


@pytest.fixture(scope="module")
def one_step_site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("one-step"), {"01-one.md": INSIDE})


def numbers(site, prompt: str, step: int) -> dict:
    """What the page should say at `step` (1-based), from the bundle beside the site."""
    manifest = read_manifest(site.parent / "bundles" / "test-bundle")
    [t] = [t for t in manifest.trajectories.values() if t.prompt == prompt]
    return step_numbers(t.records["tensors"], manifest.schedule_of(t), step - 1)


def test_moving_the_step_rewrites_the_update_and_the_tiles(one_step_site, browser):
    page, watch = open_page(browser, one_step_site)
    widget = page.locator("#one-widget")
    followed = widget.locator(".inside-followed").first
    assert widget.locator("details[data-part=scheduler]").first.get_attribute("open") is not None
    assert followed.inner_text().splitlines() == numbers(one_step_site, "red apple pie", 2)["followed"]
    tile = widget.locator(".inside-latent .thumb").first
    before = tile.get_attribute("style")
    widget.locator("input[type=range]").fill("4")
    assert followed.inner_text().splitlines() == numbers(one_step_site, "red apple pie", 4)["followed"]
    assert tile.get_attribute("style") != before
    assert widget.locator(".inside-step").first.inner_text() == "4"
    assert page.evaluate("() => location.hash") == "#one?prompt=red+apple+pie&step=4&open=scheduler"  # by name
    widget.locator("details[data-part=text] > summary").first.click()
    assert page.evaluate("() => location.hash") == "#one?prompt=red+apple+pie&step=4&open=text%2Cscheduler"
    assert widget.get_by_text("apple", exact=True).first.is_visible()
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_a_link_opens_a_prompt_at_a_step_with_its_boxes(one_step_site, browser):
    page, watch = open_page(browser, one_step_site, fragment="#one?prompt=1&step=1&open=denoiser,decoder")
    widget = page.locator("#one-widget")
    shown = widget.locator(".inside-trajectory:visible")
    assert shown.count() == 1 and "“a doctor”" in shown.locator(".inside-status").inner_text()
    assert shown.locator("details[data-part=denoiser]").get_attribute("open") is not None
    assert shown.locator("details[data-part=scheduler]").get_attribute("open") is None
    assert widget.locator(".inside-prompt select").input_value() == "1"
    assert watch.errors == []
    page.context.close()


def test_without_javascript_the_boxes_open_and_show_the_middle_step(one_step_site, browser):
    page, _ = open_page(browser, one_step_site, java_script_enabled=False)
    widget = page.locator("#one-widget")
    assert not widget.locator(".inside-controls").is_visible()
    box = widget.locator("details[data-part=text]").first
    box.locator("summary").click()  # the browser's own <details>, no script needed
    assert box.locator(".inside-tokens li").all_inner_texts()[0].split() == ["red", str(_id("red"))]
    text = widget.locator(".inside-followed").first.inner_text()
    assert text.splitlines() == numbers(one_step_site, "red apple pie", 2)["followed"]
    page.context.close()


def test_on_a_phone_the_boxes_fit_the_screen(one_step_site, browser):
    page, watch = open_page(
        browser, one_step_site, width=320, fragment="#one?step=3&open=text,denoiser,scheduler,decoder"
    )
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    summary = page.locator("#one-widget details[data-part=decoder] > summary").first
    assert summary.bounding_box()["height"] >= 44  # a thumb-sized target
    assert watch.errors == []
    page.context.close()


def _id(word: str) -> int:
    import hashlib

    return int(hashlib.sha256(word.encode()).hexdigest()[:4], 16)  # tiny_model's token ids

"""Paths through latent space and the prompt-embedding map, driven in headless Chromium from file://."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import launch, open_page
from conftest import write_content
from test_project import MAP, PATHS

from stepthrough.build.site import build_site
from stepthrough.content import load_content
from stepthrough.precompute.run import precompute

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from tiny_model import TinyModel

    root = tmp_path_factory.mktemp("projections")
    content = load_content(write_content(root / "content", {"01-map.md": MAP, "02-paths.md": PATHS}))
    bundle = precompute(content, root / "bundles", model=TinyModel(), progress=False)
    return build_site(content, bundle, root / "site")


@pytest.fixture(scope="module")
def browser():
    with launch() as browser:
        yield browser


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

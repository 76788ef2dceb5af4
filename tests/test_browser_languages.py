"""A right-to-left page in headless Chromium: Arabic at a phone's width, every widget started,
its words in Arabic, and ← going forward (the page's reading direction)."""

from __future__ import annotations

import pytest
from browser import open_page
from conftest import tiny_site

SITE = 'title = "Test site"\nmodel = "builtin"\nbundle = "test-bundle"\nlanguage = "ar"\n'


@pytest.fixture(scope="module")
def arabic_site(tmp_path_factory):
    from test_browser_widgets import every_widget_sections

    return tiny_site(tmp_path_factory.mktemp("ar"), every_widget_sections(), site=SITE)


def test_an_arabic_page_is_right_to_left_and_every_widget_starts_on_a_phone(arabic_site, browser):
    page, watch = open_page(browser, arabic_site, width=390, height=800)
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    for figure in page.locator("figure[data-widget]").all():
        figure.scroll_into_view_if_needed()
        page.wait_for_function("(f) => f.hasAttribute('data-ready')", arg=figure.element_handle())
        box = figure.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, figure.get_attribute("data-widget")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_on_a_right_to_left_page_the_left_arrow_goes_to_the_next_step(arabic_site, browser):
    page, watch = open_page(browser, arabic_site, width=390, height=800)
    stepper = page.locator("figure[data-widget=stepper]").first
    stepper.scroll_into_view_if_needed()
    page.wait_for_function("(f) => f.hasAttribute('data-ready')", arg=stepper.element_handle())
    frame = stepper.locator(".stepper-frame")
    frame.press("Home")
    frame.press("ArrowLeft")
    status = stepper.locator(".stepper-status").inner_text()
    assert status.startswith("الخطوة ١ من")  # step 1, in Arabic words and digits
    frame.press("ArrowRight")
    assert stepper.locator(".stepper-status").inner_text().startswith("الخطوة ٠ من")
    play = stepper.locator("[data-action=play]")
    play.click()
    assert play.get_attribute("aria-label") == "إيقاف مؤقت"
    assert watch.errors == []
    page.context.close()

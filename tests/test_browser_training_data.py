"""The training data panel in headless Chromium from file://: its pictures and counts without
scripts, a bar that outlines the pictures it counts, a 320-px phone, and labels a screen reader reads."""

from __future__ import annotations

import pytest
from browser import open_page
from conftest import write_content
from training_data_card import CardModel, tiny_card

from stepthrough.content import load_content
from stepthrough.precompute.run import precompute
from stepthrough.site.build import build_site

SECTION = """
    ---
    title: The pictures behind it
    widget: training-data
    settings:
      prompt: a doctor
    ---
    Where the default comes from.
"""
PANEL = "#the-pictures-behind-it-widget"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("training-data")
    site = 'title = "Test site"\nmodel = "tiny-test"\nbundle = "test-bundle"\n'
    content = load_content(
        write_content(root / "content", {"01-the-pictures-behind-it.md": SECTION}, site=site)
    )
    bundle = precompute(content, root / "bundles", model=CardModel(tiny_card(root / "card")), progress=False)
    return build_site(content, bundle, root / "site")


SHOWN = """(panel) => Array.from(panel.querySelectorAll('.data-thumbs .thumb')).map((t) => {
  const r = t.getBoundingClientRect(), css = getComputedStyle(t);
  return {label: t.getAttribute('aria-label'), w: r.width, h: r.height, image: css.backgroundImage,
          dimmed: t.parentNode.classList.contains('is-dimmed'), chosen: t.parentNode.classList.contains('is-chosen')};
})"""


def test_without_scripts_the_panel_shows_every_picture_and_the_counts(site, browser):
    page, watch = open_page(browser, site, java_script_enabled=False)
    panel = page.locator(PANEL)
    assert panel.evaluate(SHOWN) == []  # the pictures one by one come with the data file
    sheet = panel.locator("img.data-sheet")
    sheet.scroll_into_view_if_needed()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=sheet.element_handle())
    # one sheet of all 14 pictures (12 health workers, 2 apples: "doctor" captions both), each named
    width, height = sheet.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
    assert width == 14 * height
    assert sheet.bounding_box()["width"] > 200
    alt = sheet.get_attribute("alt")
    assert alt.startswith("The 14 training pictures of these groups: ") and "man health worker: dark skin tone" in alt
    assert "14 training pictures behind “a doctor”" in panel.inner_text()
    assert panel.locator("table caption").all_inner_texts() == [
        "A person or not", "The people: skin tone in the name", "The people: gender in the name",
    ]  # fmt: skip
    assert watch.outside_requests == []
    page.context.close()


def test_the_pictures_one_by_one_replace_the_sheet_when_the_reader_nears_them(site, browser):
    html = (site / "index.html").read_text(encoding="utf-8")
    assert 'class="data-thumbs"' not in html  # they travel in the widget's data file, not in the page
    page, watch = open_page(browser, site, width=390, height=700)
    panel = page.locator(PANEL)
    panel.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('.data-thumbs .thumb').length === 14")
    thumbs = panel.evaluate(SHOWN)
    assert all(t["w"] > 10 and t["h"] > 10 and "url(" in t["image"] for t in thumbs)
    assert panel.locator("img.data-sheet").count() == 0
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_choosing_a_bar_outlines_the_pictures_it_counts(site, browser):
    page, watch = open_page(browser, site)
    panel = page.locator(PANEL)
    button = panel.get_by_role("button", name="dark: 6 of 12 pictures")
    button.click()
    thumbs = panel.evaluate(SHOWN)
    assert sorted(t["label"] for t in thumbs if t["chosen"]) == sorted(
        f"{who}health worker: dark skin tone ({style})"
        for who in ("", "woman ", "man ")
        for style in ("noto", "3d")
    )
    assert all(t["dimmed"] for t in thumbs if not t["chosen"])
    assert button.get_attribute("aria-pressed") == "true"
    assert panel.locator(".data-status").inner_text() == "6 of 12 pictures: dark."
    button.click()
    assert not any(t["dimmed"] or t["chosen"] for t in panel.evaluate(SHOWN))
    objects = panel.get_by_role("button", name="not a person: 2 of 14 pictures")
    objects.click()
    assert sorted(t["label"] for t in panel.evaluate(SHOWN) if t["chosen"]) == ["red apple (3d)", "red apple (noto)"]
    assert panel.locator(".data-status").inner_text() == "2 of 14 pictures: not a person."
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_on_a_320_px_phone_the_panel_fits_and_its_pictures_wrap(site, browser):
    page, watch = open_page(browser, site, width=320, height=568)
    panel = page.locator(PANEL)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320
    rows = panel.evaluate(
        "(p) => Array.from(p.querySelectorAll('.data-thumbs')).map((ul) => ul.getBoundingClientRect().right)"
    )
    assert rows and max(rows) <= 320
    assert watch.errors == []
    page.context.close()


def test_a_screen_reader_hears_each_style_and_each_picture_by_name(site, browser):
    page, _ = open_page(browser, site)
    panel = page.locator(PANEL)
    assert panel.locator(".data-thumbs").evaluate_all(
        "(uls) => uls.map((ul) => ul.getAttribute('aria-label'))"
    ) == [
        "6 pictures in the noto style",
        "6 pictures in the 3d style",
        "2 pictures of red apple, one per style",
    ]
    assert panel.get_by_role("img", name="man health worker (3d)", exact=True).count() == 1
    page.context.close()

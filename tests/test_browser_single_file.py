"""The single-file export in headless Chromium: that one page alone in a folder, opened from file://."""

from __future__ import annotations

import io
import shutil

import pytest
from browser import open_page
from conftest import STEPPER_SECTION, tiny_site
from PIL import Image

from stepthrough.site.single_file import single_file

# The stepper's sweep in a second widget: one sprite sheet serves two widgets.
COMPARE_SECTION = STEPPER_SECTION.replace("widget: stepper", "widget: compare").replace(
    "title: Watch it denoise", "title: Side by side"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the site folder, the single file copied alone into an empty folder under another name)."""
    root = tmp_path_factory.mktemp("single")
    site = tiny_site(root / "built", {"01-watch.md": STEPPER_SECTION, "02-side.md": COMPARE_SECTION})
    alone = root / "alone"
    alone.mkdir()
    return site, shutil.copyfile(single_file(site)[0], alone / "explainer.html")


def shot(page, selector: str) -> bytes:
    return page.locator(selector).first.screenshot()


def test_the_single_file_alone_drives_its_widgets_and_requests_nothing_but_itself(built, browser):
    _, page_file = built
    page, watch = open_page(browser, page_file)
    final = shot(page, ".stepper-frame")
    page.locator(".stepper-step").focus()
    page.keyboard.press("Home")
    assert page.locator(".stepper-count").inner_text() == "0 / 3"
    noise = shot(page, ".stepper-frame")
    page.keyboard.press("ArrowRight")
    assert page.locator(".stepper-count").inner_text() == "1 / 3"
    assert len({final, noise, shot(page, ".stepper-frame")}) == 3
    page.get_by_label("Prompt").select_option(label="red apple")
    assert "red apple" in page.locator(".stepper-frame").get_attribute("aria-label")
    assert shot(page, ".stepper-frame") not in (final, noise)

    tile = shot(page, ".compare .thumb")
    page.locator(".compare input[type=range]").fill("0")
    assert page.locator(".compare .widget-count").inner_text() == "0%"
    assert shot(page, ".compare .thumb") != tile

    assert watch.errors == [] and watch.outside_requests == []
    assert watch.file_requests == [page_file.resolve().as_uri()]
    page.context.close()


def test_without_javascript_the_single_file_shows_the_same_finished_pictures_as_the_folder(built, browser):
    site, page_file = built
    shown = []
    for target in (site, page_file):
        page, watch = open_page(browser, target, java_script_enabled=False)
        shown.append([shot(page, ".stepper-frame"), shot(page, ".compare .thumb")])
        assert watch.outside_requests == []
        page.context.close()
    assert shown[0] == shown[1]
    for picture in shown[1]:  # a picture, not the empty box of a frame that failed to load
        assert len(Image.open(io.BytesIO(picture)).convert("RGB").getcolors(1 << 24)) > 20


def test_the_single_file_holds_each_widgets_data_inline_and_names_no_data_file(built):
    site, page_file = built
    text = page_file.read_text(encoding="utf-8")
    assert 'src="assets/data/' not in text and "document.currentScript.stepthroughData =" not in text
    assert text.count('<script type="application/json" class="widget-data">') == 2
    assert len(list((site / "assets" / "data").glob("*.js"))) == 2  # the folder keeps them as files

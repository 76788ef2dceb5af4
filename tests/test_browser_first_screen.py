"""The first screen paints from the page alone: its CSS is inline, the whole stylesheet loads beside
the page and, once applied, moves nothing the reader already sees (headless Chromium, file://)."""

from __future__ import annotations

import re
import shutil

import pytest
from browser import open_page
from conftest import STEPPER_SECTION, tiny_site
from test_browser_widgets import FORWARD
from test_project import MAP, PATHS

# Boxes of everything on the first screen, as far as the viewport shows them; the stylesheet's state.
BOXES = """() => Array.from(document.querySelectorAll("body *")).map((el) => {
  const r = el.getBoundingClientRect();
  return r.top < innerHeight && r.bottom > 0 && r.width > 0
    ? [el.tagName, el.className.baseVal ?? el.className, Math.round(r.x), Math.round(r.y),
       Math.round(r.width), Math.round(Math.min(r.bottom, innerHeight))].join(" ")
    : null;
}).filter(Boolean)"""
APPLIED = "() => document.getElementById('stepthrough-style').media === 'all'"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """(the site, a copy without style.css: what a reader sees before the stylesheet arrives)."""
    root = tmp_path_factory.mktemp("first-screen")
    sections = {
        "01-watch.md": STEPPER_SECTION,
        "02-forward.md": FORWARD,
        "03-map.md": MAP,
        "04-paths.md": PATHS,
    }
    site = tiny_site(root, sections)
    early = shutil.copytree(site, root / "early")
    (early / "assets" / "style.css").unlink()
    return site, early


def test_the_first_screen_waits_for_no_stylesheet_or_script_file(sites):
    html = (sites[0] / "index.html").read_text()
    head = html[: html.index("</head>")]
    assert '<link rel="stylesheet" href="assets/style.css" media="print" id="stepthrough-style">' in head
    assert '<noscript><link rel="stylesheet" href="assets/style.css"></noscript>' in head
    assert "<script src=" not in head  # the one head script is inline, allowed by its hash
    inline = head[head.index('<style id="stepthrough-first-screen">') :].split("</style>")[0]
    css = (sites[0] / "assets" / "style.css").read_text()
    rules = re.findall(r"(?:^|[{}])([^{}@]+)\{", inline.split(">", 1)[1])  # each rule's selectors
    assert ".stepper-frame" in rules and ".site-header" in rules  # the first section's widget
    assert ".paths" not in rules and ".map-point" not in rules  # widgets further down: not inline
    assert len(inline) < len(css) / 3


@pytest.mark.parametrize("width", [320, 390, 900, 1280])
def test_the_whole_stylesheet_moves_nothing_on_the_first_screen(sites, browser, width):
    site, early = sites
    before, _ = open_page(browser, early, width=width, height=800)
    before.wait_for_load_state("load")
    assert not before.evaluate(APPLIED)
    after, watch = open_page(browser, site, width=width, height=800)
    after.wait_for_function(APPLIED)
    boxes = before.evaluate(BOXES)
    assert len(boxes) > 20 and boxes == after.evaluate(BOXES)
    # Further down, the stylesheet's rules apply: the paths widget has its panel.
    border = "el => getComputedStyle(el).borderTopStyle"
    assert after.locator("#paths-widget").evaluate(border) == "solid"
    assert before.locator("#paths-widget").evaluate(border) == "none"
    assert watch.errors == [] and watch.outside_requests == []
    before.context.close()
    after.context.close()


def test_without_javascript_the_stylesheet_is_an_ordinary_one(sites, browser):
    page, _ = open_page(browser, sites[0], java_script_enabled=False)
    assert page.locator("#paths-widget").evaluate("el => getComputedStyle(el).borderTopStyle") == "solid"
    assert not page.locator("#watch-widget .stepper-controls").is_visible()
    page.context.close()


def test_the_single_file_has_the_whole_stylesheet_inline_and_its_head_script_allowed(
    sites, browser, tmp_path
):
    from stepthrough.site.single_file import single_file

    alone = tmp_path / "alone"
    alone.mkdir()
    page_file = shutil.copyfile(single_file(sites[0])[0], alone / "explainer.html")
    text = page_file.read_text()
    assert "<noscript>" not in text and 'media="print"' not in text and '<link rel="stylesheet"' not in text
    page, watch = open_page(browser, page_file)
    assert page.evaluate("() => document.documentElement.classList.contains('js')")  # the head script ran
    assert page.locator("#paths-widget").evaluate("el => getComputedStyle(el).borderTopStyle") == "solid"
    assert watch.errors == [] and watch.file_requests == [page_file.as_uri()]
    page.context.close()

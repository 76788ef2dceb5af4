"""Classroom v2 in headless Chromium from file://, on one site with a widget of every kind, far
apart: the handout prints every widget in its lesson state with its pictures (from a fresh load and
after the reader moved it), every control is a finger's width, nothing overlaps at 320 px, every
slide fits a projector, and axe-core finds no control whose visible text is not in its name."""

from __future__ import annotations

import io
import re
import textwrap

import pytest
from browser import open_page
from conftest import STEPPER_SECTION, write_content
from test_browser_inside import ATTENTION, SCHEDULE
from test_browser_widgets import FORWARD, NOISE, STEPS
from test_inside import INSIDE
from test_particles_content import PARTICLES
from test_project import MAP, PATHS
from test_samplers import SAMPLERS
from test_tally import TALLY
from test_training_data import SECTION as TRAINING_DATA
from training_data_card import CardModel, tiny_card

TEXT = "\n\n".join(["Words to read about diffusion, one sentence after another. " * 12] * 4)
WIDGETS = {
    "noise": NOISE,
    "forward": FORWARD,
    "schedule": SCHEDULE,
    "particles": PARTICLES,
    "watch": STEPPER_SECTION,
    "attention": ATTENTION,
    "inside": INSIDE,
    "tally": TALLY,
    "data": TRAINING_DATA,
    "map": MAP,
    "paths": PATHS,
    "steps": STEPS,
    "samplers": SAMPLERS,
}


def handout_site(root, more: dict[str, str] | None = None, practice: str | None = None):
    """Each widget after a screenful of text or more, so that most are far from a fresh load's
    first screen (then the sections `more`, and a practice page)."""
    from stepthrough.content import load_content
    from stepthrough.precompute.run import precompute
    from stepthrough.site.build import build_site

    sections = {}
    for i, (name, text) in enumerate(WIDGETS.items()):
        text = re.sub(r"\ntitle: [^\n]*", f"\ntitle: {name.title()}", textwrap.dedent(text).strip(), count=1)
        sections[f"{i:02d}-{name}.md"] = text.rstrip() + "\n\n" + TEXT + "\n"
    toml = 'title = "Handout"\nmodel = "tiny-test"\nbundle = "handout"\n'
    content = load_content(write_content(root / "content", sections | (more or {}), site=toml, practice=practice))
    bundle = precompute(content, root / "bundles", model=CardModel(tiny_card(root / "card")), progress=False)
    return build_site(content, bundle, root / "site")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return handout_site(tmp_path_factory.mktemp("handout"))


# Each printed widget (a started widget prints its lesson-state copy, common.js) and its pictures:
# an <img> (a sprite frame prints through one inside its frame: measure the frame) or a drawing.
# Each picture is marked with its widget, to be screenshot one by one.
MARK_PRINTED = """() => Array.from(document.querySelectorAll("[data-widget]:not(.is-print-hidden), .widget-print")).flatMap((f) =>
  Array.from(f.querySelectorAll("img, svg[role=img]")).map((p) => p.matches(".print-picture") ? p.parentElement : p)
    .filter((p) => p.getClientRects().length && getComputedStyle(p).visibility !== "hidden")
    .map((p) => { p.dataset.printed = f.className.split(" ")[0]; return p.dataset.printed; }))"""
LOADED = "(p) => (p.matches('img') ? [p] : Array.from(p.querySelectorAll('img'))).every((i) => i.complete)"


def printed_pictures(page) -> dict[str, list[float]]:
    """The print view as print makes it (its beforeprint, print media): each widget's pictures, as
    the spread of their pixel values (0: blank)."""
    from PIL import Image, ImageStat

    page.evaluate("() => dispatchEvent(new Event('beforeprint'))")
    page.emulate_media(media="print")
    assert (
        page.locator(".print-picture ~ .print-picture").count() == 0
    )  # one per frame, however often printed
    spreads: dict[str, list[float]] = {}
    for i, widget in enumerate(page.evaluate(MARK_PRINTED)):
        picture = page.locator("[data-printed]").nth(i)
        picture.scroll_into_view_if_needed()
        page.wait_for_function(LOADED, arg=picture.element_handle())
        shot = Image.open(io.BytesIO(picture.screenshot()))
        spreads.setdefault(widget, []).append(max(ImageStat.Stat(shot.convert("RGB")).stddev))
    page.evaluate(
        "() => document.querySelectorAll('[data-printed]').forEach((p) => delete p.dataset.printed)"
    )
    page.emulate_media(media="screen")
    page.evaluate("() => dispatchEvent(new Event('afterprint'))")
    return spreads


def test_a_fresh_load_prints_every_widget_with_its_pictures(site, browser):
    page, watch = open_page(browser, site, width=1280, height=900)
    assert page.locator("[data-ready]").count() < len(WIDGETS)  # most have not started
    pdf = page.pdf()
    sources = page.evaluate(
        "() => new Set(Array.from(document.querySelectorAll('[data-widget] img')).map((i) => i.src)).size"
    )
    assert len(re.findall(rb"/Subtype\s*/Image", pdf)) >= sources
    assert page.locator(".print-picture, .widget-print").count() == 0  # all gone again after printing
    spreads = printed_pictures(page)
    assert set(spreads) == {
        "noise-canvas",
        "forward",
        "schedule",
        "particles",
        "stepper",
        "attention",
        "inside",
        "tally",
        "training-data",
        "embedding-map",
        "paths",
        "compare",
        "samplers",
    }
    blank = {
        widget: sum(s < 3 for s in values)
        for widget, values in spreads.items()
        if not values or min(values) < 3
    }
    assert blank == {}, spreads
    assert watch.errors == []
    page.context.close()


def test_after_the_reader_moves_a_widget_it_still_prints_its_lesson_state(site, browser):
    page, watch = open_page(browser, site, width=1280, height=900, fragment="#watch?step=0")
    page.locator("#watch-widget").scroll_into_view_if_needed()
    page.wait_for_selector("#watch-widget[data-ready]")
    assert page.locator("#watch-widget .stepper-count").inner_text().startswith("0 /")
    moved = printed_pictures(page)["stepper"]
    fresh, _ = open_page(browser, site, width=1280, height=900)
    lesson = printed_pictures(fresh)["stepper"]
    assert moved == pytest.approx(lesson, abs=0.5)  # the finished picture, not the noise on screen
    # and its status line with it: the copy's, not the live one's
    page.evaluate("() => dispatchEvent(new Event('beforeprint'))")
    page.emulate_media(media="print")
    assert page.locator("#watch .widget-print .stepper-status").inner_text().startswith("Step 3 of 3")
    assert page.locator("#watch-widget").is_hidden()
    assert watch.errors == []
    page.context.close()
    fresh.context.close()


TARGETS = """(root) => {
  const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1']), [role=button]";
  const small = [];
  for (const el of document.querySelector(root || "body").querySelectorAll(controls)) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || r.right <= 0 || r.left >= innerWidth || el.closest(".visually-hidden")) continue;
    if (getComputedStyle(el).visibility === "hidden") continue;
    if (el.matches("a") && el.closest("p, li, td") && !el.closest("nav")) continue;  // WCAG's exception: a link in a sentence
    const label = el.closest("label") || (el.id && document.querySelector(`label[for="${el.id}"]`));
    if ([r, label && label.getBoundingClientRect()].some((b) => b && b.width >= 43.5 && b.height >= 43.5)) continue;
    small.push(`${el.tagName}.${el.className || el.type} “${(el.textContent || el.ariaLabel || "").trim().slice(0, 30)}” ${Math.round(r.width)}×${Math.round(r.height)}`);
  }
  return small;
}"""


def start_every_widget(page) -> None:
    page.add_style_tag(content=".section { content-visibility: visible !important; }")
    for figure in page.locator("figure[data-widget]").all():
        figure.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => document.querySelectorAll('figure[data-widget]:not([data-ready])').length === 0"
    )
    page.evaluate("() => window.scrollTo(0, 0)")


@pytest.mark.parametrize("width", [320, 390, 1280])
def test_every_control_is_a_fingers_width(site, browser, width):
    page, watch = open_page(browser, site, width=width, height=800)
    start_every_widget(page)
    assert page.evaluate(TARGETS) == []
    page.locator(".skip").focus()  # the skip link, once it shows
    assert page.evaluate(TARGETS) == []
    assert watch.errors == []
    page.context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_every_controls_visible_text_is_part_of_its_name(site, browser, width):
    """axe-core's label-content-name-mismatch: voice control users say what they see."""
    axe = pytest.importorskip("axe_playwright_python")
    from pathlib import Path

    page, _ = open_page(browser, site, width=width, height=800, bypass_csp=True)
    start_every_widget(page)
    page.locator("#watch-widget [data-action=play]").click()  # playing: the button says Pause
    page.add_script_tag(path=str(Path(axe.__file__).with_name("axe.min.js")))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: ['label-content-name-mismatch', 'target-size', 'label', 'button-name']})"
    )
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]] == []
    page.context.close()


# At 320 px: every widget's words (each line of each text) and its pictures and controls, none of
# them past its widget's edges or under another. (A closed <details> keeps stale boxes: skipped.)
CROWDED = """() => {
  const found = [];
  const shown = (el) => el.getClientRects().length && !el.closest(".visually-hidden, details:not([open]) > :not(summary)")
    && getComputedStyle(el).visibility !== "hidden";
  for (const figure of document.querySelectorAll("figure[data-widget]")) {
    const edge = figure.getBoundingClientRect(), items = [];
    const walker = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
    for (let node; (node = walker.nextNode()); ) {
      if (!node.textContent.trim() || !shown(node.parentElement) || node.parentElement.closest("svg")) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) items.push({ node, r, what: `“${node.textContent.trim().slice(0, 24)}”` });
    }
    for (const el of figure.querySelectorAll("img, svg, canvas, input, select, button, .thumb, .stepper-frame")) {
      if (shown(el) && !el.parentElement.closest("svg")) items.push({ node: el, r: el.getBoundingClientRect(), what: el.tagName + "." + (el.className.baseVal ?? el.className) });
    }
    for (const [i, a] of items.entries()) {
      const clip = a.node.parentElement.closest(".map-frame");  // scrolls sideways where it must
      if (!clip && (a.r.left < edge.left - 0.5 || a.r.right > edge.right + 0.5)) found.push(`${figure.id}: ${a.what} past the edge`);
      for (const b of items.slice(i + 1)) {
        if (a.node.contains(b.node) || b.node.contains(a.node)) continue;
        const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
        const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
        if (w > 1 && h > 1) found.push(`${figure.id}: ${a.what} over ${b.what}`);
      }
    }
  }
  return found;
}"""
SPLIT_WORDS = """() => Array.from(document.querySelectorAll("figure[data-widget] :is(th, td, button, label, span)")).flatMap((el) =>
  Array.from(el.childNodes).filter((n) => n.nodeType === 3 && el.getClientRects().length).flatMap((n) => {
    const words = [], text = n.textContent;
    for (const m of text.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(n, m.index);
      range.setEnd(n, m.index + m[0].length);
      const lines = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
      if (lines.size > 1 && !/[-/]/.test(m[0])) words.push(m[0]);  // a word cut across two lines
    }
    return words;
  }))"""


def test_at_320_px_nothing_is_cut_or_runs_into_something_else(site, browser):
    page, watch = open_page(browser, site, width=320, height=640)
    start_every_widget(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.evaluate(CROWDED) == []
    assert page.evaluate(SPLIT_WORDS) == []
    # the word map fits whole: a map that scrolls sideways hid groups past its edge
    assert page.evaluate(
        "Array.from(document.querySelectorAll('.map-frame')).every((f) => f.scrollWidth <= f.clientWidth + 1)"
    )
    assert watch.errors == []
    page.context.close()


# Presenting: every element of the slide inside the screen, above the presenter's bar.
OFF_SLIDE = """() => {
  const slide = document.querySelector(".section.is-current"), bar = document.querySelector(".present-bar").getBoundingClientRect();
  return [slide, ...slide.querySelectorAll("*")].filter((el) => {
    if (!el.getClientRects().length || el.closest(".visually-hidden, details:not([open]) > :not(summary)")) return false;
    const r = el.getBoundingClientRect();
    return r.width && r.height && (r.top < -1 || r.left < -1 || r.right > innerWidth + 1 || r.bottom > bar.top + 1);
  }).map((el) => `${slide.id}: ${el.tagName}.${el.className.baseVal ?? el.className}`);
}"""


@pytest.mark.parametrize("size", [(1280, 720), (1024, 768)])
def test_every_slide_fits_the_projector_and_its_controls_a_finger(site, browser, size):
    page, watch = open_page(browser, site, width=size[0], height=size[1], fragment="#present")
    off = []
    for i in range(page.locator(".present-strip button").count()):
        page.locator(".present-strip button").nth(i).click()
        page.wait_for_function(
            "() => { const f = document.querySelector('.section.is-current [data-widget]'); return !f || f.hasAttribute('data-ready'); }"
        )
        page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        off += page.evaluate(OFF_SLIDE) + page.evaluate(
            TARGETS, ".present-bar"
        )  # the bar's controls a finger's size too
    assert off == []
    assert watch.errors == []
    page.context.close()

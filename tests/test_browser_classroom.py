"""What a teacher leans on, in headless Chromium from file://: links that land at the widget on a
phone and a laptop, a printout with its pictures, sliders with room, a widget that follows the
text on a phone, a screen reader told one sentence rather than ten a second, one tab stop per
picture grid, and no accessibility violations that axe-core finds."""

from __future__ import annotations

import re

import pytest
from browser import open_page
from conftest import tiny_site

LONG = "Words to read about diffusion. " * 45
# A tall text section first, so the widgets sit far below the first screen, then widget
# sections whose texts run on, as in the default explainer.
SECTIONS = {
    "00-intro.md": "---\ntitle: Intro\n---\n" + "\n\n".join([LONG] * 6),
    "01-watch.md": f"""
        ---
        title: Watch it denoise
        widget: stepper
        caption: Drag the slider.
        sweep:
          prompts: ["a doctor", "red apple", "cat face"]
          seeds: [1]
          steps: [6]
        ---
        {LONG}

        {LONG}

        {LONG}
    """,
    "02-middle.md": "---\ntitle: Middle\n---\n" + "\n\n".join([LONG] * 4),
    "03-side.md": f"""
        ---
        title: Side by side
        widget: compare
        settings:
          label: steps
          reference: most-steps
        sweep:
          prompts: ["a cat"]
          steps: [1, 2, 3, 6]
        ---
        {LONG}

        {LONG}

        {LONG}
    """,
    "04-counted.md": """
        ---
        title: Counted
        widget: tally
        sweep:
          prompts: ["a doctor"]
          seeds: {from: 0, count: 12}
          steps: [3]
        settings:
          compare_with:
            - {prompt: "red apple", tags: {colour: red}}
            - {prompt: "a cat", tags: {colour: grey}}
        ---
        The pictures, counted.
    """,
}
VISIBLE = """(el) => {
  const r = el.getBoundingClientRect(), vh = innerHeight;
  return Math.max(0, Math.min(r.bottom, vh) - Math.max(r.top, 0)) / Math.min(r.height, vh);
}"""
SIZES = {320: 568, 390: 844, 1280: 800}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("classroom"), SECTIONS)


def frames(page, n: int = 2) -> None:
    page.evaluate(
        f"new Promise(done => {{ let k = {n}; (function f() {{ --k ? requestAnimationFrame(f) : done(); }})(); }})"
    )


@pytest.mark.parametrize("width", [320, 390, 1280])
@pytest.mark.parametrize("link", ["#watch?step=2", "#watch", "#side?at=3", "#side", "#counted"])
def test_a_link_lands_with_its_widget_in_view(site, browser, width, link):
    page, watch = open_page(browser, site, width=width, height=SIZES[width], fragment=link)
    page.wait_for_timeout(400)  # sections render and change height: the landing aims again
    frames(page, 4)
    widget = page.locator(f"#{link[1:].split('?')[0]}-widget")
    assert widget.evaluate(VISIBLE) >= 0.6
    if "?" in link:
        assert page.evaluate("location.hash") == link  # the state stays as linked
    assert watch.errors == []
    page.context.close()


def test_an_in_page_link_lands_too(site, browser):
    page, _ = open_page(browser, site, width=390, height=844)
    page.evaluate("""() => { const a = document.createElement('a'); a.href = '#counted'; a.id = 'go';
                             a.textContent = 'go'; document.querySelector('#intro .prose').prepend(a); }""")
    page.locator("#go").click()
    page.wait_for_timeout(400)
    frames(page, 4)
    assert page.locator("#counted-widget").evaluate(VISIBLE) >= 0.6
    page.context.close()


def test_the_printout_has_every_picture_whatever_the_background_setting(site, browser):
    page, watch = open_page(browser, site)
    # The Default Test is far below: until the reader nears it, its pictures are one sheet picture.
    assert page.locator("#counted-widget .thumb").count() == 0
    pictures = page.locator(".stepper-frame, .thumb, .tally-still").count()
    pdf = page.pdf(print_background=False)
    # One image per sprite sheet that is drawn: the stepper and compare sheets, the tally's sheet.
    images = len(re.findall(rb"/Subtype\s*/Image", pdf))
    assert images >= 4 + 1 and pictures >= 4 + 1
    # Neared, the tally shows (and prints) each picture on its own.
    page.locator("#counted-widget").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('#counted-widget .thumb').length >= 12")
    assert len(re.findall(rb"/Subtype\s*/Image", page.pdf(print_background=False))) >= 4 + 12
    page.evaluate("() => window.scrollTo(0, 0)")
    # Printed from a phone-sized window, in the middle of a section's text (its widget compact).
    page.set_viewport_size({"width": 700, "height": 900})
    page.locator("#watch .prose p").first.evaluate("p => p.scrollIntoView({block: 'center', behavior: 'instant'})")
    page.wait_for_selector("#watch.is-following", timeout=5000)  # its observer fires a few frames on
    page.emulate_media(media="print")
    assert page.locator(".stepper-controls").is_hidden() and page.locator(".widget-controls").is_hidden()
    for caption in (".stepper-status", ".stepper-caption"):  # the picture's caption prints with it
        assert page.locator(caption).is_visible()
    assert page.locator("#counted-widget").evaluate("el => getComputedStyle(el).breakInside") == "avoid"
    assert watch.errors == []
    page.context.close()


@pytest.mark.parametrize("selector", [".stepper-step", "#side-widget input[type=range]"])
def test_a_slider_has_a_full_row_on_a_small_phone(site, browser, selector):
    page, _ = open_page(
        browser,
        site,
        width=320,
        height=568,
        fragment="#" + ("watch?step=2" if "stepper" in selector else "side?at=2"),
    )
    page.wait_for_timeout(300)
    assert page.locator(selector).bounding_box()["width"] >= 200
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.context.close()


def test_on_a_phone_the_widget_stays_in_view_while_its_paragraphs_scroll_by(site, browser):
    page, watch = open_page(browser, site, width=390, height=844)
    seen = []
    for section in ("watch", "side"):
        paragraphs = page.locator(f"#{section} .prose > p")
        for i in range(paragraphs.count()):
            for _ in range(3):  # the sections above render as they come near: aim again
                paragraphs.nth(i).evaluate("p => p.scrollIntoView({block: 'center', behavior: 'instant'})")
                frames(page, 3)
            seen.append(page.locator(f"#{section}-widget").evaluate(VISIBLE) >= 0.5)
    assert sum(seen) / len(seen) >= 0.8
    # Past the text the whole widget, with its controls, is back in its place.
    page.locator("#watch-widget").evaluate("el => el.scrollIntoView({block: 'start', behavior: 'instant'})")
    frames(page, 3)
    assert page.locator("#watch .stepper-step").is_visible()
    assert watch.errors == []
    page.context.close()


def test_playing_tells_a_screen_reader_once_when_it_stops_not_every_frame(site, browser):
    page, watch = open_page(browser, site, fragment="#watch?step=0")
    page.evaluate(
        """() => { window.said = [];
             document.querySelectorAll('[aria-live]').forEach(el => new MutationObserver(() =>
               window.said.push(el.textContent)).observe(el, {childList: true, characterData: true, subtree: true}));
           }"""
    )
    page.locator("#watch-widget [data-action=play]").click()
    page.wait_for_function("() => document.querySelector('#watch-widget .stepper-count').textContent === '6 / 6'")
    assert page.evaluate("window.said") == []  # six frames went by in silence
    page.wait_for_timeout(800)
    said = page.evaluate("window.said")
    assert len(said) == 1 and said[0].startswith("Step 6 of 6")
    assert watch.errors == []
    page.context.close()


def test_the_contact_sheet_is_one_tab_stop_and_the_arrows_move_through_it(site, browser):
    page, watch = open_page(browser, site, fragment="#counted")
    thumbs = page.locator(".tally-picture .thumb")
    assert thumbs.count() == 12
    assert [t.get_attribute("tabindex") for t in thumbs.all()].count("0") == 1
    thumbs.first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Seed 1:")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Seed 11:")
    page.keyboard.press("Tab")  # out of the sheet in one press
    assert page.evaluate("!document.activeElement.closest('.tally-sheet')")
    page.keyboard.press("Shift+Tab")  # and back to the picture last visited
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Seed 11:")
    assert watch.errors == []
    page.context.close()


def test_the_page_names_an_icon_of_its_own(site, browser):
    page, watch = open_page(browser, site)
    assert page.locator("link[rel=icon]").get_attribute("href").startswith("data:image/svg+xml,")
    assert not any("favicon" in url for url in watch.file_requests)
    page.context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_axe_finds_no_accessibility_violations(site, browser, width):
    axe = pytest.importorskip("axe_playwright_python")
    from pathlib import Path

    # axe-core is injected by the test, not by the page: the page's own policy would (rightly) refuse it
    page, _ = open_page(browser, site, width=width, height=SIZES[width], bypass_csp=True)
    page.add_style_tag(content=".section { content-visibility: visible !important; }")  # check every part
    page.add_script_tag(path=str(Path(axe.__file__).with_name("axe.min.js")))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']})"
    )
    assert [(v["id"], len(v["nodes"])) for v in result["violations"]] == []
    page.context.close()

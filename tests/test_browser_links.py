"""Links are input from anywhere: whatever follows the '#', every widget on the page starts and the
page throws nothing. A site with one widget of each kind, opened from file:// in headless Chromium,
under the fragments the issue found and under seeded random ones."""

from __future__ import annotations

import contextlib
import random
from urllib.parse import quote

import pytest
from browser import open_page
from conftest import write_content
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_browser_draw import DRAW
from test_browser_inside import ATTENTION, SCHEDULE
from test_browser_particles import SECTION as PARTICLES
from test_browser_room import WATCH
from test_browser_stepper import EXPLORER
from test_browser_training_data import SECTION as TRAINING_DATA
from test_browser_widgets import FORWARD, NOISE, STEPS
from test_inside import INSIDE
from test_project import MAP, PATHS
from test_samplers import SAMPLERS
from test_tally import TALLY
from training_data_card import CardModel, tiny_card

from stepthrough.content import load_content
from stepthrough.precompute.run import precompute
from stepthrough.site.build import build_site
from stepthrough.widgets import WIDGETS

SECTIONS = {
    "01-noise.md": NOISE,
    "02-forward.md": FORWARD,
    "03-watch.md": WATCH,
    "04-schedule.md": SCHEDULE,
    "05-dots.md": PARTICLES,
    "06-explore.md": EXPLORER,
    "07-words.md": ATTENTION,
    "08-one-step.md": INSIDE,
    "09-tally.md": TALLY,
    "10-the-pictures-behind-it.md": TRAINING_DATA,
    "11-map.md": MAP,
    "12-paths.md": PATHS,
    "13-steps.md": STEPS,
    "14-samplers.md": SAMPLERS,
}
IDS = [name.split("-", 1)[1][:-3] for name in SECTIONS]
SECTIONS["15-draw.md"] = DRAW
IDS.append("draw")
# Every key a widget reads from its link, and values a link may carry by mistake or on purpose.
KEYS = ["step", "at", "prompt", "word", "view", "open", "group", "seed", "steps", "run", "shape",
        "guidance", "blend", "tag", "value", "slide", "line", "token"]
VALUES = ["0", "1", "2", "1.5", "-1", "-0", "", "999999", "1e309", "NaN", "Infinity", "0x1f", "constructor",
          "__proto__", "toString", "room", "x0", "xt", "latent", "heart", "ddim", "%", "%E0%A4%A", "%zz",
          "scheduler,text,constructor", "<img src=x onerror=alert(1)>", "a doctor", "9007199254740993"]
PIECES = ["%", "%E0%A4%A", "%zz", "%00", "?", "&", "=", "#", "+", "..", "/", "é", "\u202e", "%ff", "%C0%AF"]
# Chromium serialises the page's errors and our own console.error calls alike: a failed image in
# a link-broken state would show here too, and none may.
# The widgets that should have started: all of them, or in presenter mode (a "#present…" link)
# the current slide's, since each slide's widget starts when its slide shows; none in the notes
# window ("#present-notes…"), which shows the presenter's notes alone, the page hidden.
SHOWN = """() => document.documentElement.classList.contains('notes-window') ? [] :
  Array.from(document.querySelectorAll('figure[data-widget]')).filter((f) =>
  !document.documentElement.classList.contains('presenting') || f.closest('section.is-current'))"""
STARTED = f"() => ({SHOWN})().every((f) => f.hasAttribute('data-ready'))"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("links")
    content = load_content(write_content(root / "content", SECTIONS))
    bundle = precompute(content, root / "bundles", model=CardModel(tiny_card(root / "card")), progress=False)
    return build_site(content, bundle, root / "site")


def test_the_site_has_a_widget_of_every_kind(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    assert {name for name in WIDGETS if f'data-widget="{name}"' in html} == set(WIDGETS)


def starts_every_widget(browser, site, fragment: str) -> None:
    # A page tall enough that every widget is near the reader: each starts at once.
    page, watch = open_page(browser, site, height=12_000, fragment=fragment)
    with contextlib.suppress(PlaywrightTimeout):  # the assertion below says which did not start, and why
        page.wait_for_function(STARTED, timeout=5000)
    page.wait_for_timeout(150)  # a few of the particles' ticks and the stepper's frames
    missing = page.evaluate(f"({SHOWN})().filter((f) => !f.hasAttribute('data-ready')).map((f) => f.id)")
    page.context.close()
    assert missing == [] and watch.errors == [], (fragment, missing, watch.errors)


@pytest.mark.parametrize("fragment", ["#%", "#%E0%A4%A?step=1", "#seeds%zz", "#%?%", "#watch%?step=%E0"])
def test_a_link_with_a_broken_percent_escape_starts_every_widget(site, browser, fragment):
    starts_every_widget(browser, site, fragment)


def test_a_fractional_step_in_a_link_starts_every_widget_and_throws_nothing(site, browser):
    for section in ("paths", "schedule", "words", "one-step", "dots"):
        starts_every_widget(browser, site, f"#{section}?step=1.5&at=1.5&prompt=0.5")


def test_a_link_cannot_pick_a_property_every_object_has(site, browser):
    page, watch = open_page(browser, site, height=12_000, fragment="#explore?view=constructor&step=2")
    page.wait_for_function(STARTED)
    status = page.locator("#explore-widget .stepper-status").inner_text()
    assert status.startswith("Step 2 of 5") and status.endswith("the latent, in false colour")  # its first view
    assert "function" not in page.locator("#explore-widget").inner_text()
    assert watch.errors == []
    page.context.close()


def test_a_fractional_word_shows_the_first_word_not_undefined(site, browser):
    page, watch = open_page(browser, site, height=12_000, fragment="#words?word=0.5&step=2")
    page.wait_for_function(STARTED)
    status = page.locator("#words-widget .attention-status").inner_text()
    assert status.startswith("Step 2 of 3 · “red apple pie” · “red”: ") and "NaN" not in status
    assert "undefined" not in page.locator("#words-widget").inner_text()
    assert watch.errors == []
    page.context.close()


def test_a_linked_state_still_opens_as_linked(site, browser):
    fragment = "#one-step?prompt=1&step=2&open=text,constructor"
    page, watch = open_page(browser, site, height=12_000, fragment=fragment)
    page.wait_for_function(STARTED)
    widget = page.locator("#one-step-widget")
    assert widget.locator(".widget-count").inner_text() == "2 / 4"
    assert widget.locator("select").input_value() == "1"
    page.locator("#one-step-widget input[type=range]").fill("3")
    # the prompt by name now, and only boxes it has
    assert page.evaluate("location.hash") == "#one-step?prompt=a+doctor&step=3&open=text"
    assert watch.errors == []
    page.context.close()


def opened(browser, site, fragment: str, widget: str):
    page, watch = open_page(browser, site, height=12_000, fragment=fragment)
    page.wait_for_function(STARTED)
    return page, watch, page.locator(f"#{widget}-widget")


@pytest.mark.parametrize(
    "fragment",
    [
        "#words?prompt=a+doctor&word=doctor&step=2",
        "#words?prompt=1&word=1&step=2",  # an old link, by place
        "#words?word=doctor&prompt=a%20doctor&step=2",  # the words in any order, %20 for a space
    ],
)
def test_a_link_names_the_attention_prompt_and_word_and_an_old_one_by_place_lands_there_too(
    site, browser, fragment
):
    page, watch, widget = opened(browser, site, fragment, "words")
    assert widget.locator(".attention-status").inner_text().startswith("Step 2 of 3 · “a doctor” · “doctor”: ")
    assert widget.locator(".attention-tokens [aria-pressed=true]").inner_text() == "doctor"
    # what the widget writes back names them, whatever the link said
    assert page.evaluate("location.hash") == "#words?prompt=a+doctor&word=doctor&step=2&view=x0"
    widget.locator(".attention-tokens button", has_text="a").first.click()
    assert page.evaluate("location.hash") == "#words?prompt=a+doctor&word=a&step=2&view=x0"
    assert watch.errors == []
    page.context.close()


def test_an_unknown_name_lands_on_the_default_and_the_rest_of_the_link_still_counts(site, browser):
    page, watch, widget = opened(browser, site, "#words?prompt=a+nurse&word=nurse&step=2&view=xt", "words")
    assert widget.locator(".attention-status").inner_text().startswith("Step 2 of 3 · “red apple pie” · “red”: ")
    assert widget.locator("input[value=xt]").is_checked()
    page.context.close()
    page, _, widget = opened(browser, site, "#one-step?prompt=a+nurse&step=2", "one-step")
    assert widget.locator("select").input_value() == "0" and widget.locator(".widget-count").inner_text() == "2 / 4"
    page.context.close()
    assert watch.errors == []


def test_one_step_and_the_word_map_write_and_read_their_choices_by_name(site, browser):
    page, watch, widget = opened(browser, site, "#one-step?prompt=a+doctor&step=3", "one-step")
    assert widget.locator("select").input_value() == "1" and widget.locator(".widget-count").inner_text() == "3 / 4"
    widget.locator("select").select_option("0")
    assert page.evaluate("location.hash").startswith("#one-step?prompt=red+apple+pie&step=3")
    page.context.close()
    for fragment in ("#map?group=food", "#map?group=1"):  # by name, and an old link by place
        page, _, widget = opened(browser, site, fragment, "map")
        assert widget.locator(".map-legend [aria-pressed=true]").inner_text().strip().startswith("food")
        widget.locator(".map-legend [aria-pressed=true]").click()  # again: every group
        assert page.evaluate("location.hash") == "#map"
        widget.locator(".map-legend button").first.click()
        assert page.evaluate("location.hash") == "#map?group=animals"
        page.context.close()
    assert watch.errors == []


def test_the_seed_picker_lists_seeds_in_numeric_order_and_a_link_names_the_seed(site, browser):
    """The room's seeds 0-3 join the sweep's seed 1: the picker reads 0, 1, 2, 3, and the lesson
    state is still the section's first picture (seed 1)."""
    page, watch, widget = opened(browser, site, "", "watch")
    seeds = widget.locator("select[data-param=seed] option")
    assert [o.inner_text() for o in seeds.all()] == ["0", "1", "2", "3"]
    assert widget.locator("select[data-param=seed]").evaluate("(s) => s.selectedOptions[0].textContent") == "1"
    widget.locator("select[data-param=seed]").select_option(label="3")
    assert page.evaluate("location.hash").startswith("#watch?seed=3&")
    page.context.close()
    page, _, widget = opened(browser, site, "#watch?prompt=a+doctor&seed=2&step=1", "watch")
    assert widget.locator("select[data-param=seed]").evaluate("(s) => s.selectedOptions[0].textContent") == "2"
    assert widget.locator(".stepper-count").inner_text() == "1 / 4"
    page.context.close()
    assert watch.errors == []


def copy_link(page, widget) -> str:
    """Press the widget's Copy link from the keyboard; the link its field then shows."""
    button = widget.locator(".widget-link-copy")
    box = button.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    assert button.get_attribute("aria-describedby") == widget.evaluate("(f) => f.closest('section').querySelector('h2').id")
    button.focus()
    page.keyboard.press("Enter")
    field = widget.locator(".widget-link-field")
    said = widget.locator(".widget-link-said")
    page.wait_for_function("(s) => s.textContent !== ''", arg=said.element_handle())  # copied, or not
    assert field.is_visible() and field.get_attribute("aria-label") == "Link to this picture"
    return field.input_value()


def test_every_widget_has_a_copy_link_that_gives_its_state_as_the_reader_left_it(site, browser):
    page, watch = open_page(browser, site, height=12_000)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.wait_for_function(STARTED)
    page_address = page.url.split("#")[0]
    for widget_id in IDS:
        widget = page.locator(f"#{widget_id}-widget")
        assert copy_link(page, widget) == f"{page_address}#{widget_id}"  # untouched: its section
    assert page.locator(".widget-link-said", has_text="Link copied.").count() == len(IDS)
    words = page.locator("#words-widget")
    words.locator(".attention-tokens button", has_text="apple").click()
    page.locator("#map-widget .map-legend button").first.click()  # another widget's link takes the address…
    link = copy_link(page, words)  # …and the first still copies its own
    assert link == f"{page_address}#words?prompt=red+apple+pie&word=apple&step=3&view=x0"
    assert page.evaluate("() => navigator.clipboard.readText()") == link
    # the link opens the picture it was copied from
    again, _, widget = opened(browser, site, link[len(page_address):], "words")
    assert widget.locator(".attention-tokens [aria-pressed=true]").inner_text() == "apple"
    again.context.close()
    assert watch.errors == []
    page.context.close()


def test_where_the_clipboard_is_refused_the_link_is_selected_in_its_field(site, browser):
    page, watch = open_page(browser, site, height=12_000, fragment="#watch?step=2")
    page.evaluate("() => { navigator.clipboard.writeText = () => Promise.reject(new Error('not allowed')); }")
    page.wait_for_function(STARTED)
    widget = page.locator("#watch-widget")
    assert copy_link(page, widget).endswith("#watch?step=2")
    assert page.evaluate("document.activeElement.className") == "widget-link-field"
    assert page.evaluate("() => { const f = document.activeElement; return f.selectionEnd - f.selectionStart; }") > 20
    assert widget.locator(".widget-link-said").inner_text() == "Copy the link from the box."
    assert watch.errors == []
    page.context.close()


def random_fragment(rng: random.Random) -> str:
    """A fragment a person or a program might write: a section (or garbage) and keys with values,
    percent-escaped or not, with broken escapes and stray characters spliced in."""
    if rng.random() < 0.2:
        return "#" + "".join(rng.choice(PIECES + list("abc019")) for _ in range(rng.randint(1, 12)))
    target = rng.choice([*IDS, *IDS, "present", "present-notes", "card-1", ""])
    pairs = []
    for _ in range(rng.randint(0, 5)):
        key, value = rng.choice(KEYS), rng.choice(VALUES)
        if rng.random() < 0.5:
            value = quote(value, safe="")
        if rng.random() < 0.2:
            value += rng.choice(PIECES)
        pairs.append(f"{key}={value}")
    query = "&".join(pairs)
    if rng.random() < 0.15:
        target += rng.choice(PIECES)
    return "#" + target + ("?" + query if query or rng.random() < 0.5 else "")


RANDOM_LINKS = 24  # seeded: the same links every run; each page load costs ~0.4 s


def test_any_fragment_whatsoever_starts_every_widget(site, browser):
    rng = random.Random(26)
    for _ in range(RANDOM_LINKS):
        starts_every_widget(browser, site, random_fragment(rng))

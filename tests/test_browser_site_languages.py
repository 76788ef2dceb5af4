"""A site in two languages, in headless Chromium from file://, at a phone's and a laptop's width:
the switcher takes the reader to the same place in the other language (section, prompt, step),
by mouse and by keyboard; its targets are 44 px; an Arabic second language is mirrored and fits."""

from __future__ import annotations

import re
import shutil
import textwrap

import pytest
from browser import open_page, widgets_near_ready
from conftest import STEPPER_SECTION
from test_languages import FIXTURE, _project, build  # noqa: F401  (_project: the built two-language site)
from tiny_model import TinyModel

WIDTHS = [390, 1280]
STATE = "#watch?prompt=red+apple&step=1"


def stepper_status(page) -> str:
    stepper = page.locator("figure[data-widget=stepper]").first
    page.wait_for_function("(f) => f.hasAttribute('data-ready')", arg=stepper.element_handle())
    return stepper.locator(".stepper-status").inner_text()


@pytest.mark.parametrize("width", WIDTHS)
def test_switching_language_keeps_the_section_prompt_and_step(_project, browser, width):  # noqa: F811
    site = _project / "build" / "site"
    page, watch = open_page(browser, site, width=width, height=800, fragment=STATE)
    assert stepper_status(page).startswith("Step 1 of 3") and "red apple" in stepper_status(page)
    links = page.locator("nav.languages a")
    for link in links.all():
        box = link.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44 and box["x"] + box["width"] <= width
    page.locator("nav.languages a[hreflang=es]").click()
    page.wait_for_url(re.compile(r"/es/index\.html#"))
    widgets_near_ready(page)
    assert page.evaluate("location.hash") == STATE
    status = stepper_status(page)
    assert status.startswith("Paso 1 de 3") and "red apple (una manzana roja)" in status
    # Move on in Spanish, then back to English by keyboard: the new step comes along.
    frame = page.locator("figure[data-widget=stepper] .stepper-frame").first
    frame.press("ArrowRight" if page.evaluate("document.dir") != "rtl" else "ArrowLeft")
    page.wait_for_function("() => location.hash.indexOf('step=2') >= 0")
    english = page.locator("nav.languages a[hreflang=en]")
    english.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/site/index\.html#"))
    widgets_near_ready(page)
    assert stepper_status(page).startswith("Step 2 of 3")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_the_switcher_is_named_for_screen_readers_and_marks_the_page_language(_project, browser):  # noqa: F811
    page, watch = open_page(browser, _project / "build" / "site", file="es/practice.html")
    nav = page.get_by_role("navigation", name="Idioma")
    assert nav.get_by_role("link", name="English").get_attribute("href") == "../practice.html"
    assert nav.locator("[aria-current=page]").inner_text() == "Español"
    nav.get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"/site/practice\.html$"))
    assert watch.errors == []
    page.context.close()


# The English test section in Arabic: the same pictures (sweep), its own words.
ARABIC_SECTION = (
    STEPPER_SECTION.replace("Watch it denoise", "شاهده يزيل الضجيج")
    .replace("Drag the slider.", "اسحب المنزلق.")
    .replace("Some *words* about diffusion.", "كلمات قليلة عن الانتشار.")
)


@pytest.fixture(scope="module")
def arabic_second(tmp_path_factory):
    """English and Arabic from one bundle: the Arabic page under ar/."""
    from stepthrough.precompute.run import precompute
    from stepthrough.site.languages import load_for_bundle

    root = tmp_path_factory.mktemp("en-ar")
    shutil.copytree(FIXTURE, root / "content", ignore=shutil.ignore_patterns("es"))
    toml = (root / "content" / "site.toml").read_text(encoding="utf-8")
    (root / "content" / "site.toml").write_text(toml.replace('"es"', '"ar"'), encoding="utf-8")
    (root / "content" / "ar" / "sections").mkdir(parents=True)
    (root / "content" / "ar" / "sections" / "01-watch.md").write_text(
        textwrap.dedent(ARABIC_SECTION).lstrip(), encoding="utf-8"
    )
    precompute(load_for_bundle(root / "content"), root / "bundles", model=TinyModel(), progress=False)
    result = build(root)
    assert result.exit_code == 0, result.output
    return root / "build" / "site"


@pytest.mark.parametrize("width", WIDTHS)
def test_an_arabic_language_is_mirrored_and_keeps_the_state_it_was_given(arabic_second, browser, width):
    page, watch = open_page(browser, arabic_second, width=width, height=800, fragment=STATE)
    page.locator("nav.languages a[hreflang=ar]").click()
    page.wait_for_url(re.compile(r"/ar/index\.html#"))
    widgets_near_ready(page)
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert stepper_status(page).startswith("الخطوة ١ من ٣")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Mirrored: the switcher starts at the right-hand edge, the English section keeps its own direction.
    nav = page.locator("nav.languages li").first.bounding_box()
    assert nav["x"] + nav["width"] > width / 2
    assert page.locator("#seeds").get_attribute("dir") == "ltr"
    frame = page.locator("figure[data-widget=stepper] .stepper-frame").first
    frame.press("ArrowLeft")  # forward, in a right-to-left page
    page.wait_for_function("() => location.hash.indexOf('step=2') >= 0")
    page.locator("nav.languages a[hreflang=en]").click()
    page.wait_for_url(re.compile(r"/site/index\.html#"))
    assert stepper_status(page).startswith("Step 2 of 3")
    assert watch.errors == []
    page.context.close()

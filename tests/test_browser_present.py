"""Presenter mode, the notes window and the facilitator sheet in real headless Chromium, from file://."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from browser import open_page
from conftest import tiny_site

from stepthrough.content import load_content
from stepthrough.site.build import build_site
from stepthrough.site.single_file import single_file

ROOT = Path(__file__).resolve().parents[1]

WATCH = """
    ---
    title: Watch it denoise
    widget: stepper
    present: ["It starts as noise.", "Halfway there.", "A picture."]
    sweep:
      prompts: ["a doctor"]
      seeds: [1]
      steps: [6]
    ---
    Words beside the widget.
"""

WORDS = """
    ---
    title: Words
    ---
    First idea here. More.

    Second idea here.
"""

TALK = """
    ---
    title: Talk
    workshop:
      lenses:
        - name: Human
          questions: ["What surprised you?"]
      sequence:
        - title: Hook
          minutes: 1
          sections: [watch]
          do: Let it run.
          ask: ["When did you see it?"]
        - title: Reading
          minutes: 1
          sections: [words]
        - title: Debrief
          minutes: 1
          sections: [talk]
    ---
    Talk about it.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return tiny_site(
        tmp_path_factory.mktemp("present"), {"01-watch.md": WATCH, "02-words.md": WORDS, "03-talk.md": TALK}
    )


def shown_sections(page) -> list[str]:
    return page.eval_on_selector_all(
        "main > section", "all => all.filter(s => s.offsetParent !== null).map(s => s.id)"
    )


def test_the_keyboard_drives_a_whole_workshop_sequence_and_esc_leaves(site, browser):
    page, watch = open_page(browser, site, width=1280, height=720, fragment="#present")
    assert shown_sections(page) == ["watch"] and not page.locator(".site-header").is_visible()
    count = page.locator(".stepper-count")
    lines = page.locator("#watch .present-line.is-shown")
    assert count.inner_text() == "0 / 6" and lines.count() == 1  # line 1 of 3: the noise
    page.keyboard.press("PageDown")
    assert count.inner_text() == "3 / 6" and lines.count() == 2
    page.keyboard.press("Space")  # a clicker's other key
    assert count.inner_text() == "6 / 6" and lines.count() == 3
    assert page.locator(".present-strip li").nth(0).get_attribute("class") == "is-current"
    page.keyboard.press("ArrowRight")  # past the last line: the next section of the sequence
    assert shown_sections(page) == ["words"]
    assert page.locator("#words .present-line.is-shown").all_inner_texts() == ["First idea here."]
    assert page.locator(".present-where").inner_text() == "2 / 3 · Reading: Words"
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")
    assert shown_sections(page) == ["talk"]
    page.keyboard.press("PageDown")  # the last slide stays
    assert shown_sections(page) == ["talk"] and page.evaluate("location.hash") == "#present?slide=3&line=1"
    page.keyboard.press("PageUp")  # back onto the previous section's last line
    assert shown_sections(page) == ["words"]
    assert page.locator("#words .present-line.is-shown").count() == 2
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert shown_sections(page) == ["watch"] and count.inner_text() == "6 / 6"
    page.keyboard.press("Escape")
    assert shown_sections(page) == ["watch", "words", "talk"] and page.locator(".site-header").is_visible()
    assert page.evaluate("location.hash") == "#watch"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_the_present_button_and_a_slide_link_open_presenter_mode(site, browser):
    page, watch = open_page(browser, site, width=1280, height=720)
    assert shown_sections(page) == ["watch", "words", "talk"]
    page.get_by_role("link", name="Present").first.click()
    assert shown_sections(page) == ["watch"]
    page.context.close()
    page, watch = open_page(browser, site, width=1280, height=720, fragment="#present?slide=2&line=2")
    assert shown_sections(page) == ["words"]
    assert page.locator("#words .present-line.is-shown").count() == 2
    page.locator(".present-strip button").nth(2).click()
    assert shown_sections(page) == ["talk"]
    assert watch.errors == []
    page.context.close()


def test_the_timer_counts_down_each_steps_minutes_and_t_pauses_it(site, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.clock.install(time=1_700_000_000_000)
    page.clock.pause_at(1_700_000_001_000)  # time moves only when the test moves it
    page.goto((site / "index.html").resolve().as_uri() + "#present")
    clock = page.locator(".present-clock")
    page.clock.run_for(30_000)
    assert clock.inner_text() == "0:30 left · 0:30 of 3:00"
    page.clock.run_for(40_000)
    assert clock.inner_text() == "0:10 over · 1:10 of 3:00" and "is-over" in clock.get_attribute("class")
    page.keyboard.press("t")
    page.clock.run_for(60_000)
    assert clock.inner_text() == "0:10 over · 1:10 of 3:00"
    page.keyboard.press("t")
    for _ in range(3):
        page.keyboard.press("PageDown")  # the next step starts its own minute
    page.clock.run_for(15_000)
    assert clock.inner_text() == "0:45 left · 1:25 of 3:00"
    context.close()


def test_the_notes_window_follows_the_presenter_and_sends_its_keys_back(site, browser):
    page, watch = open_page(browser, site, width=1280, height=720, fragment="#present")
    # The notes over the slide (a mirrored projector shows them) only from the bar's own button.
    notes = page.locator(".present-notes")
    page.get_by_role("button", name="Notes here").click()
    assert (
        notes.is_visible()
        and "Let it run." in notes.inner_text()
        and "When did you see it?" in notes.inner_text()
    )
    page.get_by_role("button", name="Notes here").click()
    assert not notes.is_visible()
    with page.context.expect_page() as opened:
        page.keyboard.press("n")  # N (or W): the notes in a window of their own
    window = opened.value
    window.wait_for_load_state("load")
    title = window.locator(".notes-title")
    title.wait_for()
    assert title.inner_text() == "Watch it denoise"
    assert window.locator(".notes-next").inner_text() == "Next: Reading: Words"
    for _ in range(3):
        page.keyboard.press("PageDown")
    window.wait_for_function("() => document.querySelector('.notes-title').textContent === 'Words'")
    window.keyboard.press("PageDown")  # the notes window's keys turn the projector's page
    page.wait_for_function("() => document.querySelectorAll('#words .present-line.is-shown').length === 2")
    window.keyboard.press("PageDown")
    window.wait_for_function("() => document.querySelector('.notes-title').textContent === 'Talk'")
    assert "What surprised you?" in window.locator(".notes-lenses").inner_text()  # the debrief's lenses
    assert shown_sections(page) == ["talk"]
    assert watch.errors == []
    page.context.close()


def test_presenter_mode_works_from_the_single_file(site, browser, tmp_path):
    import shutil

    copy = shutil.copytree(site, tmp_path / "site")
    main_page = single_file(copy)[0]
    shutil.rmtree(copy)  # the single file must need nothing beside it
    page, watch = open_page(browser, main_page, width=1280, height=720, fragment="#present")
    assert shown_sections(page) == ["watch"]
    frame = page.locator(".stepper-frame")
    noise = frame.screenshot()
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")
    assert page.locator(".stepper-count").inner_text() == "6 / 6" and frame.screenshot() != noise
    page.keyboard.press("PageDown")
    assert shown_sections(page) == ["words"]
    assert watch.errors == [] and watch.outside_requests == []
    assert {url.split("#")[0] for url in watch.file_requests} == {main_page.resolve().as_uri()}
    page.context.close()


def test_the_default_facilitator_sheet_prints_on_one_page(tmp_path, browser):
    content = load_content(ROOT / "stepthrough" / "default_content")
    # The sheet needs no pictures: build the default workshop with its text sections alone.
    text_only = dataclasses.replace(content, sections=tuple(s for s in content.sections if not s.meta.widget))
    site = build_site(text_only, tmp_path / "no-bundle", tmp_path / "site")
    page, watch = open_page(browser, site, file="facilitator.html")
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    letter = page.pdf(format="Letter")
    assert len(re.findall(rb"/Type\s*/Page\b", letter)) == 1
    assert "12 minutes" in page.locator("main").inner_text()
    assert watch.errors == []
    page.context.close()

"""Presenter mode, the notes window and the facilitator sheet in real headless Chromium, from file://."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import re
import threading
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
    # The sheet needs no pictures: build the default workshop with its text sections alone (and no
    # practice page, whose cards show the explainer's pictures).
    text_only = dataclasses.replace(
        content, sections=tuple(s for s in content.sections if not s.meta.widget), practice=None
    )
    site = build_site(text_only, tmp_path / "no-bundle", tmp_path / "site")
    page, watch = open_page(browser, site, file="facilitator.html")
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    letter = page.pdf(format="Letter")
    assert len(re.findall(rb"/Type\s*/Page\b", letter)) == 1
    assert "12 minutes" in page.locator("main").inner_text()
    assert watch.errors == []
    page.context.close()


# ---- The two windows answer only each other (issue 26) ----


@contextlib.contextmanager
def http_folder(folder: Path):
    """`folder` over http://127.0.0.1:PORT/ (a static host), quietly; yields the address."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def opened_notes(opener, url: str):
    """The notes window at `url`, opened by page `opener` (kept as window.notes there)."""
    with opener.context.expect_page() as opened:
        opener.evaluate("url => { window.notes = window.open(url, 'stepthrough-notes'); }", url)
    window = opened.value
    window.wait_for_load_state("load")
    errors: list[str] = []
    window.on("pageerror", lambda exc: errors.append(str(exc)))
    return window, errors


STATE = "{kind: 'stepthrough:present-state', slide: 0, line: 0, spent: [0, 0, 0], running: true}"


def test_the_notes_window_takes_no_orders_from_another_origin(site, browser, tmp_path):
    (tmp_path / "other.html").write_text("<!doctype html><title>Another site</title><p>Hi</p>")
    with http_folder(site) as own, http_folder(tmp_path) as other:
        context = browser.new_context()
        stranger = context.new_page()
        stranger.goto(other + "other.html")
        window, errors = opened_notes(stranger, own + "index.html#present-notes?token=chosen-by-the-stranger")
        stranger.evaluate(f"() => window.notes.postMessage({STATE}, '*')")
        stranger.evaluate(
            "() => window.notes.postMessage({kind: 'stepthrough:present-state', slide: 0,"
            " line: '<a href=//phish.example>Sign in again</a>', spent: [0, 0, 0]}, '*')"
        )
        window.wait_for_timeout(400)
        assert window.locator(".notes-title").count() == 0 and window.locator("a[href*=phish]").count() == 0
        assert "Open this window from presenter mode" in window.locator(".present-notes").inner_text()
        # The very same message from the site's own origin is shown: only the origin differed.
        own_page = context.new_page()
        own_page.goto(own + "practice.html" if (site / "practice.html").exists() else own + "index.html")
        window2, errors2 = opened_notes(own_page, own + "index.html#present-notes?token=x")
        own_page.evaluate(f"() => window.notes.postMessage({STATE}, '*')")
        window2.locator(".notes-title").wait_for()
        assert window2.locator(".notes-title").inner_text() == "Watch it denoise"
        assert errors == [] and errors2 == []
        context.close()


def test_the_notes_window_checks_each_field_and_writes_text_not_markup(site, browser):
    with http_folder(site) as own:
        context = browser.new_context()
        opener = context.new_page()
        opener.goto(own + "index.html")
        window, errors = opened_notes(opener, own + "index.html#present-notes?token=x")
        for message in (
            "{kind: 'stepthrough:present-state', slide: 999, line: 0, spent: [0, 0, 0]}",
            "{kind: 'stepthrough:present-state', slide: '0', line: 0}",
            "{kind: 'stepthrough:present-state', slide: 0.5, line: 0}",
            "{kind: 'stepthrough:present-state', slide: 0, line: '<img src=x onerror=window.pwned=1>'}",
            "{kind: 'stepthrough:present-state', slide: 0, line: 99}",
            "'stepthrough:present-state'",
            "null",
        ):
            opener.evaluate(f"() => window.notes.postMessage({message}, '*')")
        window.wait_for_timeout(600)  # two ticks of the notes' timer
        assert window.locator(".notes-title").count() == 0 and window.locator("img").count() == 0
        # No `spent` (or a wrong one) is no time spent yet, not an error every 250 ms.
        opener.evaluate("() => window.notes.postMessage({kind: 'stepthrough:present-state', slide: 1, line: 1,"
                        " spent: 'lots', running: 'yes'}, '*')")
        window.locator(".notes-title").wait_for()
        window.wait_for_timeout(600)
        assert window.locator(".notes-title").inner_text() == "Words"
        assert window.locator(".notes-where").inner_text() == "Slide 2 of 3 · line 2 of 2"
        assert window.locator(".notes-timer").inner_text() == "1:00 left · 0:00 of 3:00"
        assert window.evaluate("window.pwned") is None and errors == []
        context.close()


def test_the_presenter_obeys_only_its_notes_window_with_the_presentations_token(site, browser):
    page, watch = open_page(browser, site, width=1280, height=720, fragment="#present")
    with page.context.expect_page() as opened:
        page.keyboard.press("w")
    window = opened.value
    window.wait_for_load_state("load")
    window.locator(".notes-title").wait_for()
    link = window.evaluate("location.hash")
    token = re.fullmatch(r"#present-notes\?token=([0-9a-f]{32})", link).group(1)
    where = "() => document.querySelectorAll('#watch .present-line.is-shown').length"
    before = page.evaluate(where)
    assert before == 1
    for message in (
        "{kind: 'stepthrough:present-command', command: 'next'}",  # no token
        "{kind: 'stepthrough:present-command', command: 'next', token: 'guessed'}",
        f"{{kind: 'stepthrough:present-command', command: 'leave', token: '{token}'}}",  # not the notes' to give
    ):
        window.evaluate(f"() => window.opener.postMessage({message}, '*')")
    page.wait_for_timeout(300)
    assert page.evaluate(where) == before and page.evaluate("document.documentElement.classList.contains('presenting')")
    window.evaluate(f"() => window.opener.postMessage({{kind: 'stepthrough:present-command', command: 'next', token: '{token}'}}, '*')")
    page.wait_for_function(f"() => ({where})() === 2")
    # Another presentation, another token.
    other, _ = open_page(browser, site, width=1280, height=720, fragment="#present")
    with other.context.expect_page() as opened:
        other.keyboard.press("w")
    opened.value.wait_for_load_state("load")
    assert opened.value.evaluate("location.hash") != link
    assert watch.errors == []
    page.context.close()
    other.context.close()


def test_over_http_both_windows_post_to_their_own_origin_only(site, browser):
    with http_folder(site) as own:
        context = browser.new_context()
        page = context.new_page()
        page.goto(own + "index.html#present")
        with context.expect_page() as opened:
            page.keyboard.press("w")
        window = opened.value
        window.wait_for_load_state("load")
        window.locator(".notes-title").wait_for()
        # Record the target of every post, both ways. Each wrapper lives in the realm of the window
        # that posts (the message's source is the caller's window), around the other's method.
        record = """(other) => {
          window.targets = [];
          const post = other.postMessage.bind(other);
          other.postMessage = (message, target) => { window.targets.push(target); post(message, target); };
        }"""
        window.evaluate(f"() => ({record})(window.opener)")
        page.evaluate(f"() => ({record})(window.open('', 'stepthrough-notes'))")  # the window it opened
        window.keyboard.press("PageDown")
        page.wait_for_function("() => document.querySelectorAll('#watch .present-line.is-shown').length === 2")
        window.wait_for_function("() => document.querySelector('.notes-where').textContent.includes('line 2')")
        targets = window.evaluate("window.targets") + page.evaluate("window.targets")
        assert len(targets) >= 2 and set(targets) == {own.rstrip("/")}, targets
        context.close()

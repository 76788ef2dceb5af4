"""The step-through viewer in real headless Chromium, opened from file:// like a reader would."""

from __future__ import annotations

import shutil

import pytest
from browser import open_page
from conftest import tiny_site

SECTION = """
    ---
    title: Watch it denoise
    widget: stepper
    caption: Drag the slider.
    sweep:
      prompts: ["a doctor", "red apple", "cat face"]
      seeds: [1, 2]
      steps: [6]
    ---
    Words beside the widget.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("stepper"), {"01-watch.md": SECTION})


def frame_pixels(page) -> bytes:
    return page.locator(".stepper-frame").screenshot()


def test_moving_the_slider_changes_the_frame_with_no_errors_and_no_outside_requests(site, browser):
    page, watch = open_page(browser, site)
    slider = page.locator(".stepper-step")
    assert slider.get_attribute("max") == "6" and slider.input_value() == "6"
    final = frame_pixels(page)
    slider.focus()
    page.keyboard.press("Home")
    assert page.locator(".stepper-count").inner_text() == "0 / 6"
    assert "pure noise" in page.locator(".stepper-status").inner_text()
    noise = frame_pixels(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.locator(".stepper-count").inner_text() == "2 / 6"
    assert len({final, noise, frame_pixels(page)}) == 3
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_view_toggle_prompt_picker_and_buttons_change_what_is_shown(site, browser):
    page, watch = open_page(browser, site)
    page.locator("[data-action=prev]").click()
    page.locator("[data-action=prev]").click()
    assert page.locator(".stepper-count").inner_text() == "4 / 6"
    noisy = frame_pixels(page)
    page.get_by_label("the model’s guess of the finished picture").check()
    assert "model’s guess" in page.locator(".stepper-status").inner_text()
    guess = frame_pixels(page)
    assert guess != noisy
    page.get_by_label("the noise removed at this step").check()
    assert "noise removed" in page.locator(".stepper-status").inner_text()
    assert frame_pixels(page) not in (noisy, guess)
    page.get_by_label("the model’s guess of the finished picture").check()
    page.get_by_label("Prompt").select_option(label="red apple")
    assert "red apple" in page.locator(".stepper-frame").get_attribute("aria-label")
    assert frame_pixels(page) != guess
    page.locator("[data-action=next]").click()
    assert page.locator(".stepper-count").inner_text() == "5 / 6"
    assert watch.errors == []
    page.context.close()


def test_play_runs_to_the_end_and_keyboard_on_the_picture_steps(site, browser):
    page, watch = open_page(browser, site)
    frame = page.locator(".stepper-frame")
    frame.focus()
    page.keyboard.press("Home")
    assert page.locator(".stepper-count").inner_text() == "0 / 6"
    page.locator("[data-action=play]").click()
    assert page.locator("[data-action=play]").get_attribute("aria-pressed") == "true"
    page.wait_for_function(
        "() => document.querySelector('.stepper-count').textContent === '6 / 6'", timeout=5000
    )
    page.wait_for_function(
        "() => document.querySelector('[data-action=play]').getAttribute('aria-pressed') === 'false'"
    )
    frame.focus()
    page.keyboard.press("ArrowLeft")
    assert page.locator(".stepper-count").inner_text() == "5 / 6"
    assert watch.errors == []
    page.context.close()


def test_state_is_in_the_url_and_a_link_opens_that_exact_state(site, browser):
    page, _ = open_page(browser, site)
    page.get_by_label("Prompt").select_option(label="cat face")
    page.get_by_label("Seed").select_option(label="2")
    page.get_by_label("the model’s guess of the finished picture").check()
    page.locator(".stepper-step").fill("3")
    # A step move writes the link once the slider settles, not on every frame it passes.
    page.wait_for_function("() => location.hash.includes('step=3')")
    fragment = page.evaluate("location.hash")
    # Named by value, not by place in the list: editing the list does not re-point the link.
    assert fragment == "#watch?prompt=cat+face&seed=2&step=3&view=x0"
    expected = frame_pixels(page)
    page.context.close()
    for link in (fragment, "#watch?prompt=cat%20face&seed=2&step=3&view=x0", "#watch?prompt=2&seed=2&step=3&view=x0"):
        linked, watch = open_page(browser, site, fragment=link)  # typed by hand; an old link by place
        assert linked.locator(".stepper-count").inner_text() == "3 / 6"
        assert linked.get_by_label("Prompt").input_value() == "2"
        assert frame_pixels(linked) == expected
        assert watch.errors == []
        linked.context.close()


def test_without_javascript_the_final_frame_and_caption_show(site, browser):
    page, _ = open_page(browser, site, java_script_enabled=False)
    assert not page.locator(".stepper-controls").is_visible()
    assert "finished picture" in page.locator(".stepper-status").inner_text()
    box = page.locator(".stepper-frame").bounding_box()
    assert box["width"] > 100 and box["height"] > 100
    page.context.close()


def test_phone_width_has_no_horizontal_scroll_and_controls_fit(site, browser):
    page, watch = open_page(browser, site, width=320, height=640, fragment="#watch?step=2")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    for selector in (".stepper-frame", ".stepper-step", "[data-action=play]"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 320, selector
    assert page.locator(".stepper-step").bounding_box()["width"] >= 200  # a full row, not 28 px
    assert watch.errors == []
    page.context.close()


def test_the_site_folder_works_when_moved_elsewhere(site, browser, tmp_path):
    moved = shutil.copytree(site, tmp_path / "usb stick" / "explainer")
    page, watch = open_page(browser, moved)
    page.locator(".stepper-step").fill("0")
    assert page.locator(".stepper-count").inner_text() == "0 / 6"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


EXPLORER = """
    ---
    title: Explore guidance
    widget: stepper
    settings:
      views: [latent, xt]
      axis: guidance
    sweep:
      prompts: ["a doctor"]
      guidance: [1, 4, 9]
      steps: [5]
    ---
    Text.
"""


@pytest.fixture(scope="module")
def explorer_site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("explorer"), {"01-explore.md": EXPLORER})


def test_an_axis_slider_makes_a_two_dimensional_explorer(explorer_site, browser):
    page, watch = open_page(browser, explorer_site)
    axis = page.locator("input[data-param=guidance]")
    assert axis.get_attribute("max") == "2"
    assert page.locator(".stepper-axis output").inner_text() == "1"
    assert "latent" in page.locator(".stepper-status").inner_text()  # the first listed view is shown
    assert (
        "4 × 8 × 8 = 256 numbers instead of 16 × 16 × 3 = 768 pixel values: 3 times fewer" in page.content()
    )
    before = frame_pixels(page)
    axis.fill("2")
    assert page.locator(".stepper-axis output").inner_text() == "9"
    assert frame_pixels(page) != before
    page.locator(".stepper-step").fill("2")
    page.wait_for_function("() => location.hash.includes('step=2')")
    assert page.evaluate("location.hash") == "#explore?guidance=9&step=2&view=latent"
    page.get_by_label("the noisy canvas").check()
    assert "noisy canvas" in page.locator(".stepper-status").inner_text()
    assert watch.errors == []
    page.context.close()


SCROLLY = """
    ---
    title: Scroll me
    widget: stepper
    sweep:
      prompts: ["a doctor"]
      steps: [6]
    ---
    First paragraph.

    Second paragraph.

    Third paragraph.
"""


def test_scrolling_through_the_paragraphs_advances_the_widget_until_the_reader_takes_over(tmp_path, browser):
    tall = "\n\n".join(f"Paragraph {i} " + "words " * 400 for i in range(3))
    text = (
        SCROLLY.replace("    First paragraph.\n\n    Second paragraph.\n\n    Third paragraph.\n", "") + tall
    )
    site = tiny_site(tmp_path, {"01-scroll.md": text})
    page, watch = open_page(browser, site, width=1280, height=700)
    count = page.locator(".stepper-count")
    paragraphs = page.locator(".prose p")
    paragraphs.nth(0).evaluate("p => p.scrollIntoView({block: 'center'})")
    page.wait_for_function("() => document.querySelector('.stepper-count').textContent === '0 / 6'")
    paragraphs.nth(1).evaluate("p => p.scrollIntoView({block: 'center'})")
    page.wait_for_function("() => document.querySelector('.stepper-count').textContent === '3 / 6'")
    paragraphs.nth(2).evaluate("p => p.scrollIntoView({block: 'center'})")
    page.wait_for_function("() => document.querySelector('.stepper-count').textContent === '6 / 6'")
    page.locator("[data-action=prev]").click()
    assert count.inner_text() == "5 / 6"
    paragraphs.nth(0).evaluate("p => p.scrollIntoView({block: 'center'})")
    page.evaluate(
        "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )  # IO has run
    assert count.inner_text() == "5 / 6"  # the reader's choice wins over scrolling
    assert watch.errors == []
    page.context.close()


def test_a_widget_far_below_starts_at_the_paragraph_the_reader_jumped_to(tmp_path, browser):
    # Its data loads only when the reader nears it, so it starts after the paragraph was reached.
    tall = "\n\n".join(f"Paragraph {i} " + "words " * 400 for i in range(3))
    text = (
        SCROLLY.replace("    First paragraph.\n\n    Second paragraph.\n\n    Third paragraph.\n", "") + tall
    )
    intro = "---\ntitle: Intro\n---\n" + "Some text. " * 2000
    site = tiny_site(tmp_path, {"00-intro.md": intro, "01-scroll.md": text})
    page, watch = open_page(browser, site, width=1280, height=700)
    assert page.locator(".stepper[data-ready]").count() == 0  # far below: not started yet
    page.locator(".prose > p", has_text="Paragraph 1 ").evaluate("p => p.scrollIntoView({block: 'center'})")
    page.wait_for_function("() => document.querySelector('.stepper-count').textContent === '3 / 6'")
    assert page.locator(".stepper-status").inner_text().startswith("Step 3 of 6")
    assert watch.errors == []
    page.context.close()


def test_frames_of_sections_far_below_load_only_when_the_reader_nears_them(tmp_path, browser):
    prompts = ["a doctor", "red apple", "rocket", "ghost", "pizza", "sunflower"]
    sections = {
        f"0{i}-s{i}.md": SCROLLY.replace("Scroll me", f"Section {i}").replace('"a doctor"', f'"{prompt}"')
        + "\n\n"
        + "Some text. " * 200
        for i, prompt in enumerate(prompts, start=1)
    }
    sections["00-intro.md"] = "---\ntitle: Intro\n---\n" + "Some text. " * 300
    site = tiny_site(tmp_path, sections)
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))

    html = (site / "index.html").read_text()
    last = html.split('id="s6"')[1].split("assets/frames/")[1].split(".webp")[0]  # section 6's first frame
    page.goto((site / "index.html").as_uri())
    page.wait_for_load_state("load")
    page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert not any(last in url for url in list(loaded))
    with page.expect_request_finished(lambda request: last in request.url):
        page.locator("#s6").scroll_into_view_if_needed()
    context.close()


def test_its_data_is_a_script_file_beside_the_page_that_works_from_file_urls(site, browser):
    page_html = (site / "index.html").read_text(encoding="utf-8")
    assert 'type="application/json" class="widget-data"' not in page_html  # no data inside the page
    data_files = sorted((site / "assets" / "data").glob("*.js"))
    assert len(data_files) == 1 and '"red apple"' in data_files[0].read_text(encoding="utf-8")
    page, watch = open_page(browser, site)
    assert page.locator(".stepper-controls").is_visible()
    page.get_by_label("Prompt").select_option(label="red apple")
    assert "red apple" in page.locator(".stepper-status").inner_text()
    assert any(url.endswith(data_files[0].name) for url in watch.file_requests)
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_pointing_at_it_decodes_the_sheets_one_move_away(site, browser):
    page, watch = open_page(browser, site)
    assert page.evaluate("() => Stepthrough.decoded.length") == 0  # nothing ahead before the reader comes
    page.locator(".stepper-frame").hover()
    decoded = page.evaluate("() => Stepthrough.decoded.slice()")
    data = page.evaluate("() => document.querySelector('.widget-data').stepthroughData")
    first = data["trajectories"][0]
    others = [t for t in data["trajectories"] if t is not first]
    next_prompt = next(t for t in others if t["prompt"] == "red apple" and t["seed"] == first["seed"])
    other_seed = next(t for t in others if t["prompt"] == first["prompt"] and t["seed"] != first["seed"])
    for view in first["views"].values():
        assert view["src"] in decoded  # this trajectory's other views
    assert next_prompt["views"]["xt"]["src"] in decoded and other_seed["views"]["xt"]["src"] in decoded
    far = next(t for t in others if t["prompt"] == "cat face")
    assert far["views"]["xt"]["src"] not in decoded  # two moves away: not yet
    assert watch.errors == []
    page.context.close()

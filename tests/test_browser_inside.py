"""The inside-the-model widgets driven in headless Chromium from file://: the noise schedule,
where each word acts, samplers side by side."""

from __future__ import annotations

import pytest
from browser import open_page
from conftest import STEPPER_SECTION, tiny_site

SCHEDULE = """
    ---
    title: How much noise
    widget: schedule
    settings:
      follow: watch
    sweep:
      prompts: ["a doctor"]
      seeds: [1]
      steps: [3]
      guidance: [4.0]
    ---
    Text.
"""


@pytest.fixture(scope="module")
def schedule_site(tmp_path_factory):
    return tiny_site(
        tmp_path_factory.mktemp("schedule"), {"01-watch.md": STEPPER_SECTION, "02-schedule.md": SCHEDULE}
    )


def test_the_schedule_slider_moves_the_marker_and_the_numbers(schedule_site, browser):
    page, watch = open_page(browser, schedule_site)
    widget = page.locator("#schedule-widget")
    status = widget.locator(".schedule-status")
    assert status.inner_text() == "Step 3 of 3: picture 1.00, noise 0.00."
    end = widget.locator(".schedule-marker").get_attribute("x1")
    widget.locator("input[type=range]").fill("0")
    picture, noise = (
        float(v)
        for v in status.inner_text().removeprefix("Step 0 of 3: picture ").rstrip(".").split(", noise ")
    )
    assert picture < 0.2 and noise > 0.98 and abs(picture**2 + noise**2 - 1) < 0.02
    assert widget.locator(".schedule-marker").get_attribute("x1") != end
    assert widget.locator(".schedule-a").inner_text() == f"{picture:.2f}"
    assert page.evaluate("location.hash") == "#schedule?step=0"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_the_schedule_follows_the_step_through_viewer(schedule_site, browser):
    page, watch = open_page(browser, schedule_site)
    page.locator("#watch-widget .stepper-step").fill("1")
    assert page.locator("#schedule-widget .schedule-status").inner_text().startswith("Step 1 of 3:")
    page.locator("#watch-widget [data-action=prev]").click()
    assert page.locator("#schedule-widget .schedule-status").inner_text().startswith("Step 0 of 3:")
    assert watch.errors == []
    page.context.close()


def test_a_schedule_far_below_starts_at_the_viewers_step(tmp_path, browser):
    # It loads its data when the reader nears it: by then the viewer it follows has moved.
    filler = "---\ntitle: Between\n---\n" + "Some text. " * 3000
    site = tiny_site(
        tmp_path, {"01-watch.md": STEPPER_SECTION, "02-between.md": filler, "03-schedule.md": SCHEDULE}
    )
    page, watch = open_page(browser, site, width=1280, height=700)
    page.locator("#watch-widget .stepper-step").fill("1")
    assert page.locator("#schedule-widget[data-ready]").count() == 0  # far below: not started yet
    page.locator("#schedule-widget").scroll_into_view_if_needed()
    page.wait_for_selector("#schedule-widget[data-ready]")
    assert page.locator("#schedule-widget .schedule-status").inner_text().startswith("Step 1 of 3:")
    assert watch.errors == []
    page.context.close()


def test_without_javascript_the_schedule_shows_both_curves_and_numbers(schedule_site, browser):
    page, _ = open_page(browser, schedule_site, java_script_enabled=False)
    widget = page.locator("#schedule-widget")
    assert widget.locator("polyline").count() == 2
    assert "At the start: picture 0." in widget.locator(".widget-note").inner_text()
    assert not widget.locator(".widget-controls").is_visible()
    page.context.close()


ATTENTION = """
    ---
    title: Where each word acts
    widget: attention
    sweep:
      prompts: ["red apple pie", "a doctor"]
      seeds: [1]
      steps: [3]
      guidance: [4.0]
    ---
    Text.
"""


@pytest.fixture(scope="module")
def attention_site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("attention"), {"01-words.md": ATTENTION})


def shares(site) -> dict:
    """Each prompt's attention shares [step][token], from the bundle beside the site."""
    from stepthrough.bundle import read_manifest

    manifest = read_manifest(site.parent / "bundles" / "test-bundle")
    return {t.prompt: t.records["attention"].share for t in manifest.trajectories.values()}


def test_tapping_a_word_and_moving_the_step_change_the_heat_map(attention_site, browser):
    page, watch = open_page(browser, attention_site)
    widget = page.locator("#words-widget")
    heat = widget.locator(".attention-map")
    assert widget.locator(".attention-tokens").get_by_role("button").all_inner_texts() == ["red", "apple", "pie"]
    assert widget.get_by_role("button", name="red").get_attribute("aria-pressed") == "true"
    red = (heat.get_attribute("style"), heat.screenshot())
    widget.get_by_role("button", name="apple").click()
    assert widget.get_by_role("button", name="apple").get_attribute("aria-pressed") == "true"
    apple = (heat.get_attribute("style"), heat.screenshot())
    assert apple[0] != red[0] and apple[1] != red[1]
    share = shares(attention_site)["red apple pie"][-1][1]  # the last step, "apple"
    assert f"“apple”: {100 * share:.1f}% of the attention" in widget.locator(".attention-status").inner_text()
    widget.locator("input[type=range]").fill("1")
    assert heat.screenshot() != apple[1]
    assert (
        widget.locator(".attention-status").inner_text().startswith("Step 1 of 3 · “red apple pie” · “apple”")
    )
    assert page.evaluate("location.hash") == "#words?prompt=red+apple+pie&word=apple&step=1&view=x0"  # by name
    widget.locator(".attention-prompt select").select_option("1")
    assert widget.locator(".attention-tokens").get_by_role("button").all_inner_texts() == ["a", "doctor"]
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_a_link_opens_one_word_at_one_step_over_the_canvas(attention_site, browser):
    page, watch = open_page(browser, attention_site, fragment="#words?prompt=0&word=2&step=2&view=xt")
    widget = page.locator("#words-widget")
    assert widget.get_by_role("button", name="pie").get_attribute("aria-pressed") == "true"
    assert widget.locator("input[value=xt]").is_checked()
    assert widget.locator(".attention-status").inner_text().startswith("Step 2 of 3")
    assert watch.errors == []
    page.context.close()


def test_without_javascript_the_last_steps_map_and_every_words_share_show(attention_site, browser):
    page, _ = open_page(browser, attention_site, java_script_enabled=False)
    widget = page.locator("#words-widget")
    text = widget.locator(".attention-shares").inner_text()
    for token, share in zip(
        ["red", "apple", "pie"], shares(attention_site)["red apple pie"][-1], strict=True
    ):
        assert f"“{token}” gets {100 * share:.1f}%" in text
    assert widget.locator(".attention-map").get_attribute("style").startswith("background-image")
    assert not widget.locator(".attention-controls").is_visible()
    page.context.close()


def test_a_model_without_cross_attention_says_so_on_the_page(tmp_path, browser):
    from conftest import write_content
    from test_attention import NoAttention

    from stepthrough.content import load_content
    from stepthrough.precompute.run import precompute
    from stepthrough.site.build import build_site

    content = load_content(write_content(tmp_path / "content", {"01-words.md": ATTENTION}))
    bundle = precompute(content, tmp_path / "bundles", model=NoAttention(), progress=False)
    site = build_site(content, bundle, tmp_path / "site")
    page, watch = open_page(browser, site)
    assert "offers no maps of where each word acts" in page.locator("#words-widget").inner_text()
    assert watch.errors == []
    page.context.close()


@pytest.fixture(scope="module")
def samplers_site(tmp_path_factory):
    from test_samplers import SAMPLERS

    return tiny_site(tmp_path_factory.mktemp("samplers"), {"01-samplers.md": SAMPLERS})


def runs(site) -> list[dict]:

    data = open_data(site, "samplers-widget")
    return data["runs"], data["reference"]


def open_data(site, widget_id: str) -> dict:
    import re

    from stepthrough.site.build import widget_data_of

    page = (site / "index.html").read_text()
    figure = page[page.index(f'id="{widget_id}"') :]
    source = re.search(r'<script [^>]*src="([^"]+)" class="widget-data">', figure).group(1)
    return widget_data_of((site / source).read_text(encoding="utf-8"))


def test_a_run_picked_shows_its_path_and_numbers_and_the_link_keeps_it(samplers_site, browser):
    page, watch = open_page(browser, samplers_site)
    widget = page.locator("#samplers-widget")
    status = widget.locator(".samplers-status")
    assert status.inner_text() == "The paths show the samplers with 2 steps."
    assert widget.locator(".samplers-path:not(.is-off)").count() == 4  # one per sampler at 2 steps
    data, _ = runs(samplers_site)
    heun = next(i for i, run in enumerate(data) if run["scheduler"] == "heun" and run["steps"] == 4)
    button = widget.get_by_role("button", name="Heun, 4 steps: 6 evaluations")
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    assert status.inner_text() == (
        f"Heun, 4 steps: 6 model evaluations, off by {data[heun]['distance']:.3f} from the 12-step reference."
    )
    assert widget.locator(".samplers-path.is-chosen").get_attribute("data-run") == str(heun)
    assert widget.locator(".samplers-path:not(.is-off)").count() == 4  # the paths of 4 steps now
    assert widget.get_by_role("radio", name="4 steps").is_checked()
    assert page.evaluate("() => location.hash") == "#samplers?steps=4&run=heun"
    widget.get_by_role("radio", name="2 steps").check()
    assert button.get_attribute("aria-pressed") == "false"
    assert page.evaluate("() => location.hash") == "#samplers?steps=2"
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()

    page, watch = open_page(browser, samplers_site, fragment="#samplers?steps=4&run=dpm%2B%2B2m")
    widget = page.locator("#samplers-widget")
    assert (
        widget.locator(".samplers-status")
        .inner_text()
        .startswith("DPM-Solver++ (2M), 4 steps: 4 model evaluations")
    )
    assert widget.get_by_role("radio", name="4 steps").is_checked()
    assert watch.errors == []
    page.context.close()


def test_the_keyboard_reaches_the_step_counts_and_the_runs(samplers_site, browser):
    page, _ = open_page(browser, samplers_site)
    widget = page.locator("#samplers-widget")
    first = widget.locator(".samplers-run").first
    first.focus()
    page.keyboard.press("Enter")
    assert first.get_attribute("aria-pressed") == "true"
    widget.get_by_role("radio", name="2 steps").focus()
    page.keyboard.press("ArrowRight")
    assert widget.get_by_role("radio", name="4 steps").is_checked()
    assert widget.locator(".samplers-status").inner_text() == "The paths show the samplers with 4 steps."
    page.context.close()


def test_without_javascript_every_picture_and_number_and_the_fewest_steps_paths_show(samplers_site, browser):
    page, watch = open_page(browser, samplers_site, java_script_enabled=False)
    widget = page.locator("#samplers-widget")
    data, _ = runs(samplers_site)
    table = widget.locator(".samplers-table").inner_text()
    for run in data:
        assert f"{run['evaluations']} evaluations" in table and f"off by {run['distance']:.3f}" in table
    assert [h.strip() for h in widget.locator("tbody th").all_inner_texts()] == [
        "DDIM",
        "Euler",
        "DPM-Solver++ (2M)",
        "Heun",
    ]
    assert widget.locator(".samplers-path:not(.is-off)").count() == 4
    pictures = widget.locator("img")
    assert pictures.count() == len(data) + 1 and all(
        img.evaluate("(el) => el.complete && el.naturalWidth == 16") for img in pictures.all()
    )
    assert "Reference: DPM-Solver++ (2M), 12 steps, 12 evaluations" in widget.inner_text()
    assert not widget.locator(".samplers-steps").is_visible()
    assert watch.outside_requests == []
    page.context.close()

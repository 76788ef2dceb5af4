"""The Default Test as a tally: explicit prompts are planned like any trajectory, and each default
picture is sorted to the explicit prompt whose picture it looks most like."""

from __future__ import annotations

import json

import numpy as np
import pytest
from browser import open_page
from conftest import tiny_site, write_content

from stepthrough.bundle import read_manifest
from stepthrough.bundle.ids import Job
from stepthrough.content import load_content
from stepthrough.errors import ContentError
from stepthrough.plan import plan_content
from stepthrough.reduce import nearest_rows, picture_features

TALLY = """
    ---
    title: The Default Test, counted
    widget: tally
    caption: Every picture the model drew for "a cat".
    sweep:
      prompts: ["a cat"]
      seeds: {from: 0, count: 6}
      steps: [3]
    settings:
      compare_with:
        - {prompt: "black cat", tags: {colour: black, size: big}}
        - {prompt: "white cat", tags: {colour: white, size: big}}
        - {prompt: "small black cat", tags: {colour: black, size: small}}
      compare_seeds: [0, 1]
    ---
    Text.
"""
STEPPER = """
    ---
    title: Step
    widget: stepper
    sweep: {prompts: ["white cat"], seeds: [1], steps: [3]}
    ---
"""
EXPLICIT = ("black cat", "white cat", "small black cat")


def test_the_planner_adds_each_explicit_prompt_from_each_compare_seed_once(tmp_path):
    root = write_content(tmp_path / "c", {"01-counted.md": TALLY, "02-step.md": STEPPER})
    plan = plan_content(load_content(root))
    sweep = [Job("a cat", seed, 3, 5.0) for seed in range(6)]  # {from: 0, count: 6}
    references = [Job(p, s, 3, 5.0) for p in EXPLICIT for s in (0, 1)]
    assert plan.sections["counted"] == (*sweep, *references)
    assert plan.projections["counted"].jobs == tuple(sweep)
    assert plan.projections["counted"].references == tuple(references)
    assert len(plan.jobs) == 12  # "white cat" seed 1 is shared with the stepper: rendered once


def test_each_picture_is_sorted_to_the_explicit_picture_it_looks_most_like():
    def picture(rgb, square=None):
        image = np.full((64, 64, 3), rgb, dtype=np.uint8)
        if square is not None:
            image[16:48, 16:48] = square
        return image

    yellow, dark, light = (250, 200, 40), (90, 55, 30), (240, 205, 180)
    references = np.stack([picture(yellow), picture(dark), picture(light)])
    queries = np.stack(
        [
            picture((245, 195, 50)),  # a slightly different yellow
            picture(dark, square=(255, 255, 255)),  # dark, with a white coat in the middle
            picture((230, 200, 185)),
            picture(yellow),  # the very same picture as reference 0, but that pair is excluded
        ]
    )
    exclude = np.zeros((4, 3), dtype=bool)
    exclude[3, 0] = True
    index, distance = nearest_rows(picture_features(queries), picture_features(references), exclude)
    assert index.tolist() == [0, 1, 2, 2]
    assert distance[0] < distance[1] and np.isfinite(distance).all()
    again, _ = nearest_rows(picture_features(queries), picture_features(references), exclude)
    assert again.tolist() == index.tolist()
    assert picture_features(references).shape == (3, 16 * 16 * 3)  # 64×64 box-downscaled to 16×16


def test_a_mistake_in_the_tally_settings_names_file_line_and_what_was_expected(tmp_path):
    wrong = TALLY.replace("compare_seeds: [0, 1]", "compare_seed: [0, 1]")
    root = write_content(tmp_path / "c", {"01-counted.md": wrong})
    with pytest.raises(ContentError) as info:
        load_content(root)
    expected = (
        f"{root}/sections/01-counted.md:14: unknown key 'settings.compare_seed'; "
        "expected one of: compare_with, compare_seeds, people"
    )
    assert info.value.problems == [expected]
    uneven = TALLY.replace("tags: {colour: white, size: big}", "tags: {colour: white}")
    root = write_content(tmp_path / "d", {"01-counted.md": uneven})
    with pytest.raises(ContentError) as info:
        load_content(root)
    assert "01-counted.md:9: key 'settings'" in info.value.problems[0]
    assert "same tags (colour, size); 'white cat' has colour" in info.value.problems[0]


def test_a_seed_range_must_say_from_and_count(tmp_path):
    root = write_content(tmp_path / "c", {"01-counted.md": TALLY.replace("count: 6", "cuont: 6")})
    with pytest.raises(ContentError) as info:
        load_content(root)
    assert info.value.problems[0].endswith(
        "01-counted.md:7: key 'sweep.seeds': a range of seeds is written {from: 0, count: 32} "
        "(from: first seed, count: how many)"
    )


def test_the_tally_drawn_at_the_merge_of_two_ranks_equals_one_process(tmp_path):
    from tiny_model import TinyModel

    from stepthrough.precompute.run import precompute
    from stepthrough.precompute.shards import Rank

    content = load_content(write_content(tmp_path / "c", {"01-counted.md": TALLY}))
    alone = precompute(content, tmp_path / "one", model=TinyModel(), progress=False, batch_size=4)
    for rank in (Rank(0, 2), Rank(1, 2)):
        bundle = precompute(
            content, tmp_path / "two", model=TinyModel(), progress=False, rank=rank, batch_size=4
        )
    assert [p.kind for p in read_manifest(bundle).projections.values()] == ["tally"]
    assert (bundle / "manifest.json").read_text() == (alone / "manifest.json").read_text()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("tally"), {"01-counted.md": TALLY})


def test_the_tally_is_stored_as_a_projection_naming_each_pictures_nearest_explicit_prompt(site):
    bundle = site.parent / "bundles" / "test-bundle"
    manifest = read_manifest(bundle)
    (projection,) = [p for p in manifest.projections.values() if p.kind == "tally"]
    data = json.loads((bundle / projection.file).read_text())
    assert len(data["trajectories"]) == 6 and len(data["references"]) == 6
    assert {manifest.trajectories[t].prompt for t in data["references"]} == set(EXPLICIT)
    for nearest in data["nearest"]:
        assert nearest["trajectory"] in data["references"]
        assert manifest.trajectories[nearest["trajectory"]].prompt == nearest["prompt"]


def chosen_seeds(page) -> list[str]:
    labels = page.locator(".tally-picture.is-chosen .thumb").evaluate_all("els => els.map(e => e.ariaLabel)")
    return sorted(label.split(":")[0] for label in labels)


def test_choosing_a_bar_highlights_its_pictures_and_the_link_restores_it(site, browser):
    page, watch = open_page(browser, site, width=390, height=844)
    data = page.evaluate("() => document.querySelector('#counted-widget .widget-data').stepthroughData")
    for tag in data["tags"]:
        assert (
            sum(
                int(c)
                for c in page.locator(
                    f"table:has(caption:text-is('{tag['name']}')) .tally-count"
                ).evaluate_all("els => els.map(e => e.firstChild.textContent)")
            )
            == 6
        )
    black = data["tags"][0]["values"][0]
    assert (data["tags"][0]["name"], black["value"]) == ("colour", "black")
    # On a phone the contact sheet follows the text in compact form; a tap opens the whole widget.
    assert page.locator("#counted.is-following").count() == 1 and not page.locator(".tally-tags").is_visible()
    page.locator("#counted-widget").click()
    assert page.locator(".tally-tags").is_visible()
    page.get_by_role("button", name=f"colour: black, {black['count']} of 6 pictures").click()
    wanted = sorted(f"Seed {p['seed']}" for p in data["pictures"] if p["tags"]["colour"] == "black")
    assert chosen_seeds(page) == wanted
    dimmed = page.locator(".tally-picture.is-dimmed").count()
    assert dimmed == 6 - len(wanted)
    assert page.evaluate("location.hash") == "#counted?tag=colour&value=black"
    assert f"{len(wanted)} of 6 pictures" in page.locator(".tally-status").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    url = page.url
    page.context.close()

    linked, linked_watch = open_page(browser, site, width=390, fragment="#" + url.split("#", 1)[1])
    assert chosen_seeds(linked) == wanted
    assert (
        linked.get_by_role("button", name=f"colour: black, {black['count']} of 6 pictures").get_attribute(
            "aria-pressed"
        )
        == "true"
    )
    linked.get_by_role("button", name=f"colour: black, {black['count']} of 6 pictures").click()
    assert chosen_seeds(linked) == [] and linked.locator(".tally-picture.is-dimmed").count() == 0
    assert linked.evaluate("location.hash") == "#counted"
    for w in (watch, linked_watch):
        assert w.errors == [] and w.outside_requests == []
    linked.context.close()


def test_each_picture_says_its_nearest_prompt_on_focus_and_without_javascript(site, browser):
    page, _ = open_page(browser, site, width=390)
    first = page.locator(".tally-picture .thumb").first
    nearest = first.get_attribute("aria-label")
    assert nearest.startswith("Seed 0: looks most like “") and nearest.rstrip("”.").split("“")[1] in EXPLICIT
    first.focus()
    assert page.locator(".tally-picture").first.locator(".tally-tip").is_visible()
    assert page.locator(".tally-status").inner_text().startswith("Seed 0 looks most like “")
    page.context.close()
    still, _ = open_page(browser, site, java_script_enabled=False)
    # Without JavaScript the six pictures show as one sheet, each named with its nearest prompt.
    assert still.locator(".tally-picture").count() == 0
    sheet = still.locator("img.tally-still")
    still.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=sheet.element_handle())
    width, height = sheet.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
    assert width == 6 * height and sheet.bounding_box()["width"] > 200
    alt = sheet.get_attribute("alt")
    assert alt.count(" looks most like “") == 6 and "seed 0 looks most like “" in alt
    counts = still.locator(".tally-table").first.locator(".tally-count").all_inner_texts()
    assert sum(int(c.split()[0]) for c in counts) == 6 and still.get_by_role("button").count() == 0
    assert "check it with your own eyes" in still.locator("#counted-widget figcaption").inner_text()
    still.context.close()


def test_the_static_sheet_is_made_once_per_set_of_pictures_and_is_the_same_when_remembered(
    site, tmp_path, monkeypatch
):
    from stepthrough.bundle import formats
    from stepthrough.bundle import manifest as manifest_module
    from stepthrough.site.assets import Assets

    bundle = site.parent / "bundles" / "test-bundle"
    manifest = read_manifest(bundle)
    (projection,) = [p for p in manifest.projections.values() if p.kind == "tally"]
    ids = json.loads((bundle / projection.file).read_text())["trajectories"]
    monkeypatch.setenv("STEPTHROUGH_CACHE", str(tmp_path / "cache"))
    first = Assets(bundle, manifest, tmp_path / "one", {}).sheet_url(ids, 3)
    # a later build (a new process: no pictures held in memory) reads no picture out of its strip
    manifest_module._FINAL_PICTURES.clear()
    monkeypatch.setattr(formats.Image, "open", lambda *a, **k: pytest.fail("decoded a strip again"))
    again = Assets(bundle, manifest, tmp_path / "two", {}).sheet_url(ids, 3)
    assert again == first
    assert (tmp_path / "two" / again).read_bytes() == (tmp_path / "one" / first).read_bytes()
    # other pictures, or another layout, make another sheet
    monkeypatch.undo()
    monkeypatch.setenv("STEPTHROUGH_CACHE", str(tmp_path / "cache"))
    assert Assets(bundle, manifest, tmp_path / "three", {}).sheet_url(ids, 2) != first
    assert Assets(bundle, manifest, tmp_path / "three", {}).sheet_url(ids[:4], 3) != first


DOCTOR = """
    ---
    title: The Default Test, sorted
    widget: tally
    sweep:
      prompts: ["a doctor"]
      seeds: {from: 0, count: 6}
      steps: [3]
    ---
    Text.
"""


@pytest.fixture(scope="module")
def card_site(tmp_path_factory):
    """A tally sorted by the builtin model's data card (the tiny test model stands in for it)."""
    from stepthrough.widgets import tally

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tally, "_card", lambda model: tally._builtin_card())
        return tiny_site(tmp_path_factory.mktemp("sorted"), {"01-sorted.md": DOCTOR})


def test_with_a_data_card_every_picture_is_a_person_or_not_and_only_people_get_gender_and_skin(card_site):
    bundle = card_site.parent / "bundles" / "test-bundle"
    manifest = read_manifest(bundle)
    (projection,) = [p for p in manifest.projections.values() if p.kind == "tally"]
    data = json.loads((bundle / projection.file).read_text())
    assert data["method"] == "card" and data["references"] == [] and len(data["sorted"]) == 6
    for judged in data["sorted"]:
        assert (judged["gender"] is None) == (judged["skin"] is None) == (not judged["person"])
    who = data["learned"]["counts"]["who"]
    assert data["learned"]["pictures"] == 140 and who["a person"]["pictures"] == 90


def test_the_not_a_person_bar_outlines_its_pictures_beside_the_share_in_the_training_pictures(card_site, browser):
    page, watch = open_page(browser, card_site, width=1280, height=900)
    data = page.evaluate("() => document.querySelector('#sorted-widget .widget-data').stepthroughData")
    assert [t["name"] for t in data["tags"]] == ["who", "gender", "skin"]
    objects = sorted(f"Seed {p['seed']}" for p in data["pictures"] if p["tags"]["who"] == "not a person")
    button = page.get_by_role("button", name=f"Who is in the picture: not a person, {len(objects)} of 6 pictures")
    button.click()
    assert chosen_seeds(page) == objects
    assert page.evaluate("location.hash").startswith("#sorted?tag=who&value=not")
    assert f"{len(objects)} of 6 pictures sorted as not a person" in page.locator(".tally-status").inner_text()
    url = page.url
    table = page.locator(".tally-compare table").first
    assert "captioned “doctor”" in table.inner_text() and "90 (64%)" in table.inner_text()
    words = page.locator("#sorted-widget figcaption").inner_text()
    assert "Of the 140 training pictures captioned “doctor”, 64% show a person" in words
    assert "that this model drew (version u7726), the program agreed on person or not 119 times" in words
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()
    linked, _ = open_page(browser, card_site, width=1280, fragment="#" + url.split("#", 1)[1])
    assert chosen_seeds(linked) == objects
    linked.context.close()
    narrow, _ = open_page(browser, card_site, width=320)
    narrow.locator("#sorted-widget").click()
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 320
    narrow.context.close()
    still, _ = open_page(browser, card_site, java_script_enabled=False)
    alt = still.locator("img.tally-still").get_attribute("alt")
    assert alt.count(" sorted as ") == 6 and still.get_by_role("button").count() == 0
    assert still.locator(".tally-compare").inner_text().count("%") >= 4
    still.context.close()


def test_a_prompt_that_no_training_picture_carries_is_sorted_but_compared_with_nothing():
    from stepthrough.widgets.tally import _builtin_card
    from stepthrough.widgets.tally.sorter import learned_from

    learned = learned_from(_builtin_card(), "a purple spaceship with wheels")
    assert learned["pictures"] == 0 and learned["counts"] == {}

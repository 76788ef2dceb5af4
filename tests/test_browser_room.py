"""Seeds across the room: one link gives every device its own seed, and the facilitator tallies
what the room reports, by hand, offline. The room's section is a stepper with `room:` settings
(precomputed seeds) or a draw section (each device draws its own seed live)."""

from __future__ import annotations

import pytest
from browser import open_page
from conftest import tiny_site
from test_browser_draw import DRAW as DRAW_SECTION

from stepthrough.content import load_content
from stepthrough.widgets import WIDGETS

WATCH = """
    ---
    title: Watch it denoise
    widget: stepper
    settings:
      room: {prompt: "a doctor", seeds: {from: 0, count: 4}}
    sweep:
      prompts: ["a doctor", "red apple"]
      seeds: [1]
      steps: [4]
    ---
    Words beside the widget.
"""

TALK = """
    ---
    title: Talk
    workshop:
      sequence:
        - title: Everyone's seed
          minutes: 2
          sections: [watch]
          room: true
      room:
        section: watch
        ask: Who did the model draw?
        count:
          a person or not: [a person, not a person]
          gender: [woman, man, "can't tell"]
    ---
    Talk about it.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("room"), {"01-watch.md": WATCH, "02-talk.md": TALK})


def pick(random_value: int) -> str:
    """An init script that makes the device's random number `random_value`."""
    return f"crypto.getRandomValues = function (a) {{ a[0] = {random_value}; return a; }};"


def test_the_room_adds_only_the_rooms_prompt_from_each_seed(tmp_path):
    from conftest import write_content

    section = load_content(write_content(tmp_path / "c", {"01-watch.md": WATCH})).sections[0]
    jobs = WIDGETS["stepper"].jobs(section.meta.sweep, section.settings)
    assert [(j.prompt, j.seed) for j in jobs] == [
        ("a doctor", 1),
        ("red apple", 1),
        ("a doctor", 0),
        ("a doctor", 2),
        ("a doctor", 3),
    ]  # seed 1 of "a doctor" is in the sweep already: rendered once


def test_each_device_gets_its_own_seed_shown_big_and_keeps_it(site, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(pick(2))
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((site / "index.html").resolve().as_uri() + "#watch?seed=room")
    badge = page.locator(".stepper-room")
    assert badge.is_visible() and badge.locator("strong").inner_text() == "2"
    assert page.get_by_label("Seed").locator("option:checked").inner_text() == "2"
    assert "a doctor" in page.locator(".stepper-status").inner_text()
    mine = page.locator(".stepper-frame").screenshot()
    context.add_init_script(pick(3))  # a reload asks for a new number, but the device keeps its seed
    page.reload()
    assert badge.locator("strong").inner_text() == "2"
    assert page.locator(".stepper-frame").screenshot() == mine
    context.close()

    other = browser.new_context(viewport={"width": 1280, "height": 900})
    other.add_init_script(pick(3))
    page = other.new_page()
    page.goto((site / "index.html").resolve().as_uri() + "#watch?seed=room")
    assert page.locator(".stepper-room strong").inner_text() == "3"
    assert page.locator(".stepper-frame").screenshot() != mine
    # A prompt without the room's seeds moves to a seed it has; the badge goes, as the seed is not yours.
    page.get_by_label("Prompt").select_option(label="red apple")
    assert "red apple" in page.locator(".stepper-status").inner_text()
    assert page.get_by_label("Seed").locator("option:checked").inner_text() == "1"
    assert not page.locator(".stepper-room").is_visible()
    other.close()
    assert errors == []


def test_the_notes_window_tallies_what_the_room_reports_and_the_projector_shows_the_link(site, browser):
    page, watch = open_page(browser, site, width=1280, height=720, fragment="#present")
    assert page.locator(".present-room").inner_text() == "On your device, open index.html#watch?seed=room"
    with page.context.expect_page() as opened:
        page.keyboard.press("w")
    window = opened.value
    window.wait_for_load_state("load")
    room = window.locator(".notes-room")
    assert (
        "index.html#watch?seed=room" in room.inner_text() and "Who did the model draw?" in room.inner_text()
    )
    window.get_by_label("one more woman").click()
    window.get_by_label("one more woman").click()
    window.get_by_label("one more man").click()
    window.get_by_label("one more woman").click()
    window.get_by_label("one fewer woman").click()
    window.get_by_label("one more a person").click()
    window.get_by_label("one more not a person").click()
    window.get_by_label("one more not a person").click()
    counts = window.locator(".room-count")
    assert counts.all_inner_texts() == ["1", "2", "2", "1", "0"]
    assert window.locator(".room-total").all_inner_texts() == ["3 reported", "3 reported"]
    window.reload()  # the tally stays on the facilitator's device
    assert window.locator(".room-count").all_inner_texts() == ["1", "2", "2", "1", "0"]
    window.get_by_role("button", name="Start again").click()
    assert window.locator(".room-count").all_inner_texts() == ["0"] * 5
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_the_default_room_tally_counts_not_a_person_before_gender_and_skin():
    from stepthrough.cli import DEFAULT_CONTENT

    _, workshop = load_content(DEFAULT_CONTENT).workshop
    room = workshop.room
    first, *rest = room.count.items()
    assert first == ("a person or not", ["a person", "not a person"])
    assert [name for name, _ in rest] == ["gender", "skin"] and "not a person" in room.ask


POISON = [
    '"abc"',
    "5",
    "[1, 2]",
    "not json",
    '{"gender\\u0000woman": "99", "gender\\u0000man": -5, "gender\\u0000can\'t tell": 1.5, "__proto__": {"x": 1}}',
    '{"gender\\u0000woman": 1e400, "constructor": 7}',
]


def count(window, value: str) -> str:
    """The tally's count for `value`, beside its buttons."""
    row = window.get_by_label(f"one more {value}", exact=True).locator("xpath=..")
    return row.locator(".room-count").inner_text()


@pytest.mark.parametrize("stored", POISON)
def test_a_poisoned_stored_tally_counts_as_nothing_and_its_buttons_still_work(site, browser, stored):
    page, watch = open_page(browser, site, width=1280, height=720, fragment="#present")
    # Another page of this origin (under file: any local file) wrote the tally's key.
    page.evaluate("stored => localStorage.setItem('stepthrough-room-tally:' + document.title, stored)", stored)
    with page.context.expect_page() as opened:
        page.keyboard.press("w")
    window = opened.value
    window.wait_for_load_state("load")
    errors: list[str] = []
    window.on("pageerror", lambda exc: errors.append(str(exc)))
    assert set(window.locator(".room-count").all_inner_texts()) == {"0"}
    window.get_by_label("one more woman").click()
    window.get_by_label("one more man").click()
    assert count(window, "woman") == "1" and count(window, "man") == "1" and count(window, "can't tell") == "0"
    assert "2 reported" in window.locator(".room-total").all_inner_texts()
    # And written while the window is open (the storage event): still only whole counts.
    page.evaluate("stored => localStorage.setItem('stepthrough-room-tally:' + document.title, stored)", stored)
    window.wait_for_timeout(100)
    window.get_by_label("one more woman").click()
    assert count(window, "woman") == "1"
    assert errors == [] and watch.errors == []
    page.evaluate("() => localStorage.clear()")
    page.context.close()


DRAW = DRAW_SECTION.replace("steps: [3]", "steps: [2]")  # few steps: each device draws live

DRAW_TALK = TALK.replace("sections: [watch]", "sections: [draw]").replace(
    "section: watch", "section: draw\n        prompt: cat"
)


@pytest.fixture(scope="module")
def draw_room(tmp_path_factory):
    from conftest import write_content

    from stepthrough.precompute.models.builtin import load_builtin
    from stepthrough.precompute.run import precompute
    from stepthrough.site.build import build_site

    root = tmp_path_factory.mktemp("draw-room")
    content = load_content(write_content(root / "content", {"01-draw.md": DRAW, "02-talk.md": DRAW_TALK}))
    bundle = precompute(content, root / "bundles", model=load_builtin(), progress=False)
    return build_site(content, bundle, root / "site")


def test_a_draw_room_has_every_device_draw_its_own_seed_of_the_rooms_prompt(draw_room, browser):
    page, watch = open_page(browser, draw_room, width=1280, height=720, fragment="#present")
    link = "index.html#draw?prompt=cat&seed=room"
    assert page.locator(".present-room").inner_text() == f"On your device, open {link}"
    page.context.close()
    pictures = []
    for device in (2, 3):  # two devices, two browser contexts, each its own random number
        context = browser.new_context(viewport={"width": 390, "height": 844})
        context.add_init_script(pick(device))
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(draw_room.resolve().as_uri() + "/" + link)
        page.wait_for_selector("[data-widget=draw][data-drawn='3']", timeout=600_000)  # it draws by itself
        draw = "document.querySelector('[data-widget=draw]').stepthroughDraw"
        assert page.evaluate(f"{draw}.state.seed") == str(device)
        assert f"Your own seed for this room: {device}." in page.inner_text(".draw-match")
        assert "“cat” · seed " + str(device) in page.get_attribute(".draw-frame", "aria-label")
        pictures.append(page.evaluate(f"{draw}.result.picture"))
        assert errors == []
        context.close()
    assert pictures[0] != pictures[1]
    assert watch.errors == []


def test_a_room_section_that_is_neither_a_room_stepper_nor_a_draw_section_is_one_line(tmp_path):
    from conftest import write_content

    from stepthrough.errors import ContentError

    plain = WATCH.replace('    settings:\n      room: {prompt: "a doctor", seeds: {from: 0, count: 4}}\n', "")
    with pytest.raises(ContentError) as info:
        load_content(write_content(tmp_path / "c", {"01-watch.md": plain, "02-talk.md": TALK}))
    [problem] = info.value.problems
    assert problem.endswith(
        "02-talk.md:10: key 'workshop.room.section': expected a stepper section whose settings have "
        "'room:', or a draw section (got 'watch')"
    )
    with pytest.raises(ContentError) as info:
        wrong = DRAW_TALK.replace("prompt: cat", "prompt: a unicorn pilot")
        load_content(write_content(tmp_path / "d", {"01-draw.md": DRAW, "02-talk.md": wrong}))
    [problem] = info.value.problems
    assert "key 'workshop.room.prompt': the draw widget cannot draw 'a unicorn pilot'" in problem

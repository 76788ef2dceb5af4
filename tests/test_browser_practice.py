"""The practice page in headless Chromium from file://: answers, ordering, flashcards, printing."""

from __future__ import annotations

import re
import shutil

import pytest
from browser import open_page
from conftest import tiny_site
from test_practice import PRACTICE, TEXT


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return tiny_site(tmp_path_factory.mktemp("practice"), TEXT, practice=PRACTICE)


def open_practice(browser, site, **options):
    return open_page(browser, site, file="practice.html", **options)


def test_the_main_page_links_to_the_practice_page_and_back(site, browser):
    page, watch = open_page(browser, site)
    page.get_by_role("link", name="Practice: test yourself").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Try it yourself"
    page.get_by_role("link", name="Back to Test site").click()
    assert page.url.endswith("/index.html")
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_the_single_file_export_gives_the_practice_page_its_own_file_linked_both_ways(
    site, browser, tmp_path
):
    from stepthrough.site.single_file import single_file

    main_file, practice_file = single_file(site)
    assert (main_file.name, practice_file.name) == (f"{site.name}.html", f"{site.name}-practice.html")
    for made in (main_file, practice_file):  # only the two files, side by side in an empty folder
        shutil.copyfile(made, tmp_path / made.name)
    page, watch = open_page(browser, tmp_path / main_file.name)
    page.get_by_role("link", name="Practice: test yourself").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Try it yourself"
    page.locator("#q-2 summary").click()
    assert page.get_by_text("Each guess builds on a clearer picture.").is_visible()
    page.get_by_role("link", name="Back to Test site").click()
    assert page.url.endswith(f"/{main_file.name}")
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_the_single_file_mailed_alone_still_opens_its_practice_page(site, browser, tmp_path):
    from stepthrough.site.single_file import single_file

    main_file, _ = single_file(site)
    alone = shutil.copyfile(main_file, tmp_path / "from-my-teacher.html")  # no practice file beside it
    page, watch = open_page(browser, alone)
    page.get_by_role("link", name="Practice: test yourself").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Try it yourself"
    page.locator(".card").first.click()  # its script runs: the card turns
    assert page.locator(".card").first.get_attribute("aria-pressed") == "true"
    page.get_by_role("link", name="Back to Test site").click()
    assert page.url.endswith("/from-my-teacher.html")
    assert {url.rsplit("/", 1)[-1] for url in watch.file_requests} == {"from-my-teacher.html"}
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_an_answer_stays_hidden_until_the_reader_opens_it(site, browser):
    page, watch = open_practice(browser, site)
    answer = page.get_by_text("Each guess builds on a clearer picture.")
    assert not answer.is_visible()
    page.locator("#q-2 summary").click()
    assert answer.is_visible()
    assert not page.get_by_text("Made from a seed.").is_visible()  # the other answers stay closed
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def stage_texts(page) -> list[str]:
    return page.locator(".order-stage .order-text").all_inner_texts()


RIGHT = [
    "We have training images.",
    "We add noise to them.",
    "The network learns to guess the noise.",
    "A new image appears.",
]


def test_ordering_is_wrong_as_scrambled_and_right_once_fixed_with_taps_and_keys(site, browser):
    page, watch = open_practice(browser, site, width=390, height=800, has_touch=True, is_mobile=True)
    assert sorted(stage_texts(page)) == sorted(RIGHT) and stage_texts(page) != RIGHT
    check = page.get_by_role("button", name="Check")
    check.tap()
    assert page.get_by_role("status").inner_text().startswith("0 of 4 stages are in the right place")
    assert page.locator(".order-stage.is-wrong").count() == 4
    # Sort by moving each stage up to its place: the first with a finger, the rest with the keyboard.
    for place, text in enumerate(RIGHT):
        up = page.get_by_role("button", name=f"Move up: {text}")
        while stage_texts(page).index(text) > place:
            if place == 0:
                up.tap()
            else:
                up.focus()
                page.keyboard.press("Enter")
                assert page.evaluate("document.activeElement.getAttribute('aria-label')").endswith(text)
        assert page.locator(".order-result").inner_text() == ""  # a move clears the last verdict
    assert stage_texts(page) == RIGHT
    assert page.get_by_role("button", name=f"Move up: {RIGHT[0]}").is_disabled()
    check.tap()
    assert page.get_by_role("status").inner_text() == "All 4 stages are in the right order. Well done!"
    assert page.locator(".order-stage.is-right").count() == 4
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_a_flashcard_turns_over_on_click_and_with_enter_or_space(site, browser):
    page, watch = open_practice(browser, site)
    first, second = page.locator(".card").nth(0), page.locator(".card").nth(1)
    assert first.get_by_text("Seed").is_visible() and not first.get_by_text("starting noise").is_visible()
    first.click()
    assert first.get_by_text("starting noise").is_visible() and not first.get_by_text("Seed").is_visible()
    assert page.evaluate("location.hash") == "#card-1"
    second.focus()
    page.keyboard.press("Enter")
    assert second.get_by_text("How hard the prompt pushes.").is_visible()
    assert second.get_attribute("aria-pressed") == "true"
    assert page.evaluate("location.hash") == "#card-2"
    page.keyboard.press(" ")
    assert second.get_by_text("CFG").is_visible() and second.get_attribute("aria-pressed") == "false"
    assert page.evaluate("location.hash") == ""  # the link no longer names a card showing its back
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


def test_a_link_to_a_card_opens_it_turned_over(site, browser):
    page, watch = open_practice(browser, site, fragment="#card-3")
    card = page.locator("#card-3 .card")
    assert card.get_by_text("A smaller picture the model works in.").is_visible()
    assert page.locator("#card-1 .card").get_by_text("Seed").is_visible()
    assert watch.errors == []
    page.context.close()


def test_printing_gives_the_cards_and_nothing_else_with_both_sides(site, browser):
    page, watch = open_practice(browser, site)
    page.locator(".card").first.click()  # a turned card still prints both sides
    page.emulate_media(media="print")
    assert not page.get_by_text("Where does generation start?").is_visible()
    assert not page.locator("#order").is_visible() and not page.locator("h1").is_visible()
    assert not page.get_by_role("button", name="Print the cards").is_visible()
    for card in page.locator(".card").all():
        assert card.locator(".card-front").is_visible() and card.locator(".card-back").is_visible()
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()


@pytest.fixture(scope="module")
def default_practice(tmp_path_factory):
    """The default practice page (eleven cards), built without the explainer's pictures (no bundle
    here): its sections without widgets, its cards without their pictures."""
    import dataclasses
    from pathlib import Path

    from stepthrough.content import load_content
    from stepthrough.site.build import build_site

    root = tmp_path_factory.mktemp("default-practice")
    content = load_content(Path(__file__).resolve().parents[1] / "stepthrough" / "default_content")
    meta = content.practice.meta
    cards = [type(c)(**(vars(c) | {"picture": ""})) for c in meta.flashcards]
    practice = dataclasses.replace(content.practice, meta=type(meta)(**(vars(meta) | {"flashcards": cards})))
    text_only = dataclasses.replace(
        content, sections=tuple(s for s in content.sections if not s.meta.widget), practice=practice
    )
    return build_site(text_only, root / "no-bundle", root / "site")


@pytest.mark.parametrize("per_page, pages", [(None, 2), ("6", 2), ("4", 3), ("1", 11)])
def test_the_cards_print_six_four_or_one_to_an_a4_sheet_folded_halfway(
    default_practice, browser, per_page, pages
):
    page, watch = open_practice(browser, default_practice)
    if per_page:
        page.locator(".cards-per-page").get_by_label(per_page, exact=True).check()
    pdf = page.pdf(format="Letter", prefer_css_page_size=True)  # the cards ask for A4 themselves
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == pages
    assert re.search(rb"/MediaBox \[0 0 59[45]\.\d+ 84[12]\.\d+\]", pdf)  # A4 in points
    page.emulate_media(media="print")
    for card in page.locator(".card").all():  # the fold (the front's lower edge) halfway down the card
        front, whole = card.locator(".card-front").bounding_box(), card.bounding_box()
        assert abs(front["y"] + front["height"] - (whole["y"] + whole["height"] / 2)) <= 1.5
    assert watch.errors == []
    page.context.close()


def test_without_javascript_answers_wait_in_details_and_cards_show_both_sides(site, browser):
    page, _ = open_practice(browser, site, java_script_enabled=False)
    assert not page.get_by_text("Each guess builds on a clearer picture.").is_visible()
    assert not page.get_by_role("button", name="Check").is_visible()
    page.get_by_text("Show the right order").click()
    right = page.locator("#order details li").all_inner_texts()
    assert right == RIGHT
    assert page.locator(".card-back").first.is_visible() and page.locator(".card-front").first.is_visible()
    page.context.close()


PICTURED = """
    ---
    title: Try it with pictures
    questions:
      - question: What does the model start from?
        picture: watch?prompt=red+apple&step=0
        answer: From pure noise.
    flashcards:
      - front: The noisy canvas or the model's guess?
        picture: index.html#watch?prompt=red+apple&step=1&view=x0
        back: The model's guess.
      - front: Seed
        back: The number behind the starting noise.
    ---
    Pictures from the explainer.
"""


@pytest.fixture(scope="module")
def pictured_site(tmp_path_factory):
    from conftest import STEPPER_SECTION

    return tiny_site(tmp_path_factory.mktemp("pictured"), {"01-watch.md": STEPPER_SECTION}, practice=PICTURED)


FRAME = "(el) => { const s = getComputedStyle(el); return [s.backgroundImage.split('/').pop(), s.backgroundPosition]; }"


def test_a_question_and_a_card_show_the_frame_their_link_names_and_it_prints(pictured_site, browser):
    from io import BytesIO

    from PIL import Image, ImageStat

    page, watch = open_practice(browser, pictured_site, width=900, height=900)
    question = page.locator("#q-1 .practice-picture")
    card = page.locator("#card-1 .card-front .practice-picture")
    assert page.locator(".practice-picture").count() == 2  # the card without a link has none
    assert question.get_attribute("aria-label") == "A picture from “Watch it denoise”: step 0 of 3 for “red apple”."
    assert question.get_attribute("role") == "img"
    # the very frame the explainer shows at that link
    for picture, fragment in ((question, "#watch?prompt=red+apple&step=0"), (card, "#watch?prompt=red+apple&step=1&view=x0")):
        explainer, _ = open_page(browser, pictured_site, fragment=fragment)
        assert picture.evaluate(FRAME) == explainer.locator("#watch-widget .stepper-frame").evaluate(FRAME)
        explainer.context.close()
        shot = Image.open(BytesIO(picture.screenshot()))
        assert shot.width >= 80 and max(ImageStat.Stat(shot.convert("RGB")).stddev) > 3  # a picture, not blank
    assert page.evaluate(FRAME.replace("(el)", "(el = document.querySelector('#q-1 .practice-picture'))")) != card.evaluate(FRAME)
    # printed: the card's picture on its front, above the fold, with its pixels
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Subtype\s*/Image", pdf)) >= 1
    page.emulate_media(media="print")
    front = page.locator("#card-1 .card-front").bounding_box()
    box = card.bounding_box()
    assert card.is_visible() and front["y"] <= box["y"] and box["y"] + box["height"] <= front["y"] + front["height"] + 0.5
    assert max(ImageStat.Stat(Image.open(BytesIO(card.screenshot())).convert("RGB")).stddev) > 3
    assert watch.errors == [] and watch.outside_requests == []
    page.context.close()

"""The practice page's content (practice.md): what loads, what a mistake says, and what the build writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_content

from stepthrough.cli import main
from stepthrough.content import load_content
from stepthrough.errors import ContentError
from stepthrough.site.build import build_site
from stepthrough.site.practice import scrambled

TEXT = {"01-words.md": "---\ntitle: Words\n---\nA text-only section.\n"}

PRACTICE = """
    ---
    title: Try it yourself
    questions:
      - question: Where does generation start?
        answer: |
          From **pure noise**.

          Made from a seed.
      - question: Why many steps?
        answer: Each guess builds on a clearer picture.
    order:
      - We have training images.
      - We add noise to them.
      - The network learns to guess the noise.
      - A new image appears.
    predict:
      prompt: Predict *three things* you would notice.
      answer: "1. Seeds matter."
    flashcards:
      - {front: Seed, back: The number that picks the starting noise.}
      - {front: CFG, back: How hard the prompt pushes.}
      - {front: Latent, back: A smaller picture the model works in.}
    ---
    Test yourself on *diffusion*.
"""


def practice_problems(tmp_path: Path, practice: str) -> list[str]:
    root = write_content(tmp_path / "c", TEXT, practice=practice)
    with pytest.raises(ContentError) as info:
        load_content(root)
    return info.value.problems


def test_practice_md_loads_with_every_part(tmp_path):
    page = load_content(write_content(tmp_path / "c", TEXT, practice=PRACTICE)).practice
    assert page.meta.title == "Try it yourself"
    assert [q.question for q in page.meta.questions] == ["Where does generation start?", "Why many steps?"]
    assert page.meta.order[-1] == "A new image appears."
    assert page.meta.predict.answer == "1. Seeds matter."
    assert [c.front for c in page.meta.flashcards] == ["Seed", "CFG", "Latent"]
    assert "Test yourself" in page.body


def test_a_content_folder_without_practice_md_has_no_practice_page(tmp_path):
    assert load_content(write_content(tmp_path / "c", TEXT)).practice is None


def test_the_default_content_has_six_questions_six_stages_a_prediction_and_eleven_cards_two_with_pictures():
    page = load_content(Path(__file__).resolve().parents[1] / "stepthrough" / "default_content").practice
    assert len(page.meta.questions) == 6 and len(page.meta.order) == 6
    assert page.meta.predict is not None and len(page.meta.flashcards) == 11
    assert [c.front for c in page.meta.flashcards if c.picture] == ["Noise", "The noisy canvas or the model's guess?"]


def test_a_misspelt_key_in_a_question_names_file_line_and_the_keys_allowed(tmp_path):
    text = "---\nquestions:\n  - question: Q?\n    anwser: A.\n---\n"
    missing, unknown = sorted(practice_problems(tmp_path, text))
    assert missing.endswith("practice.md:3: missing key 'questions.0.answer'")
    assert unknown.endswith(
        "practice.md:4: unknown key 'questions.0.anwser'; expected one of: question, answer, picture"
    )


def test_a_flashcard_without_a_back_points_at_the_card(tmp_path):
    text = "---\nflashcards:\n  - front: Seed\n    back: A number.\n  - front: Noise\n---\n"
    [problem] = practice_problems(tmp_path, text)
    assert problem.endswith("practice.md:5: missing key 'flashcards.1.back'")


def test_an_ordering_exercise_needs_three_different_stages(tmp_path):
    [short] = practice_problems(tmp_path, "---\norder: [first, last]\n---\n")
    assert "practice.md:2: key 'order'" in short and "at least 3 items" in short
    [twice] = practice_problems(tmp_path / "b", "---\ntitle: T\norder:\n  - a\n  - b\n  - a\n---\n")
    assert twice.endswith("practice.md:3: key 'order': 'a' is listed twice; each stage must be different")


def test_a_practice_page_with_nothing_to_practise_is_refused(tmp_path):
    [problem] = practice_problems(tmp_path, "---\ntitle: Practice\n---\nHello.\n")
    assert problem.endswith(
        "practice.md:2: nothing to practise; add at least one of: questions, order, predict, flashcards"
    )


def test_cli_reports_a_practice_mistake_in_one_line_with_exit_code_2(tmp_path):
    root = write_content(tmp_path / "c", TEXT, practice="---\nflashcard:\n  - {front: a, back: b}\n---\n")
    result = CliRunner().invoke(main, ["build", "--content", str(root), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "practice.md:2: unknown key 'flashcard'; expected one of: title, questions, order, predict, flashcards"
    )
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("count", [3, 4, 6, 12])
def test_the_stages_start_mixed_up_with_none_in_place_and_the_same_every_build(count):
    order = scrambled(count)
    assert sorted(order) == list(range(count))
    assert all(place != at for at, place in enumerate(order))
    assert scrambled(count) == order


def build(tmp_path: Path, practice: str | None) -> Path:
    content = load_content(write_content(tmp_path / "content", TEXT, practice=practice))
    return build_site(content, tmp_path / "bundles" / "none", tmp_path / "site")


def test_the_practice_page_is_built_and_linked_both_ways(tmp_path):
    site = build(tmp_path, PRACTICE)
    index, practice = (site / "index.html").read_text(), (site / "practice.html").read_text()
    assert index.count('href="practice.html"') == 2  # at the top and after the last section
    assert 'href="index.html"' in practice and "<title>Try it yourself · Test site</title>" in practice
    for url in re.findall(r'(?:src|href)="([^"#]+)"', practice):
        if url.startswith("data:"):  # inside the page itself (the icon)
            continue
        assert not url.startswith(("http:", "https:", "//", "/")) and (site / url).is_file(), url
    assert "<strong>pure noise</strong>" in practice and "<em>three things</em>" in practice
    assert "<em>diffusion</em>" in practice  # the introduction
    stages = re.findall(
        r'<li class="order-stage" data-place="(\d)">\s*<span class="order-text">([^<]+)<', practice
    )
    assert sorted(stages) == [
        ("0", "We have training images."),
        ("1", "We add noise to them."),
        ("2", "The network learns to guess the noise."),
        ("3", "A new image appears."),
    ]
    assert [int(place) for place, _ in stages] == scrambled(4)


def test_without_practice_md_the_site_is_as_before(tmp_path):
    site = build(tmp_path, None)
    assert not (site / "practice.html").exists() and not (site / "assets" / "practice.js").exists()
    assert "practice" not in (site / "index.html").read_text()


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ("watch?prompt=a+nurse", "no prompt 'a nurse' in section 'watch' (it has: a doctor, red apple)"),
        ("watch?view=sketch", "no view 'sketch' in section 'watch' (it has: xt, x0, noise)"),
        ("watch?step=9", "step '9' is not a whole number from 0 to 3"),
        ("words?step=1", "'words' is not a step-through viewer's section (they are: watch)"),
    ],
)
def test_a_picture_link_that_names_nothing_there_is_one_line_with_file_and_key(tmp_path, link, says):
    from conftest import STEPPER_SECTION
    from tiny_model import TinyModel

    from stepthrough.precompute.run import precompute

    practice = f"""
        ---
        questions:
          - question: What is this?
            answer: A picture.
          - question: And this?
            picture: "{link}"
            answer: Another.
        ---
        Practice.
    """
    content = load_content(write_content(tmp_path / "c", TEXT | {"02-watch.md": STEPPER_SECTION}, practice=practice))
    bundle = precompute(content, tmp_path / "bundles", model=TinyModel(), progress=False)
    with pytest.raises(ContentError) as info:
        build_site(content, bundle, tmp_path / "site")
    assert info.value.problems == [f"{tmp_path / 'c' / 'practice.md'}: key 'questions.1.picture': {says}"]
    assert not (tmp_path / "site" / "practice.html").exists()

"""The workshop as content (`workshop:` front matter), the projector's lines (`present:`), and the
facilitator sheet the build writes from them."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from conftest import write_content

from stepthrough.content import load_content
from stepthrough.errors import ContentError
from stepthrough.site.build import build_site
from stepthrough.site.markdown import Markdown
from stepthrough.site.present import (
    first_sentence,
    present_data,
    present_lines,
    sequence_slides,
    workshop_data,
)

ROOT = Path(__file__).resolve().parents[1]

INTRO = """
    ---
    title: Intro
    ---
    The first sentence of the intro. More of it.

    *A second thought. With more.* And the rest.
"""

WORKSHOP = """
    ---
    title: Talk
    present: ["**Human:** what surprised you?"]
    workshop:
      title: A short session
      lenses:
        - name: Human
          about: you and your choices
          questions: ["What surprised you?"]
      debrief: ["Where do gap-fillers come from?"]
      sequence:
        - title: Hook
          minutes: 1.5
          sections: [intro]
          do: Read the intro aloud.
          ask: ["What do you expect?"]
        - title: Debrief
          minutes: 2
          sections: [talk]
      notes: Works offline.
    ---
    Talk about it.
"""


def text_site(tmp_path: Path, sections: dict[str, str]) -> Path:
    """A site of text-only sections: it needs no bundle."""
    content = load_content(write_content(tmp_path / "content", sections))
    return build_site(content, tmp_path / "bundles" / "none", tmp_path / "site")


def problems_for(tmp_path: Path, sections: dict[str, str]) -> list[str]:
    with pytest.raises(ContentError) as info:
        load_content(write_content(tmp_path / "c", sections))
    return info.value.problems


def test_the_default_workshop_is_a_complete_12_minute_sequence_with_four_lenses_and_a_debrief():
    content = load_content(ROOT / "stepthrough" / "default_content")
    section, workshop = content.workshop
    assert section.id == "talk-about-it"
    assert workshop.minutes == 12
    assert [lens.name for lens in workshop.lenses] == ["Human", "Machine", "System", "Ethics"]
    assert all(len(lens.questions) >= 2 for lens in workshop.lenses)
    assert len(workshop.debrief) >= 3
    ids = {s.id for s in content.sections}
    for step in workshop.sequence:
        assert set(step.sections) <= ids and step.do
    assert workshop.sequence[-1].sections == ["talk-about-it"]  # the debrief shows the lenses


def test_a_step_that_names_no_section_is_one_line_with_file_line_and_key(tmp_path):
    broken = WORKSHOP.replace("sections: [intro]", "sections: [intr]")
    [problem] = problems_for(tmp_path, {"01-intro.md": INTRO, "02-talk.md": broken})
    assert problem.endswith(
        "02-talk.md:14: key 'workshop.sequence.0.sections.0': no section 'intr'; expected a section's id: "
        "its file name without the number and .md, such as 'step-through'"
    )


def test_minutes_are_checked_like_any_other_number(tmp_path):
    broken = WORKSHOP.replace("minutes: 1.5", "minutes: 0")
    [problem] = problems_for(tmp_path, {"01-intro.md": INTRO, "02-talk.md": broken})
    assert problem.endswith(
        "02-talk.md:13: key 'workshop.sequence.0.minutes': expected a number from 0.5 to 120 (got 0)"
    )


def test_only_one_section_may_hold_the_workshop(tmp_path):
    [problem] = problems_for(tmp_path, {"01-intro.md": INTRO, "02-talk.md": WORKSHOP, "03-more.md": WORKSHOP})
    assert problem.endswith(
        "03-more.md:4: key 'workshop': only one section may hold the workshop, and 02-talk.md does"
    )


def test_projector_lines_are_the_first_sentences_unless_the_section_writes_its_own(tmp_path):
    content = load_content(write_content(tmp_path / "c", {"01-intro.md": INTRO, "02-talk.md": WORKSHOP}))
    markdown = Markdown(allow_html=False)
    intro, talk = content.sections
    assert present_lines(intro, markdown) == [
        "The first sentence of the intro.",
        "<em>A second thought. With more.</em>",  # an emphasis is never cut in two
    ]
    assert present_lines(talk, markdown) == ["<strong>Human:</strong> what surprised you?"]
    assert first_sentence('Ask "is it noise? or not" twice. Then') == 'Ask "is it noise? or not" twice.'


def test_the_build_shows_the_lenses_and_writes_a_one_page_facilitator_sheet(tmp_path):
    site = text_site(tmp_path, {"01-intro.md": INTRO, "02-talk.md": WORKSHOP})
    page = (site / "index.html").read_text()
    assert "Human — you and your choices" in page and "Where do gap-fillers come from?" in page
    assert 'href="facilitator.html"' in page and 'href="#present"' in page
    assert '<script defer src="assets/present.js"></script>' in page
    sheet = (site / "facilitator.html").read_text()
    for text in (
        "A short session",
        "3.5 minutes",
        "Read the intro aloud.",
        "What do you expect?",
        "Works offline.",
    ):
        assert text in sheet


def test_content_without_a_workshop_gets_no_sheet(tmp_path):
    site = text_site(tmp_path, {"01-intro.md": INTRO})
    assert not (site / "facilitator.html").exists()
    assert "facilitator.html" not in (site / "index.html").read_text()


def test_the_readme_documents_every_workshop_key():
    from stepthrough.content import Lens, Room, Workshop, WorkshopStep

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### The workshop") :]
    for schema in (Workshop, Lens, WorkshopStep, Room):
        for key in schema.options:
            assert f"{key}:" in section, f"README's workshop section lacks '{key}:'"
    assert "present:" in readme


def test_no_two_slides_in_a_row_show_the_same_section_unless_a_step_asks_for_nothing_else():

    def step(*sections):
        return {"sections": list(sections)}

    # the Default Test step names the step-through viewer again, right after the Step through step
    slides = sequence_slides([step("hook"), step("step-through"), step("step-through", "default-test"), step("talk")])
    assert slides == [
        {"section": "hook", "step": 0},
        {"section": "step-through", "step": 1},
        {"section": "default-test", "step": 2},  # the step begins on its next section
        {"section": "talk", "step": 3},
    ]
    # a step of that one section alone is the author asking for it again; later on, a return is too
    assert [s["section"] for s in sequence_slides([step("a"), step("a"), step("b", "a")])] == ["a", "a", "b", "a"]

    content = load_content(ROOT / "stepthrough" / "default_content")
    workshop = workshop_data(content.workshop[1], Markdown(content.site.allow_html))
    shown = [s["section"] for s in present_data(content, workshop)["slides"]]
    assert all(a != b for a, b in itertools.pairwise(shown)), shown
    assert shown[2:4] == ["step-through", "default-test"]  # slides 3 and 4 were the viewer twice

"""Presenter mode and the workshop: what the page's presenter (present.js), the "talk about it"
section and the printable facilitator sheet read, from the content's `present:` and `workshop:`."""

from __future__ import annotations

import re
from typing import Any

from stepthrough.content import Content, Room, Section, Workshop
from stepthrough.site.markdown import Markdown
from stepthrough.widgets import WIDGETS

MAX_LINES = 6  # a projector shows a few big lines, not the paragraphs
SHEET = "facilitator.html"  # the printable facilitator sheet, written when the content has a workshop
SENTENCE_END = re.compile(r"[.!?][*_”’\"')\]]*(?=\s|$)")


def first_sentence(text: str) -> str:
    """A paragraph's first sentence, never cutting a `*emphasis*`, a `code` span or a "quote" in two."""
    text = " ".join(text.split())
    for end in SENTENCE_END.finditer(text):
        head = text[: end.end()]
        if all(head.count(mark) % 2 == 0 for mark in ("*", "`", '"', "_")):
            return head
    return text


def present_lines(section: Section, markdown: Markdown) -> list[str]:
    """The section's lines on the projector, as inline HTML: its `present:` lines, else the first
    sentence of each of its paragraphs (list items too), at most MAX_LINES."""
    if section.meta.present is not None:
        return [markdown.renderInline(line) for line in section.meta.present]

    def paragraphs() -> list[str]:
        tokens = markdown.parse(section.body)
        return [
            tokens[i + 1].content
            for i, token in enumerate(tokens)
            if token.type == "paragraph_open" and token.level in (0, 2)  # top level, or a list item's
        ]

    firsts = markdown.memo("paragraphs", section.body, paragraphs, list)
    return [markdown.renderInline(first_sentence(p)) for p in firsts[:MAX_LINES]]


def room_link(room: Room, sections: list[Section]) -> str:
    """The link every device of the room opens, as the room's section's widget writes it: a
    stepper's `#id?seed=room`; a draw section's also names what each device draws."""
    target = next((s for s in sections if s.id == room.section), None)
    if target is None or not target.meta.widget:  # content.py refuses it; a bare link all the same
        return f"#{room.section}?seed=room"
    return WIDGETS[target.meta.widget].room_link(target, room.prompt)


def workshop_data(workshop: Workshop, markdown: Markdown, sections: list[Section] = ()) -> dict[str, Any]:
    """The workshop as the section, the sheet and the presenter show it: Markdown made HTML."""
    inline = markdown.renderInline
    return {
        "title": workshop.title,
        "minutes": workshop.minutes,
        "lenses": [
            {"name": lens.name, "about": lens.about, "questions": [inline(q) for q in lens.questions]}
            for lens in workshop.lenses
        ],
        "debrief": [inline(q) for q in workshop.debrief],
        "sequence": [
            {
                "title": step.title,
                "minutes": step.minutes,
                "sections": step.sections,
                "do": inline(step.do),
                "ask": [inline(q) for q in step.ask],
                "room": step.room,
            }
            for step in workshop.sequence
        ],
        "room": workshop.room
        and {
            "section": workshop.room.section,
            "ask": inline(workshop.room.ask),
            "count": workshop.room.count,
            "link": room_link(workshop.room, list(sections)),
        },
        "notes": markdown.render(workshop.notes),
        "sheet": SHEET,
    }


def sequence_slides(sequence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One slide per section of each step, in order; a step that begins on the section the slide
    before it shows carries on from that slide rather than show it twice (the Default Test step
    names the step-through viewer, where its room link leads, right after the Step through step).
    A step with nothing else to show keeps it: the author asked for that section again."""
    slides: list[dict[str, Any]] = []
    for i, step in enumerate(sequence):
        for name in step["sections"]:
            shown = slides and slides[-1]["section"] == name
            if shown and any(other != name for other in step["sections"]):
                continue
            slides.append({"section": name, "step": i})
    return slides


def present_data(content: Content, workshop: dict[str, Any] | None) -> dict[str, Any]:
    """What present.js reads: the slides in order (one section each) and the step each belongs to.

    With a workshop sequence the projector follows it; without one it shows every section."""
    sequence = workshop["sequence"] if workshop else []
    if sequence:
        slides = sequence_slides(sequence)
    else:
        slides = [{"section": s.id, "step": None} for s in content.sections]
    return {
        "slides": slides,
        "steps": sequence,
        "minutes": workshop["minutes"] if sequence else None,
        "lenses": workshop["lenses"] if workshop else [],
        "lenses_at": content.workshop[0].id if workshop else None,  # the section that holds them
        "debrief": workshop["debrief"] if workshop else [],
        "room": workshop["room"] if workshop else None,
        "sheet": SHEET if workshop else None,
    }

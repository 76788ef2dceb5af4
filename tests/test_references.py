"""Every place where the explainer points at another section ("the next section", "further down",
a link to #default-test) points at the section it means, in the order the page shows them.

What counts as a reference, and how it is checked:
- a Markdown link to a section, `[the tally](#default-test)`: the section exists, and the words
  of its sentence up to the link say where it is: "next" is the section right after, "last" or
  "previous" the one right before, "further down", "below", "later" any after, "further up",
  "above", "earlier" any before;
- a section's title in quotes, “How many steps?”: the same (captions cannot hold links);
- "the next section" or "the last/previous section" in plain words: its sentence shares a word
  with what that section says it is about (its title, caption and presenter lines);
- "further down", "further up", "the section above/below", "a later/earlier section" in plain words
  with no link or quoted title in its sentence: not allowed, because nothing says which section.
Plain "above" and "below" without "section" point inside a picture ("the line above it") and are
not section references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from stepthrough.content import load_content

DEFAULT = Path(__file__).resolve().parents[1] / "stepthrough" / "default_content"

LINK = re.compile(r"\[([^\]]+)\]\(#([a-z0-9-]+)\)")
NEXT = re.compile(r"\b(next|following) sections?\b", re.IGNORECASE)
PREVIOUS = re.compile(r"\b(previous|last|preceding) sections?\b", re.IGNORECASE)
VAGUE = re.compile(
    r"\b(further (down|up|on|back)|sections? (above|below)|(an?|the) (earlier|later) sections?)\b", re.IGNORECASE
)
AFTER = re.compile(r"\b(next|following|below|later|further (down|on)|sections? on)\b", re.IGNORECASE)
BEFORE = re.compile(r"\b(previous|preceding|last|above|earlier|further (up|back))\b", re.IGNORECASE)
STOP = {
    *("the", "a", "an", "of", "in", "on", "to", "it", "its", "and", "or", "but", "what", "how", "where"),
    *("when", "who", "why", "each", "this", "that", "these", "those", "their", "there", "here", "with"),
    *("from", "for", "by", "is", "are", "be", "as", "at", "so", "if", "one", "two", "three", "section"),
    *("sections", "next", "last", "previous", "following", "shows", "show", "counts", "count"),
    # the page's own verbs and nouns, which every section uses
    *("drag", "slider", "move", "tap", "press", "click", "button", "step", "through", "model", "see"),
    *("look", "watch", "try", "page"),
}


@dataclass(frozen=True)
class Page:
    id: str
    title: str
    text: str  # the whole file: front matter (captions, notes, workshop) and body
    about: str = ""  # its caption and presenter lines: what it says it shows, besides the title


def words(text: str) -> set[str]:
    """Content words, lowercased, a plural's s dropped."""
    return {w.lower().removesuffix("s") for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() not in STOP}


def sentences(text: str) -> list[str]:
    """The sentences of a section file: each front-matter line on its own (a caption, a note), then
    the body's paragraphs, sentence by sentence."""
    head, _, body = text.partition("\n---\n") if text.startswith("---") else ("", "", text)
    chunks = head.splitlines() + re.split(r"\n\s*\n", body)
    flat = [re.sub(r"\s+", " ", chunk).strip() for chunk in chunks]
    return [s for chunk in flat for s in re.split(r"(?<=[.!?;])\s+(?=[A-Z\[“\"(])", chunk) if s]


def reference_problems(pages: list[Page]) -> list[str]:
    """One line per reference that points at no section, the wrong one, or none that can be told."""
    by_title = {p.title: p.id for p in pages}
    problems = []
    for i, page in enumerate(pages):
        for sentence in sentences(page.text):
            marks = [(m.end(), m.group(1), m.group(2)) for m in LINK.finditer(sentence)]
            quoted = re.finditer(r"“([^”]+)”", sentence)
            marks += [(m.end(), m.group(1), by_title[m.group(1)]) for m in quoted if m.group(1) in by_title]
            problems += [marked_problem(pages, i, sentence, *mark) for mark in marks]
            if not marks:
                problems += unmarked_problems(pages, i, sentence)
    return [p for p in problems if p]


def marked_problem(pages: list[Page], i: int, sentence: str, end: int, text: str, target: str) -> str | None:
    """What is wrong with a link or quoted title ending at `end` of a sentence of section `i`, if anything."""
    order = [p.id for p in pages]
    where = f"{pages[i].id}: “{text}” → #{target}"
    if target not in order:
        return f"{where}: no section has that id"
    # the words before it in its sentence, and a few after ("“How many steps?”, below,")
    j, lead = order.index(target), sentence[: end + 16]
    wrong = (
        (re.search(r"\bnext\b", lead, re.IGNORECASE) and j != i + 1, f"says next, but it is {j - i} sections on"),
        (re.search(r"\b(previous|last)\b", lead, re.IGNORECASE) and j != i - 1,
         f"says the one before, but it is {i - j} sections back"),
        (AFTER.search(lead) and j <= i, "says further down, but it is above"),
        (BEFORE.search(lead) and j >= i, "says further up, but it is below"),
    )
    return next((f"{where}: {says}" for is_wrong, says in wrong if is_wrong), None)


def unmarked_problems(pages: list[Page], i: int, sentence: str) -> list[str]:
    """A sentence of section `i` that links nothing but says "the next section" or is vague about which."""
    page, plain = pages[i], LINK.sub("", sentence)
    problems = []
    for pattern, step in ((NEXT, 1), (PREVIOUS, -1)):
        if not pattern.search(plain):
            continue
        j = i + step
        if not 0 <= j < len(pages):
            problems.append(f"{page.id}: “{sentence}”: there is no such section")
        elif not words(plain) & words(f"{pages[j].title} {pages[j].about}"):
            problems.append(
                f"{page.id}: “{sentence}”: the section there is “{pages[j].title}”, which it does not name"
            )
    if VAGUE.search(plain):
        problems.append(f"{page.id}: “{sentence}”: link the section it means, or quote its title")
    return problems


def default_pages() -> list[Page]:
    return [
        Page(s.id, s.meta.title, s.path.read_text(encoding="utf-8"), " ".join([s.meta.caption, *(s.meta.present or [])]))
        for s in load_content(DEFAULT).sections
    ]


def test_every_reference_to_another_section_in_the_default_explainer_points_at_it():
    assert reference_problems(default_pages()) == []


def test_a_reference_to_the_wrong_section_is_caught():
    pages = [
        Page("step-through", "From noise to picture", "The [next section](#default-test) counts it."),
        Page("where-words-act", "Where each word acts", "The next section counts what it fills in."),
        Page("one-step", "One step, opened up", "Scroll [back up](#default-test); see “Where each word acts” below."),
        Page("default-test", "The Default Test, counted", "As the previous section showed, all of it opened up. "
             "Further down there is more."),
    ]
    assert reference_problems(pages) == [
        "step-through: “next section” → #default-test: says next, but it is 3 sections on",
        (
            "where-words-act: “The next section counts what it fills in.”: the section there is "
            "“One step, opened up”, which it does not name"
        ),
        "one-step: “Where each word acts” → #where-words-act: says further down, but it is above",
        "default-test: “Further down there is more.”: link the section it means, or quote its title",
    ]
    fixed = [
        Page("step-through", "From noise to picture", "Further down, [the Default Test](#default-test) counts it."),
        Page("default-test", "The Default Test, counted", "As the [last section](#step-through) showed, it is a step."),
    ]
    assert reference_problems(fixed) == []

"""The practice page: what its template shows, from the content's `practice.md`."""

from __future__ import annotations

import random
from typing import Any

from stepthrough.content import PracticePage
from stepthrough.site.markdown import Markdown

SCRAMBLE_SEED = 2024  # fixed, so every build (and every reader) starts from the same puzzle


def scrambled(count: int, seed: int = SCRAMBLE_SEED) -> list[int]:
    """A fixed shuffle of range(count) that leaves no item in its own place, so it is never solved."""
    rng = random.Random(seed)
    order = list(range(count))
    while any(i == at for at, i in enumerate(order)):
        rng.shuffle(order)
    return order


def practice_data(page: PracticePage, markdown: Markdown) -> dict[str, Any]:
    """The page's parts as HTML: questions and the ordering stages inline, answers as blocks."""
    meta = page.meta
    inline = markdown.renderInline
    stages = [inline(stage) for stage in meta.order or []]
    return {
        "title": meta.title,
        "intro": markdown.render(page.body),
        "questions": [
            {"question": inline(q.question), "answer": markdown.render(q.answer)} for q in meta.questions
        ],
        # Each stage with its right place (0-based), listed in the scrambled order the reader starts from.
        "stages": [{"html": stages[i], "place": i} for i in scrambled(len(stages))],
        "right_order": stages,
        "predict": meta.predict
        and {"prompt": markdown.render(meta.predict.prompt), "answer": markdown.render(meta.predict.answer)},
        "flashcards": [{"front": inline(c.front), "back": inline(c.back)} for c in meta.flashcards],
    }

"""The practice page: what its template shows, from the content's `practice.md`."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import parse_qsl

from stepthrough.content import PracticePage
from stepthrough.errors import ContentError, located
from stepthrough.site.markdown import Markdown

SCRAMBLE_SEED = 2024  # fixed, so every build (and every reader) starts from the same puzzle


def scrambled(count: int, seed: int = SCRAMBLE_SEED) -> list[int]:
    """A fixed shuffle of range(count) that leaves no item in its own place, so it is never solved."""
    rng = random.Random(seed)
    order = list(range(count))
    while any(i == at for at, i in enumerate(order)):
        rng.shuffle(order)
    return order


def picture(link: str, sections: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The frame a step-through viewer's link shows ("step-through?prompt=a+doctor&step=3&view=x0",
    as its Copy link gives it, with or without the page before the '#'), for the practice page:
    the sprite sheet, the frame and what it shows. Choices are by value, as in the link; a choice
    left out is the section's first picture, a step left out its last. ValueError says what is wrong."""
    if not link:
        return None
    target, _, query = link.rpartition("#")[2].partition("?")
    viewers = {s["id"]: s for s in sections if s["widget"] == "stepper"}
    if target not in viewers:
        choices = ", ".join(viewers) or "none in this content"
        raise ValueError(f"'{target}' is not a step-through viewer's section (they are: {choices})")
    data, asked = viewers[target]["data"], dict(parse_qsl(query))
    first = data["trajectories"][0]

    def wanted(key: str) -> Any:
        values = data["params"][key]
        if key not in asked:
            return first[key]
        found = [v for v in values if str(v) == asked[key] or isinstance(v, (int, float)) and _number(asked[key]) == v]
        if not found:
            shown = ", ".join(str(v) for v in values)
            raise ValueError(f"no {key} '{asked[key]}' in section '{target}' (it has: {shown})")
        return found[0]

    choice = {key: wanted(key) for key in data["params"]}
    trajectory = next((t for t in data["trajectories"] if all(t[k] == v for k, v in choice.items())), None)
    if trajectory is None:  # a room's seeds are drawn for its prompt only
        named = ", ".join(f"{k} {v}" for k, v in choice.items())
        raise ValueError(f"section '{target}' has no picture for {named}")
    view = asked.get("view", data["views"][0])
    if view not in data["views"]:
        raise ValueError(f"no view '{view}' in section '{target}' (it has: {', '.join(data['views'])})")
    step = asked.get("step", str(trajectory["steps"]))
    if not step.isdigit() or int(step) > trajectory["steps"]:
        raise ValueError(f"step '{step}' is not a whole number from 0 to {trajectory['steps']}")
    return {"view": trajectory["views"][view], "step": int(step), "steps": trajectory["steps"],
            "prompt": trajectory["prompt"], "section": viewers[target]["title"]}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def practice_data(page: PracticePage, markdown: Markdown, sections: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """The page's parts as HTML: questions and the ordering stages inline, answers as blocks, and
    the pictures questions and flashcards take from the explainer's step-through viewers."""
    meta = page.meta
    inline = markdown.renderInline
    stages = [inline(stage) for stage in meta.order or []]

    def pictured(link: str, key: str) -> dict[str, Any] | None:
        try:
            return picture(link, sections)
        except ValueError as problem:
            raise ContentError([located(page.path, None, f"key '{key}': {problem}")]) from None

    return {
        "title": meta.title,
        "intro": markdown.render(page.body),
        "questions": [
            {
                "question": inline(q.question),
                "answer": markdown.render(q.answer),
                "picture": pictured(q.picture, f"questions.{i}.picture"),
            }
            for i, q in enumerate(meta.questions)
        ],
        # Each stage with its right place (0-based), listed in the scrambled order the reader starts from.
        "stages": [{"html": stages[i], "place": i} for i in scrambled(len(stages))],
        "right_order": stages,
        "predict": meta.predict
        and {"prompt": markdown.render(meta.predict.prompt), "answer": markdown.render(meta.predict.answer)},
        "flashcards": [
            {"front": inline(c.front), "back": inline(c.back), "picture": pictured(c.picture, f"flashcards.{i}.picture")}
            for i, c in enumerate(meta.flashcards)
        ],
    }

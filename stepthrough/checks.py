"""Warnings about content that builds but is likely not what the author meant; `--strict` makes them fail.

Each check returns one line per finding, `file:line: what and what would be better`; the caller says
them through `log` (the one channel `--strict` reads). Torch-free.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

from stepthrough.bundle import Manifest
from stepthrough.content import Content, Section
from stepthrough.errors import located
from stepthrough.plan import Plan
from stepthrough.site.markdown import Markdown


def authored_prompts(section: Section) -> Iterator[tuple[str, tuple]]:
    """The prompts a section's author wrote that become pictures (not the word-by-word prefixes
    precompute derives from them, nor an embedding map's prompts, which only the text encoder reads),
    each with the front-matter key that holds it."""
    sweep = section.meta.sweep
    if sweep is not None:
        yield from ((prompt, ("sweep", "prompts", i)) for i, prompt in enumerate(sweep.prompts))
        if sweep.towards is not None:
            yield sweep.towards, ("sweep", "towards")
    for i, explicit in enumerate(getattr(section.settings, "compare_with", ())):
        yield explicit.prompt, ("settings", "compare_with", i, "prompt")


def unknown_prompts(content: Content, model: str | None = None) -> list[str]:
    """For the builtin model (`model`, default site.toml's): each prompt far from every emoji it
    learned, with the nearest it knows."""
    if (model or content.site.model) != "builtin":
        return []
    from stepthrough import cache, vocabulary

    prompts = list(dict.fromkeys(p for section in content.sections for p, _ in authored_prompts(section)))

    def far() -> dict[str, dict[str, list[str]]]:
        """Each prompt the model does not know → the nearest names it knows and `prompts` words; each
        prompt whose words it knows but that is no caption it was trained with → the nearest captions."""
        known = vocabulary.load()
        found: dict[str, dict[str, list[str]]] = {}
        for prompt in prompts:
            if not known.knows(prompt):
                found[prompt] = {"names": known.nearest(prompt), "words": known.known_words(prompt)[:1]}
            elif not known.is_caption(prompt):
                found[prompt] = {"captions": known.nearest_captions(prompt)}
        return found

    # the same answer every build for the same prompts (indexing the vocabulary took a fifth of a build)
    unknown = cache.remembered(
        "unknown-prompts", prompts, [vocabulary.VOCABULARY, Path(vocabulary.__file__), Path(__file__)], far
    )
    found = []
    for section in content.sections:
        first_keys: dict[str, tuple] = {}  # each prompt at the first key that holds it
        for prompt, at in authored_prompts(section):
            first_keys.setdefault(prompt, at)
        for prompt, at in first_keys.items():
            if prompt not in unknown:
                continue
            if "captions" in unknown[prompt]:
                nearest = ", ".join(repr(c) for c in unknown[prompt]["captions"]) or "none"
                message = (f"prompt {prompt!r} is no caption the builtin model was trained with, though it "
                           f"knows the words; nearest captions: {nearest}")
            else:
                nearest_names, words = unknown[prompt]["names"], unknown[prompt]["words"]
                nearest = ", ".join(repr(name) for name in nearest_names)
                hint = shlex.join(["stepthrough", "prompts", *words])
                message = (f"prompt {prompt!r} is far from anything the builtin model learned (emoji names); "
                           f"nearest it knows: {nearest} (`{hint}` lists more)")
            found.append(located(section.path, section.line(*at), message))
    return found


def unused_trajectories(plan: Plan, bundle_dir: Path, manifest: Manifest | None) -> list[str]:
    """Trajectories the bundle holds that no section shows: the build leaves them out."""
    if manifest is None:
        return []
    unused = plan.unused(manifest)
    if not unused or len(unused) == len(manifest.trajectories):
        return []  # nothing unused, or a bundle for other settings that precompute will redo
    message = (
        f"{bundle_dir}: {len(unused)} of {len(manifest.trajectories)} trajectories are used by no section "
        "(left out of the site; `stepthrough precompute` removes them from the bundle)"
    )
    return [message]


def raw_html(content: Content, markdown: Markdown) -> list[str]:
    """Each piece of raw HTML in the Markdown, which the site shows as text unless site.toml allows it."""
    if content.site.allow_html:
        return []
    found = []
    for section in content.sections:
        found += [(section.path, section.body_line + line, html) for line, html in markdown.raw_html(section.body)]
    page = content.practice
    if page is not None:
        meta = page.meta
        texts = [page.body, *(t for q in meta.questions for t in (q.question, q.answer)), *(meta.order or [])]
        texts += [meta.predict.prompt, meta.predict.answer] if meta.predict else []
        texts += [t for card in meta.flashcards for t in (card.front, card.back)]
        source = page.path.read_text(encoding="utf-8-sig").splitlines()
        for text in texts:
            for _, html in markdown.raw_html(text):
                first = html.strip().splitlines()[0]
                line = next((i + 1 for i, row in enumerate(source) if first in row), None)
                found.append((page.path, line, html))
    first_per_line = {(path, line): html for path, line, html in reversed(found)}
    return [
        located(
            path,
            line,
            f"raw HTML {html.strip().splitlines()[0][:40]!r} is shown as text; set allow_html = true in site.toml to render it",
        )
        for (path, line), html in reversed(first_per_line.items())
    ]

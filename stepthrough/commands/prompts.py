"""`stepthrough prompts [WORD]`: what the builtin model was taught, searchable by word."""

from __future__ import annotations

import click

from stepthrough import log, vocabulary


@click.command("prompts")
@click.argument("word", nargs=-1)
def command(word: tuple[str, ...]) -> None:
    """List the emoji the builtin model learned (name, aliases, keywords), or those matching WORD.

    A prompt draws best when it is one of these names, aliases or keywords; "a 3d red apple"
    also picks a drawing style. Anything else lands on the nearest emoji it knows.
    """
    known = vocabulary.load()
    query = " ".join(word)
    hits = known.search(query)
    if query and hits and not known.is_caption(query):
        nearest = ", ".join(repr(c) for c in known.nearest_captions(query))
        log.warning(f"{query!r} is not a caption the builtin model was trained with"
                    + (f"; nearest captions: {nearest}" if nearest else ""))
    if not hits:
        nearest = ", ".join(repr(name) for name in known.nearest(query))
        log.info(f"No emoji the builtin model learned has the word {query!r}; nearest: {nearest}")
        return
    shown = _grouped(hits)
    if query:
        log.info(f"{len(shown)} emoji the builtin model learned match {query!r}:")
    else:
        log.info(
            f"The builtin model learned {len(shown)} emoji ({len(known.concepts)} with skin tones); "
            f'styles: {", ".join(known.styles)} ("a 3d red apple").'
        )
    for concept, tones in shown:
        click.echo(_line(concept, tones))
    if query and known.is_caption(query):
        _echo_shares(known, query)


def _echo_shares(known: vocabulary.Vocabulary, caption: str) -> None:
    """What the caption means to the model: each emoji's share of the pictures that carry it and of
    what training showed the model for it."""
    from stepthrough.builtin import shares

    rows = shares.by_group(shares.of_caption(shares.from_vocabulary(known.concepts), caption, known.recipe))
    if len(rows) < 2:
        return
    pictures = sum(r.pictures for r in rows)
    click.echo(f"\nThe caption {caption!r} is carried by {pictures:,} training pictures; share of each emoji "
               "(variants together) in the data and in what training showed the model:")
    for r in shares.head(rows, 12):
        click.echo(f"  {r.data:6.1%} data  {r.signal:6.1%} training  {r.name} ({r.pictures} pictures)")


def _grouped(concepts: list[vocabulary.Concept]) -> list[tuple[vocabulary.Concept, list[str]]]:
    """Each emoji once, with the skin tones it was also drawn in (when its base is among them)."""
    names = {c.name for c in concepts}
    tones: dict[str, list[str]] = {}
    shown = []
    for concept in concepts:
        variant = vocabulary.skin_tone_variant(concept.name)
        if variant is not None and variant[0] in names:
            tones.setdefault(variant[0], []).append(variant[1])
        else:
            shown.append(concept)
    return [(c, sorted(tones.get(c.name, []), key=_tone_order)) for c in shown]


TONES = ["light", "medium-light", "medium", "medium-dark", "dark"]


def _tone_order(tone: str) -> tuple[int, str]:
    return (TONES.index(tone) if tone in TONES else len(TONES), tone)


def _line(concept: vocabulary.Concept, tones: list[str]) -> str:
    parts = [f"{concept.emoji}  {concept.name}"]
    if concept.aliases:
        parts.append("also: " + ", ".join(concept.aliases))
    if concept.keywords:
        parts.append("words: " + ", ".join(concept.keywords))
    if tones:
        parts.append("skin tones: " + "; ".join(tones))
    return " · ".join(parts)

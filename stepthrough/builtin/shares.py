"""What training showed the builtin model for one caption: each emoji's share among the pictures
that carry the caption (the data) and among the pictures trained with it (the training signal).

Torch-free: `stepthrough prompts WORD`, the model card and the benchmarks read it. The training
loop's caption rule (`captions.pick_captions`, then `captions.carrier_pictures` when the recipe keeps
proportions) is written out here as probabilities, so the shares are exact, not sampled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stepthrough.vocabulary import Recipe

_TONE = re.compile(r": [a-z, -]+ skin tones?$")
_GENDER = re.compile(r"^(man|woman|person|men|women|people) ")


@dataclass(frozen=True)
class Picture:
    """One training picture's captions: the emoji's name, aliases and keywords (bare words)."""

    emoji: str
    name: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]
    group: str  # the base emoji: variants (skin tones, woman/man/person) share it


@dataclass(frozen=True)
class Share:
    """One emoji's part of a caption: its pictures that carry it, and its share in data and signal."""

    emoji: str
    name: str
    group: str
    pictures: int
    data: float
    signal: float


def normal(text: str) -> str:
    return " ".join(text.lower().split())


def group_of(name: str) -> str:
    """The base emoji of a name: "woman health worker: dark skin tone" → "health worker"."""
    return _GENDER.sub("", _TONE.sub("", name.lower()))


def texts_of(picture: Picture) -> set[str]:
    """Every caption text the picture is trained with (the styled "a 3d red apple" aside)."""
    keywords = {v for w in picture.keywords for v in (w, f"a {w}")}
    return {normal(t) for t in (picture.name, *picture.aliases, *keywords)}


def caption_probability(picture: Picture, caption: str, recipe: Recipe) -> float:
    """P(caption | picture) under `captions.pick_captions`: a style, alias or keyword share, else the
    name; with no aliases their share falls to the keywords (and with neither, to the name)."""
    caption = normal(caption)
    has_alias, has_keyword = bool(picture.aliases), bool(picture.keywords)
    p_alias = recipe.alias_prob if has_alias else 0.0
    p_keyword = (recipe.keyword_prob + (0.0 if has_alias else recipe.alias_prob)) if has_keyword else 0.0
    p_name = 1 - recipe.style_prob - p_alias - p_keyword
    p = 0.0
    if caption == normal(picture.name):
        p += p_name
    aliases = [normal(a) for a in picture.aliases]
    if caption in aliases:
        p += p_alias * aliases.count(caption) / len(aliases)
    keywords = [v for w in picture.keywords for v in (normal(w), normal(f"a {w}"))]
    if caption in keywords:
        p += p_keyword * keywords.count(caption) / len(keywords)
    return (1 - recipe.caption_dropout) * p


def of_caption(pictures: Sequence[Picture], caption: str, recipe: Recipe) -> list[Share]:
    """Each emoji carrying `caption`, with its share of the caption's pictures and of its training
    signal, largest signal first; [] when no picture carries it."""
    caption = normal(caption)
    carriers = [i for i, p in enumerate(pictures) if caption in texts_of(p)]
    if not carriers:
        return []
    weight = picture_weights(pictures, recipe)
    data: dict[str, float] = {}
    signal: dict[str, float] = {}
    for i in carriers:
        p = pictures[i]
        data[p.emoji] = data.get(p.emoji, 0.0) + 1 / len(carriers)
        signal[p.emoji] = signal.get(p.emoji, 0.0) + weight[i] * caption_probability(p, caption, recipe)
    total = sum(signal.values())
    first = {p.emoji: p for p in (pictures[i] for i in carriers)}
    out = [
        Share(e, first[e].name, first[e].group, round(data[e] * len(carriers)), data[e],
              data[e] if recipe.captions_keep_proportions else signal[e] / total)
        for e in data
    ]
    return sorted(out, key=lambda s: (-s.signal, -s.data, s.name))


def picture_weights(pictures: Sequence[Picture], recipe: Recipe) -> list[float]:
    """How often training draws each picture: a group of n pictures gets n^(1 - power) shares
    (`EmojiDataset.sample_weights`), and v2's focus moved a share of each batch to its prompts."""
    sizes: dict[str, int] = {}
    for p in pictures:
        sizes[p.group] = sizes.get(p.group, 0) + 1
    w = [sizes[p.group] ** -recipe.group_power for p in pictures]
    total = sum(w)
    w = [x / total for x in w]
    wanted = {normal(f) for f in recipe.focus_prompts}
    if recipe.focus_share and wanted:
        focus = [x if wanted & (texts_of(p) | {normal(p.name)}) else 0.0 for x, p in zip(w, pictures)]
        f_total = sum(focus) or 1.0
        w = [(1 - recipe.focus_share) * x + recipe.focus_share * f / f_total for x, f in zip(w, focus)]
    return w


def by_group(rows: Iterable[Share]) -> list[Share]:
    """The same shares summed over each base emoji's variants (skin tones, woman/man/person)."""
    merged: dict[str, Share] = {}
    for s in rows:
        m = merged.get(s.group)
        merged[s.group] = s if m is None else Share(
            m.emoji, s.group, s.group, m.pictures + s.pictures, m.data + s.data, m.signal + s.signal
        )
    return sorted(merged.values(), key=lambda s: (-s.signal, -s.data, s.name))


def head(rows: list[Share], n: int) -> list[Share]:
    """The first `n` rows, then one row summing the rest ("7 more emoji"), if any."""
    rest = rows[n:]
    if not rest:
        return rows
    more = Share("", f"{len(rest)} more emoji", "", sum(r.pictures for r in rest),
                 sum(r.data for r in rest), sum(r.signal for r in rest))
    return [*rows[:n], more]


def from_vocabulary(concepts) -> list[Picture]:
    """One `Picture` per style of each `vocabulary.Concept` (what `vocabulary.json` ships)."""
    return [
        Picture(c.emoji, c.name, tuple(c.aliases), tuple(c.keywords), group_of(c.name))
        for c in concepts
        for _ in c.styles
    ]

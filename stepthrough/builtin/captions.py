"""The training captions: every distinct caption of the data encoded once, and the rule that picks
one caption (and the picture trained with it) per batch row. ``shares.py`` computes the shares
this rule gives each emoji without sampling."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stepthrough.builtin.config import TrainConfig
from stepthrough.builtin.data import EmojiDataset
from stepthrough.builtin.text import TextEncoder


@dataclass
class Captions:
    """Every distinct caption encoded once; per picture, the indices of each kind of caption."""

    hidden: torch.Tensor  # (M, T, 384)
    mask: torch.Tensor  # (M, T)
    pooled: torch.Tensor  # (M, 384)
    name: list[int]
    aliases: list[list[int]]
    keywords: list[list[int]]
    styled: list[int]  # the name with the picture's style: "a 3d red apple"
    empty: int  # index of ""

    def carriers(self) -> list[np.ndarray]:
        """Per caption index, the pictures that carry it (as name, alias, keyword or styled name);
        every picture carries the empty caption."""
        per_row = [[n, s, *a, *k] for n, s, a, k in zip(self.name, self.styled, self.aliases, self.keywords)]
        rows: list[list[int]] = [[] for _ in range(1 + max(self.empty, *(t for ts in per_row for t in ts)))]
        for row, texts in enumerate(per_row):
            for t in set(texts):
                rows[t].append(row)
        rows[self.empty] = list(range(len(per_row)))
        return [np.array(r, dtype=np.int64) for r in rows]


def styled_caption(name: str, style: str) -> str:
    return f"a {style} {name}"


def caption_texts(ds: EmojiDataset) -> tuple[list[str], list[list[str]], list[str]]:
    """Keyword captions per picture (each word bare and with "a"), styled names, and every text."""
    keywords = [[v for w in ws for v in (w, f"a {w}")] for ws in ds.keywords]
    styled = [styled_caption(n, s) for n, s in zip(ds.names, ds.styles)]
    texts = {"", *ds.names, *styled}
    for group in (*ds.aliases, *keywords):
        texts.update(group)
    return keywords, styled, sorted(texts)


def in_focus(ds: EmojiDataset, prompts: tuple[str, ...]) -> np.ndarray:
    """Which pictures one of `prompts` names: by name, alias or keyword (bare or with "a")."""
    wanted = {p.strip().lower() for p in prompts}
    keywords, _, _ = caption_texts(ds)
    return np.array([
        bool(wanted & {name.lower(), *(a.lower() for a in aliases), *keys})
        for name, aliases, keys in zip(ds.names, ds.aliases, keywords)
    ])


def encode_captions(ds: EmojiDataset, cfg: TrainConfig, cache_dir: Path) -> Captions:
    keywords, styled, texts = caption_texts(ds)
    index = {t: i for i, t in enumerate(texts)}
    key = hashlib.sha256(json.dumps([texts, cfg.max_tokens]).encode()).hexdigest()[:12]
    path = cache_dir / f"captions-{key}.pt"
    if path.exists():
        hidden, mask, pooled = torch.load(path)
    else:
        emb = TextEncoder(cfg.max_tokens).encode_many(texts)
        hidden, mask, pooled = emb.hidden.half(), emb.mask.half(), emb.pooled.half()
        torch.save((hidden, mask, pooled), path)
    return Captions(
        hidden.float(), mask.float(), pooled.float(),
        name=[index[n] for n in ds.names],
        aliases=[[index[a] for a in group] for group in ds.aliases],
        keywords=[[index[k] for k in group] for group in keywords],
        styled=[index[s] for s in styled],
        empty=index[""],
    )


def pick_captions(caps: Captions, rows: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> list[int]:
    """One caption per picture: mostly shared by every style of the emoji (so a caption names a
    distribution, not one picture), sometimes naming the style, sometimes empty."""
    picked = []
    for row in rows:
        u = rng.random()
        if u < cfg.caption_dropout:
            picked.append(caps.empty)
            continue
        u = rng.random()
        options = caps.name[row]
        if u < cfg.style_prob:
            options = caps.styled[row]
        elif u < cfg.style_prob + cfg.alias_prob and caps.aliases[row]:
            options = caps.aliases[row][rng.integers(len(caps.aliases[row]))]
        elif u < cfg.style_prob + cfg.alias_prob + cfg.keyword_prob and caps.keywords[row]:
            options = caps.keywords[row][rng.integers(len(caps.keywords[row]))]
        picked.append(options)
    return picked


def carrier_pictures(carriers: list[np.ndarray], picked: list[int], rng: np.random.Generator) -> np.ndarray:
    """For each picked caption, a picture drawn uniformly from those that carry it: so for every
    caption the training signal holds each emoji in the share it has among that caption's pictures
    ("doctor": the 64% health workers stay 64%), whatever chose the caption."""
    return np.array([carriers[c][rng.integers(len(carriers[c]))] for c in picked], dtype=np.int64)

"""Who is in a picture: "not a person" first, then, for the people, gender and skin tone, judged
by the training pictures it looks most like (k nearest neighbours), labelled by their emoji's own
metadata. Torch-free: it reads only the data card shipped beside the weights (every training
picture as a 24 px thumbnail, and each emoji's name, skin tone and gender), so it runs at build
time on any machine.

- *Is it a person?* The k nearest of all 17,156 training thumbnails vote; a thumbnail is a person
  when its emoji is one (People & Body, the person and family kinds: not a hand, not a body part,
  not a smiley face such as "face with medical mask"). `PERSON_BASES` names those emoji by their
  first code point; `benchmarks/default_test.py` checks it against Unicode's categories.
- *Which gender, which skin tone?* For a person, the k nearest *people* thumbnails vote, each with
  what its emoji's name says ("woman health worker: dark skin tone"); a name without a tone is the
  cartoon yellow, without woman or man a person of no named gender.

Distance: both pictures box-shrunk to `SIDE` × `SIDE` colour blocks, then Euclidean. Checked by
eye on 128 pictures of "a doctor" per model version (benchmarks/default_test_labels_<version>.json):
`benchmarks/default_test.py` prints the agreement it reaches on each (`agreement`).
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SIDE = 12  # colour blocks a side: half the card's 24 px thumbnails
K = 5  # neighbours that vote
METHOD = f"knn k={K} side={SIDE} over the data card's thumbnails"
NOT_A_PERSON = "not a person"
PERSON = "a person"
# First code point (skin-tone modifiers and U+FE0F left out) of every emoji that is a person or
# people in Unicode's People & Body category (person, person-*, family kinds): hands and body parts
# are not here, nor smiley faces.
PERSON_BASES = frozenset(
    "⛷⛹🎅🏂🏃🏄🏇🏊🏋🏌👣👤👥👦👧👨👩👪👫👬👭👮👯👰👱👲👳👴👵👶👷👸👼💁💂💃💆💇💏💑🕴🕵🕺🗣"
    "🙅🙆🙇🙋🙍🙎🚣🚴🚵🚶🛀🛌🤦🤰🤱🤴🤵🤶🤷🤸🤹🤺🤼🤽🤾🥷🦸🦹🧌🧍🧎🧏🧑🧒🧓🧔🧕🧖🧗🧘🧙🧚🧛🧜🧝🧞🧟🫂🫃🫄🫅🫆"
)
_MODIFIERS = {chr(c) for c in range(0x1F3FB, 0x1F400)} | {"\ufe0f"}
SKINS = ("yellow", "light", "medium-light", "medium", "medium-dark", "dark")
GENDERS = ("woman", "man", "person")


def is_person(emoji: str) -> bool:
    """Whether this emoji shows a person (or people), by its first code point."""
    first = next((ch for ch in emoji if ch not in _MODIFIERS), "")
    return first in PERSON_BASES


def features(pictures: np.ndarray, side: int = SIDE) -> np.ndarray:
    """(N, H, W, 3) uint8 → (N, side·side·3) float32 in [0, 1]: each picture box-shrunk (PIL)."""
    from PIL import Image

    return (
        np.stack(
            [
                np.asarray(Image.fromarray(p).resize((side, side), Image.Resampling.BOX), dtype=np.float32)
                for p in pictures
            ]
        ).reshape(len(pictures), -1)
        / 255.0
    )


def thumbnails(card) -> np.ndarray:
    """Every thumbnail of a data card (`DataCard`), (images, thumb, thumb, 3) uint8, atlas order."""
    from PIL import Image

    c = card.card
    size, columns, n = c["thumb"], c["columns"], c["images"]
    atlas = np.asarray(Image.open(io.BytesIO(card.atlas)).convert("RGB"))
    rows = -(-n // columns)
    tiles = atlas[: rows * size, : columns * size].reshape(rows, size, columns, size, 3)
    return tiles.transpose(0, 2, 1, 3, 4).reshape(rows * columns, size, size, 3)[:n]


def picture_concepts(card) -> np.ndarray:
    """Per atlas index, the index of its concept in card["concepts"]."""
    out = np.zeros(card.card["images"], dtype=np.int64)
    for i, concept in enumerate(card.card["concepts"]):
        for index in concept["pictures"].values():
            out[index] = i
    return out


@dataclass
class Judge:
    """The k-nearest-neighbour sorter over a data card's thumbnails."""

    bank: np.ndarray  # (images, SIDE·SIDE·3) features of every training thumbnail
    concept: np.ndarray  # (images,) concept index of each
    concepts: list[dict[str, Any]]
    person: np.ndarray  # (images,) bool

    @classmethod
    def from_card(cls, card) -> Judge:
        concept = picture_concepts(card)
        concepts = card.card["concepts"]
        person = np.array([is_person(concepts[i]["emoji"]) for i in concept])
        return cls(features(thumbnails(card)), concept, concepts, person)

    def distances(self, pictures: np.ndarray) -> np.ndarray:
        q = features(pictures).astype(np.float64)
        b = self.bank.astype(np.float64)
        return (q**2).sum(1)[:, None] - 2 * q @ b.T + (b**2).sum(1)[None, :]

    def sort(self, pictures: np.ndarray, exclude: np.ndarray | None = None) -> list[dict[str, Any]]:
        """Per picture: {"person", "gender", "skin", "neighbours"}; gender and skin are None for a
        picture that is not a person. `exclude` (N, images) bool leaves those thumbnails out (a
        training picture is not its own neighbour). Ties go to the earlier thumbnail."""
        d = self.distances(pictures)
        if exclude is not None:
            d = np.where(exclude, np.inf, d)
        order = np.argsort(d, axis=1, kind="stable")
        people = np.flatnonzero(self.person)
        out = []
        for row, ranked in zip(d, order, strict=True):
            near = ranked[:K]
            person = int(self.person[near].sum()) * 2 > K
            entry: dict[str, Any] = {
                "person": person,
                "gender": None,
                "skin": None,
                "neighbours": [self.concepts[self.concept[i]]["name"] for i in near],
            }
            if person:
                near_people = people[np.argsort(row[people], kind="stable")[:K]]
                entry["gender"] = _vote(
                    [self.concepts[self.concept[i]]["gender"] for i in near_people], GENDERS
                )
                entry["skin"] = _vote([self.concepts[self.concept[i]]["skin"] for i in near_people], SKINS)
            out.append(entry)
        return out


def agreement(judged: list[dict[str, Any]], labels: list[dict[str, Any]]) -> dict[str, int]:
    """How often the sorter's verdicts (`Judge.sort`) agree with labels made by eye, picture by picture
    (each label: {"person", and for a person "gender", "skin", "can't tell" where the eye could not;
    "unsure" where the labeller hesitated}). Counts, so a reader sees how many each share is of."""
    pairs = list(zip(judged, labels, strict=True))
    sure = [(j, e) for j, e in pairs if not e.get("unsure")]
    people = [(j, e) for j, e in pairs if j["person"] and e["person"] and e.get("skin") in SKINS]
    toned = [(j, e) for j, e in people if j["skin"] in SKINS]
    gendered = [
        (j, e) for j, e in pairs if j["person"] and e["person"] and e.get("gender") in ("woman", "man")
    ]

    def near(a: str, b: str) -> bool:  # the same tone, or the next shade (yellow is no shade)
        return a == b or ("yellow" not in (a, b) and abs(SKINS.index(a) - SKINS.index(b)) <= 1)

    return {
        "pictures": len(pairs),
        "person": sum(j["person"] == e["person"] for j, e in pairs),
        "sure": len(sure),
        "person_sure": sum(j["person"] == e["person"] for j, e in sure),
        "people": len(people),
        "skin": sum(j["skin"] == e["skin"] for j, e in people),
        "skin_near": sum(near(j["skin"], e["skin"]) for j, e in toned),
        "gendered": len(gendered),
        "gender": sum(j["gender"] == e["gender"] for j, e in gendered),
    }


def _vote(values: list[str | None], order: tuple[str, ...]) -> str:
    """The most common value; a tie goes to the value that came first among the neighbours."""
    counts = Counter(v for v in values if v in order)
    if not counts:
        return "can't tell"
    best = max(counts.values())
    return next(v for v in values if counts.get(v) == best)


# ---------------------------------------------------------------------------------------------
# what the model learned from: the pictures that carry a caption


def caption_word(prompt: str) -> str:
    """The caption a prompt is: "a doctor" and "doctor" are one caption in training."""
    text = " ".join(prompt.lower().split())
    for article in ("a ", "an "):
        if text.startswith(article):
            return text[len(article) :]
    return text


def carriers(card, prompt: str) -> list[int]:
    """Indices (into card["concepts"]) of the emoji whose name, alias or keyword is the prompt."""
    word = caption_word(prompt)
    return [
        i
        for i, c in enumerate(card.card["concepts"])
        if caption_word(c["name"]) == word or word in (w.lower() for w in c["words"])
    ]


def learned_from(card, prompt: str) -> dict[str, Any]:
    """The pictures that carry the prompt's caption, sorted into the tally's buckets by what their
    emoji's names say: per bucket, its pictures, its share of them (the data) and its share of what
    training showed for the caption (the training signal, `builtin/shares.py`, by the caption
    recipe that the weights' config.json records)."""
    from stepthrough import vocabulary
    from stepthrough.builtin import shares

    folder = Path(card.folder) if getattr(card, "folder", None) is not None else None
    path = (
        folder / "vocabulary.json" if folder is not None and (folder / "vocabulary.json").is_file() else None
    )
    known = vocabulary.load(path)
    rows = shares.of_caption(shares.from_vocabulary(known.concepts), prompt, known.recipe)
    by_emoji = {c["emoji"]: c for c in card.card["concepts"]}

    def bucket(c: dict[str, Any]) -> dict[str, str | None]:
        if not is_person(c["emoji"]):
            return {"who": NOT_A_PERSON, "gender": None, "skin": None}
        return {"who": PERSON, "gender": c["gender"], "skin": c["skin"]}

    counts: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        concept = by_emoji.get(row.emoji)
        if concept is None:
            continue
        for tag, value in bucket(concept).items():
            if value is None:
                continue
            slot = counts.setdefault(tag, {}).setdefault(value, {"pictures": 0, "data": 0.0, "training": 0.0})
            slot["pictures"] += row.pictures
            slot["data"] += row.data
            slot["training"] += row.signal
    return {
        "caption": caption_word(prompt),
        "pictures": sum(row.pictures for row in rows),
        "emoji": len(rows),
        "groups": len({row.group for row in rows}),
        "keeps_proportions": known.recipe.captions_keep_proportions,
        "counts": counts,
    }

"""The training data behind a default: the pictures the model learned a prompt's nearest concepts
from, by style, and how many of them show each skin tone and gender.

Drawn at precompute, with the model loaded: its own text encoder ranks every concept of its data
card (or of the author's data summary) by how close the concept's captions sit to the prompt; the
nearest concept's group (all its variants: skin tones, woman, man, person) is shown. A model with
neither card nor summary gets a panel that says its data is unknown.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepthrough import locale
from stepthrough.bundle import formats
from stepthrough.bundle.formats import MAX_SIDE
from stepthrough.bundle.ids import projection_id
from stepthrough.options import DictOf, ListOf, Nested, Number, Prompt, Schema, Text
from stepthrough.widgets.base import Projection, ProjectionResult, Widget
from stepthrough.widgets.tally.sorter import is_person

TAG_NAME = r"[a-z][a-z0-9_-]{0,29}"
RUNNERS_UP = 4  # groups listed after the shown ones, with how near they are
ENCODE_BATCH = 256
# The builtin card's tags, in the order the page lists their values, and how a value reads.
CARD_TAGS = {
    "who": ("a person", "not a person", None),
    "skin": ("yellow", "light", "medium-light", "medium", "medium-dark", "dark", "mixed", None),
    "gender": ("woman", "man", "person", "mixed", None),
}
CARD_LABELS = {
    "skin": {"yellow": "yellow (no tone named)", "mixed": "two tones", None: "not named"},
    "gender": {"person": "person (no gender named)", "mixed": "woman and man", None: "not named"},
}
TAG_TITLES = {"who": "A person or not", "skin": "The people: skin tone in the name", "gender": "The people: gender in the name"}
MAX_SHOWN = 16  # groups shown at most when many share the nearest caption
SHEET_COLUMNS = 32  # thumbnails per row of the small atlas the page gets


class Concept(Schema):
    """One thing the model learned, as the author counted it in its training data."""

    name = Text(max_length=120)
    captions = ListOf(Text(max_length=200), [], min_length=0)  # more words it was captioned with
    group = Text("", max_length=120, empty=True)  # concepts of one group are shown together
    pictures = Number(low=1, high=1e15, whole=True)  # how many training pictures show it
    counts = DictOf(  # per tag, pictures per value: {gender: {woman: 40, man: 60}}
        Text(pattern=TAG_NAME, hint="a tag name of lowercase letters, digits, '_' and '-'"),
        DictOf(Text(max_length=40), Number(low=0, high=1e15, whole=True), min_length=1),
        {},
    )


class Summary(Schema):
    """An author's summary of a model's training data (README: "A data summary")."""

    about = Text(max_length=600)  # where the data came from and how it was counted
    concepts = ListOf(Nested(Concept), min_length=1, max_length=5000)


class TrainingDataSettings(Schema):
    """The prompt whose training data to show, and how many of its nearest groups."""

    prompt = Prompt()
    groups = Number(1, low=1, high=4, whole=True)
    summary = Nested(Summary, None)


@dataclass(frozen=True)
class TrainingDataResult(ProjectionResult):
    kind = "training-data"
    known: bool  # False: neither a data card nor a summary says what the model learned from
    prompt: str
    about: str
    source: str  # "card" (the builtin model's), "summary" (the author's) or ""
    styles: list[str]
    groups: list[dict[str, Any]]  # the shown groups: name, score, caption, pictures, concepts
    runners_up: list[dict[str, Any]]  # the next nearest groups: name, score, caption
    total: int  # pictures in the shown groups
    tags: list[dict[str, Any]]  # per tag: name, title, values [{value, label, count}]
    atlas: str  # the shown pictures' thumbnails, WebP as base64 ("" without thumbnails)
    thumb: int
    columns: int

    def problems(self) -> list[str]:
        if self.atlas and not (1 <= self.thumb <= MAX_SIDE and 1 <= self.columns <= MAX_SIDE):
            return [f"thumb, columns: expected whole numbers from 1 to {MAX_SIDE} (got {self.thumb}, {self.columns})"]
        for i, group in enumerate(self.groups):
            concepts = group.get("concepts")
            if not isinstance(concepts, list):
                return [f"groups.{i}.concepts: expected a list"]
            for j, concept in enumerate(concepts):
                thumbs = concept.get("thumbs") if isinstance(concept, dict) else None
                if not (
                    isinstance(concept.get("name") if thumbs is not None else None, str)
                    and isinstance(thumbs, list)
                    and all(
                        isinstance(t, dict) and isinstance(t.get("style"), str)
                        and (t.get("tile") is None or type(t.get("tile")) is int)
                        for t in thumbs
                    )
                ):
                    return [f"groups.{i}.concepts.{j}: expected a name and thumbs ({{style, tile}} each)"]
        return []


@dataclass(frozen=True)
class TrainingDataProjection(Projection):
    """A prompt's nearest concepts in the model's training data, ranked by the model's text encoder."""

    kind = "training-data"
    needs_model = True
    prompt: str
    groups: int
    summary: str  # the author's summary as canonical JSON, "" for none

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        method = f"groups={self.groups}; every group of a shared caption; who"
        if self.summary:
            method += f"; summary={hashlib.sha256(self.summary.encode()).hexdigest()[:16]}"
        return projection_id(fingerprint, self.kind, prompts=(self.prompt,), method=method)

    def draw(self, source) -> TrainingDataResult:
        card = None if self.summary else source.model.data_card()
        if self.summary:
            summary = json.loads(self.summary)
            concepts, about, styles, kind = summary_concepts(summary), summary["about"], [], "summary"
        elif card is not None:
            concepts, about, styles, kind = (
                card_concepts(card.card),
                card.card["about"],
                card.card["styles"],
                "card",
            )
        else:
            return TrainingDataResult(False, self.prompt, "", "", [], [], [], 0, [], "", 0, 0)
        ranked = rank_groups(self.prompt, concepts, source.prompt_vectors)
        shown = shown_groups(ranked, self.groups)
        runners = [g for g in ranked if all(g is not s for s in shown)][:RUNNERS_UP]
        groups = [group_entry(g, styles) for g in shown]
        total = sum(g["pictures"] for g in groups)
        tags = count_tags([c for g in shown for c in g["concepts"]], kind == "card")
        atlas, indices = "", [t["atlas"] for g in groups for c in g["concepts"] for t in c["thumbs"]]
        if card is not None and indices:
            atlas = sheet(card.thumbnails(indices), card.card["thumb"])
            for i, thumb in enumerate(t for g in groups for c in g["concepts"] for t in c["thumbs"]):
                thumb["tile"] = i
                del thumb["atlas"]
        runners_up = [{k: g[k] for k in ("name", "score", "caption", "captioned")} for g in runners]
        thumb = card.card["thumb"] if card is not None else 0
        columns = min(SHEET_COLUMNS, len(indices)) if atlas else 0
        return TrainingDataResult(
            True, self.prompt, about, kind, styles, groups, runners_up, total, tags, atlas, thumb, columns
        )


def shown_groups(ranked: list[dict[str, Any]], groups: int) -> list[dict[str, Any]]:
    """The nearest `groups` groups; but where the nearest caption is a caption of several groups (a
    keyword such as "doctor" captions 11 base emoji, all equally near), every one of them: the
    model learned that caption from all their pictures."""
    if not ranked:
        return []
    top = ranked[0]
    tied = [g for g in ranked if g["caption"] == top["caption"] and g["score"] == top["score"]]
    return tied[:MAX_SHOWN] if len(tied) > groups else ranked[:groups]


def card_concepts(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The data card's concepts in one shape with a summary's: name, captions, group, pictures,
    counts per tag, and the atlas index of each style's picture."""
    out = []
    for c in card["concepts"]:
        n = len(c["pictures"])
        person = is_person(c["emoji"])
        out.append(
            {
                "name": c["name"],
                "captions": [c["name"], *c["words"]],
                "group": c["group"],
                "pictures": n,
                "counts": {
                    "who": {"a person" if person else "not a person": n},
                    **({"skin": {c["skin"]: n}, "gender": {c["gender"]: n}} if person else {}),
                },
                "thumbs": [{"style": style, "atlas": i} for style, i in c["pictures"].items()],
            }
        )
    return out


def summary_concepts(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": c["name"],
            "captions": [c["name"], *c["captions"]],
            "group": c["group"] or c["name"],
            "pictures": c["pictures"],
            "counts": c["counts"],
            "thumbs": [],
        }
        for c in summary["concepts"]
    ]


def rank_groups(prompt: str, concepts: list[dict[str, Any]], vectors) -> list[dict[str, Any]]:
    """Groups of concepts, nearest first: a concept is as near as its nearest caption (cosine of
    the text encoder's vectors), a group as its nearest concept. Where groups share their nearest
    caption (a keyword such as "doctor" captions many emoji), the group with more pictures
    captioned with it comes first. `vectors(texts)` embeds texts."""
    texts = list(dict.fromkeys(t for c in concepts for t in c["captions"]))
    batches = [texts[i : i + ENCODE_BATCH] for i in range(0, len(texts), ENCODE_BATCH)]
    matrix = np.concatenate([vectors([prompt])] + [vectors(b) for b in batches]).astype(np.float64)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    score = {t: round(s, 3) for t, s in zip(texts, (matrix[1:] @ matrix[0]).tolist(), strict=True)}
    groups: dict[str, dict[str, Any]] = {}
    for c in concepts:
        group = groups.setdefault(
            c["group"], {"name": c["group"], "score": -2.0, "caption": "", "concepts": []}
        )
        group["concepts"].append(c)
        best = max(c["captions"], key=score.__getitem__)
        if score[best] > group["score"]:
            group["score"], group["caption"] = score[best], best
    for g in groups.values():  # pictures captioned with the group's nearest caption
        g["captioned"] = sum(c["pictures"] for c in g["concepts"] if g["caption"] in c["captions"])
    return sorted(groups.values(), key=lambda g: (-g["score"], -g["captioned"]))


def group_entry(group: dict[str, Any], styles: list[str]) -> dict[str, Any]:
    """A shown group for the page: its concepts in the card's tag order, their thumbnails by style."""
    order = {tag: {v: i for i, v in enumerate(values)} for tag, values in CARD_TAGS.items()}

    def key(c):
        return tuple(order[t].get(next(iter(c["counts"].get(t, {None: 0}))), 99) for t in CARD_TAGS)

    concepts = sorted(group["concepts"], key=key) if styles else group["concepts"]
    rank = {s: i for i, s in enumerate(styles)}
    return {
        "name": group["name"],
        "score": group["score"],
        "caption": group["caption"],
        "captioned": group["captioned"],
        "pictures": sum(c["pictures"] for c in concepts),
        "concepts": [
            {
                "name": c["name"],
                "pictures": c["pictures"],
                "thumbs": sorted((dict(t) for t in c["thumbs"]), key=lambda t: rank.get(t["style"], 99)),
                **({tag: next(iter(c["counts"].get(tag, {None: 0}))) for tag in CARD_TAGS} if styles else {}),
            }
            for c in concepts
        ],
    }


def count_tags(concepts: list[dict[str, Any]], card: bool) -> list[dict[str, Any]]:
    """Per tag, how many of the shown pictures carry each value (zero counts too, for the card)."""
    totals: dict[str, dict[Any, int]] = {}
    if card:
        totals = {tag: dict.fromkeys(values[:-1], 0) for tag, values in CARD_TAGS.items()}
    for c in concepts:
        for tag, values in c["counts"].items():
            for value, n in values.items():
                totals.setdefault(tag, {})
                totals[tag][value] = totals[tag].get(value, 0) + n
    labels = CARD_LABELS if card else {}
    return [
        {
            "name": tag,
            "title": TAG_TITLES.get(tag, tag) if card else tag,
            "of": sum(values.values()),
            "values": [
                {"value": v, "label": labels.get(tag, {}).get(v, v), "count": n}
                for v, n in values.items()
                if n or v not in (None, "mixed")  # the rare values only where they occur
            ],
        }
        for tag, values in totals.items()
        if not card or tag == "who" or sum(values.values())  # no people: no skin or gender bars
    ]


def sheet(thumbnails: list, size: int) -> str:
    """Thumbnails (`size` pixels a side) side by side, SHEET_COLUMNS a row, as a WebP in base64."""
    from stepthrough.widgets.pictures import grid

    buffer = io.BytesIO()
    grid(thumbnails, SHEET_COLUMNS).save(buffer, "WEBP", quality=85, method=6)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class TrainingData(Widget):
    name = "training-data"
    projection_type = TrainingDataProjection
    settings = TrainingDataSettings
    needs_sweep = False

    def projection(self, sweep, settings, jobs) -> TrainingDataProjection:
        summary = "" if settings.summary is None else json.dumps(_plain(settings.summary), sort_keys=True)
        return TrainingDataProjection(settings.prompt, settings.groups, summary)

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """The projection as the page shows it: thumbnails by style, one sprite sheet for them all."""
        result = assets.projection(section.id, TrainingDataResult)
        sheet_view = None
        if result.atlas:
            count = sum(len(c["thumbs"]) for g in result.groups for c in g["concepts"])
            rows = -(-count // result.columns)
            try:  # bytes from the bundle: only a picture of the size it says reaches the site
                atlas = base64.b64decode(result.atlas, validate=True)
            except ValueError:
                atlas = b""
            size = (result.columns * result.thumb, rows * result.thumb)
            picture, problem = formats.picture_problem(atlas[: formats.HEAD], size)
            if picture is None:
                raise assets.projection_error(section.id, "atlas", problem)
            sheet_view = {
                "src": assets.file_url(atlas, picture.suffix),
                "frames": count,
                "columns": result.columns,
                "rows": rows,
                "width": result.thumb,
                "height": result.thumb,
            }
        groups = []
        for g in result.groups:
            by_style = {s: [] for s in result.styles}
            for c in g["concepts"]:
                for t in c["thumbs"]:
                    by_style.setdefault(t["style"], []).append(
                        {"name": c["name"], "tile": t.get("tile"), **_tags(c)}
                    )
            groups.append({**g, "styles": [{"style": s, "pictures": p} for s, p in by_style.items() if p]})
        return {
            "id": section.id,
            "known": result.known,
            "prompt": result.prompt,
            "about": result.about,
            "source": result.source,
            "total": result.total,
            "tags": _in_language(result.tags) if result.source == "card" else result.tags,
            "groups": groups,
            "runners_up": result.runners_up,
            "_sheet": sheet_view,
        }


def _in_language(tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The data card's tags with their titles and values named in the page's language (the bundle
    holds them in English); a value without a phrase keeps the bundle's words."""
    phrases = locale.now()

    def phrase(key: str, fallback: str) -> str:
        return phrases.plain(key) if key in phrases.parts["page"] else fallback

    return [
        {
            **tag,
            "title": phrase(f"data.title.{tag['name']}", tag["title"]),
            "values": [
                {**v, "label": phrase(f"data.{tag['name']}.{str(v['value']).replace(' ', '_').replace('-', '_').lower()}", v["label"])}
                for v in tag["values"]
            ],
        }
        for tag in tags
    ]


def _tags(concept: dict[str, Any]) -> dict[str, Any]:
    return {tag: concept[tag] for tag in CARD_TAGS if tag in concept}


def _plain(value: Any) -> Any:
    """A loaded Schema as plain JSON-able data."""
    if isinstance(value, Schema):
        return {k: _plain(v) for k, v in vars(value).items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


WIDGET = TrainingData()

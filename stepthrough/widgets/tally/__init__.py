"""The Default Test, counted: every default picture (the sweep) sorted, and per tag a bar for each
value; tally.js highlights a bar's pictures.

With the builtin model's data card (the training pictures as thumbnails, each emoji's name, skin
tone and gender), the sorter is `sorter.Judge`: "not a person" first, then gender and skin tone for
the people, by the training pictures each picture looks most like; beside the model's bars, the
same buckets for the training pictures that carry the prompt's caption, as the data holds them and
as training showed them (`sorter.learned_from`). Without a card (any other model), each picture is
sorted to the explicit prompt (`compare_with`) whose picture it looks most like."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stepthrough import locale
from stepthrough.bundle.ids import Job, projection_id
from stepthrough.options import Choice, DictOf, Invalid, ListOf, Nested, Prompt, Schema, Seeds, Text, repeated
from stepthrough.widgets.base import Projection, ProjectionResult, Widget, sweep_jobs

TAG_NAME = r"[a-z][a-z0-9_-]{0,29}"  # it appears in the page address

SHEET_COLUMNS = 8  # pictures a row in the static frame's sheet

class Explicit(Schema):
    """A prompt that says what the default prompt leaves open, and the tags that name what it says."""

    prompt = Prompt()
    tags = DictOf(
        Text(pattern=TAG_NAME, hint="a tag name of lowercase letters, digits, '_' and '-'"),
        Text(max_length=40),
        min_length=1,
    )


class TallySettings(Schema):
    """The Default Test over many seeds: each default picture is sorted to the explicit prompt whose
    pictures (drawn from `compare_seeds`, at the sweep's steps and guidance) it resembles most."""

    compare_with = ListOf(Nested(Explicit), [], min_length=0)  # for a model without a data card
    compare_seeds = Seeds([0])
    # A claim the build checks (site/claims.py): over the section's seeds the model draws people
    # "more" often than, "fewer" (less often) than, or about as often as ("keeps") the training
    # pictures that carry the prompt's caption show them (`verdict`). None: no claim.
    people = Choice(("more", "fewer", "keeps", None), None)

    def check(self) -> None:
        if len(self.compare_with) == 1:
            raise Invalid("compare_with needs at least 2 prompts (or none: then a data card sorts)")
        if self.people is not None and self.compare_with:
            raise Invalid("people: a claim about people needs the data card's sort, not compare_with prompts")
        if not self.compare_with:
            return
        twice = repeated([explicit.prompt for explicit in self.compare_with])
        if twice is not None:
            raise Invalid(f"prompt {twice!r} is listed twice in compare_with")
        names = set(self.compare_with[0].tags)
        odd = next((e for e in self.compare_with if set(e.tags) != names), None)
        if odd is not None:
            raise Invalid(
                f"every compare_with prompt needs the same tags ({', '.join(sorted(names))}); "
                f"{odd.prompt!r} has {', '.join(sorted(odd.tags))}"
            )


@dataclass(frozen=True)
class TallyResult(ProjectionResult):
    kind = "tally"
    trajectories: list[str]  # the default pictures' ids
    references: list[str]  # the explicit prompts' pictures' ids
    nearest: list[
        dict[str, Any]
    ]  # per default picture: {"trajectory", "prompt", "distance"} it was sorted to (no card)
    method: str = "explicit"  # "card": sorted by the data card (sorter.py); "explicit": by compare_with
    sorted: list[dict[str, Any]] | None = None  # per default picture: {"person", "gender", "skin"}
    learned: dict[str, Any] | None = None  # sorter.learned_from: the caption's training pictures

    def problems(self) -> list[str]:
        if self.method not in ("card", "explicit"):
            return [f"method: expected 'card' or 'explicit' (got {self.method!r:.40})"]
        if self.method == "card":
            if not isinstance(self.sorted, list) or len(self.sorted) != len(self.trajectories):
                return [f"sorted: expected {len(self.trajectories)} entries, one per picture"]
            for i, entry in enumerate(self.sorted):
                if not isinstance(entry, dict) or not isinstance(entry.get("person"), bool):
                    return [f"sorted.{i}.person: expected true or false"]
                for key in ("gender", "skin"):
                    if entry["person"] and not isinstance(entry.get(key), str):
                        return [f"sorted.{i}.{key}: expected text for a person"]
            learned = self.learned if self.learned is not None else {"counts": {}}
            counts = learned.get("counts") if isinstance(learned, dict) else None
            if not isinstance(counts, dict) or not all(
                isinstance(v, dict) and all(isinstance(c, dict) for c in v.values()) for v in counts.values()
            ):
                return ["learned.counts: expected {tag: {value: {pictures, data, training}}}"]
            return []
        if len(self.nearest) != len(self.trajectories):
            return [f"nearest: expected {len(self.trajectories)} entries, one per picture (got {len(self.nearest)})"]
        for i, entry in enumerate(self.nearest):
            if not isinstance(entry.get("prompt"), str):
                return [f"nearest.{i}.prompt: expected text (got {entry.get('prompt')!r:.40})"]
        return []


@dataclass(frozen=True)
class TallyProjection(Projection):
    """Each default picture sorted to the explicit-prompt picture it looks most like (see
    project.picture_features for the space), from the finished pictures the bundle holds."""

    kind = "tally"
    jobs: tuple[Job, ...]  # the default pictures
    references: tuple[Job, ...]  # the explicit prompts' pictures

    def content_id(self, fingerprint: dict[str, Any]) -> str:
        from stepthrough.widgets.tally.sorter import METHOD

        card = _card(fingerprint.get("model", fingerprint))
        method = "" if card is None else f"{METHOD}; card of {card.card['images']} images; sorter 1"
        return projection_id(
            fingerprint, self.kind, trajectories=self.jobs, references=self.references, method=method
        )

    def draw(self, source) -> TallyResult:
        from stepthrough.reduce import nearest_rows, picture_features

        card = _card(source.manifest.model)
        defaults = [source.trajectory_id(job) for job in self.jobs]
        if card is not None:
            from stepthrough.widgets.tally.sorter import Judge, learned_from

            pictures = np.stack([source.picture(job) for job in self.jobs])
            judged = [
                {k: v for k, v in entry.items() if k != "neighbours"}
                for entry in Judge.from_card(card).sort(pictures)
            ]
            prompts = list(dict.fromkeys(job.prompt for job in self.jobs))
            return TallyResult(defaults, [], [], "card", judged, learned_from(card, prompts[0]))
        if not self.references:
            from stepthrough.errors import StepthroughError

            raise StepthroughError(
                "the tally needs a data card (the builtin model has one) or `compare_with` prompts to sort by"
            )

        def features(jobs: tuple[Job, ...]) -> np.ndarray:
            return picture_features(np.stack([source.picture(job) for job in jobs]))

        references = [source.trajectory_id(job) for job in self.references]
        same = np.array(
            [[d == r for r in references] for d in defaults]
        )  # a picture is not its own look-alike
        index, distance = nearest_rows(features(self.jobs), features(self.references), exclude=same)
        nearest = [
            {"trajectory": references[i], "prompt": self.references[i].prompt, "distance": round(float(d), 4)}
            for i, d in zip(index, distance, strict=True)
        ]
        return TallyResult(defaults, references, nearest)


class Tally(Widget):
    name = "tally"
    projection_type = TallyProjection
    settings = TallySettings

    def jobs(self, sweep, settings) -> tuple[Job, ...]:
        """The default pictures, then the explicit prompts' pictures."""
        return tuple(dict.fromkeys(sweep_jobs(sweep) + _reference_jobs(sweep, settings)))

    def projection(self, sweep, settings, jobs) -> TallyProjection:
        return TallyProjection(sweep_jobs(sweep), _reference_jobs(sweep, settings))

    def data(self, section, trajectory_ids, assets) -> dict[str, Any]:
        """The default pictures, each with the explicit prompt it looks most like (precompute sorted
        them) and that prompt's tags; per tag, how many pictures carry each value."""
        projection = assets.projection(section.id, TallyResult)
        if projection.method == "card":
            return _card_data(section, projection, assets)
        explicit = {e.prompt: e.tags for e in section.settings.compare_with}
        for i, entry in enumerate(projection.nearest):
            if entry["prompt"] not in explicit:
                raise assets.projection_error(
                    section.id, f"nearest.{i}.prompt", f"{entry['prompt']!r} is not a compare_with prompt of the section"
                )
        for i, tid in enumerate(projection.references):
            if assets.manifest.trajectories[tid].prompt not in explicit:
                raise assets.projection_error(
                    section.id, f"references.{i}", "names a trajectory of no compare_with prompt of the section"
                )
        tags: dict[str, dict[str, int]] = {}
        for e in section.settings.compare_with:  # values in the author's order, zero counts too
            for name, value in e.tags.items():
                tags.setdefault(name, {}).setdefault(value, 0)
        pictures, views = [], []
        for tid, nearest in zip(projection.trajectories, projection.nearest, strict=True):
            t = assets.manifest.trajectories[tid]
            pictures.append(
                {
                    "prompt": t.prompt,
                    "seed": t.seed,
                    "nearest": nearest["prompt"],
                    "tags": explicit[nearest["prompt"]],
                }
            )
            views.append(assets.views(tid, ["xt"])["xt"])
            for name, value in explicit[nearest["prompt"]].items():
                tags[name][value] += 1
        drawn: dict[str, list[dict[str, Any]]] = {prompt: [] for prompt in explicit}
        for tid in projection.references:
            drawn[assets.manifest.trajectories[tid].prompt].append(assets.views(tid, ["xt"])["xt"])
        return {
            "id": section.id,
            "method": "explicit",
            "total": len(pictures),
            "prompts": list(dict.fromkeys(p["prompt"] for p in pictures)),
            "pictures": pictures,
            "tags": [
                {"name": name, "values": [{"value": v, "count": n} for v, n in values.items()]}
                for name, values in tags.items()
            ],
            "_views": views,  # "_": for the template only (the script never changes a picture)
            "_sheet": {  # every picture in one file: the static frame until the reader nears it
                "src": assets.sheet_url(list(projection.trajectories), SHEET_COLUMNS),
                "columns": min(SHEET_COLUMNS, len(pictures)),
                "rows": -(-len(pictures) // SHEET_COLUMNS),
                "width": views[0]["width"] if views else 0,
                "height": views[0]["height"] if views else 0,
            },
            "_references": [{"prompt": prompt, "views": drawn[prompt]} for prompt in explicit],
        }


# How often the sorter agreed with labels made by eye on person or not, and on skin tone (per cent,
# exact and within one shade), on the pictures of the model version named (benchmarks/
# default_test.py; tests/test_default_test_sorter.py measures it again): the page says these numbers.
SORTER_CHECK = {"pictures": 128, "agreed": 119, "version": "u7726", "skin": 35, "skin_near": 73}
VALUE_ORDER = {
    "who": ("a person", "not a person"),
    "gender": ("woman", "man", "person", "mixed"),
    "skin": ("yellow", "light", "medium-light", "medium", "medium-dark", "dark", "mixed"),
}


def _card_data(section, projection: TallyResult, assets) -> dict[str, Any]:
    """The page's data for a tally sorted by the data card: per picture its bucket, per tag a bar
    for each value (gender and skin count the people only), and the same buckets for the training
    pictures that carry the prompt's caption, in the data and as training showed them."""
    pictures, views = [], []
    for tid, judged in zip(projection.trajectories, projection.sorted or [], strict=True):
        t = assets.manifest.trajectories[tid]
        tags = {"who": "a person" if judged["person"] else "not a person"}
        if judged["person"]:
            tags.update(gender=judged["gender"], skin=judged["skin"])
        said = (
            _label("who", tags["who"])
            if not judged["person"]
            else _phrase("tally.person_sorted", gender=_label("gender", tags["gender"]), skin=_label("skin", tags["skin"]))
        )
        pictures.append({"prompt": t.prompt, "seed": t.seed, "nearest": said, "tags": tags})
        views.append(assets.views(tid, ["xt"])["xt"])
    total, people = len(pictures), sum(p["tags"]["who"] == "a person" for p in pictures)
    learned = projection.learned or {"counts": {}, "pictures": 0}
    tags = []
    for name, order in VALUE_ORDER.items():
        counts = {v: 0 for v in order if v != "mixed"}
        for p in pictures:
            if name in p["tags"]:
                counts[p["tags"][name]] = counts.get(p["tags"][name], 0) + 1
        tags.append(
            {
                "name": name,
                "title": _phrase(f"tally.title.{name}"),
                "short": _phrase(f"tally.short.{name}"),  # "gender" in "gender: woman"
                "of": total if name == "who" else people,
                "values": [{"value": v, "label": _label(name, v), "count": n} for v, n in counts.items()],
            }
        )
    compare = []
    for tag in tags:
        seen = learned["counts"].get(tag["name"], {})
        for v in tag["values"]:
            drawn = seen.get(v["value"], {"pictures": 0, "data": 0.0, "training": 0.0})
            compare.append(
                {
                    "tag": tag["name"],
                    "label": v["label"],
                    "model": v["count"],
                    "model_share": v["count"] / total if total else 0.0,
                    "data": drawn["pictures"],
                    "data_share": drawn["data"],
                    "training_share": drawn["training"],
                }
            )
    person = learned["counts"].get("who", {}).get("a person", {"data": 0.0, "training": 0.0})
    return {
        "id": section.id,
        "method": "card",
        "total": total,
        "people": people,
        "prompts": list(dict.fromkeys(p["prompt"] for p in pictures)),
        "pictures": pictures,
        "tags": tags,
        "learned": {
            "caption": learned.get("caption", ""),
            "pictures": learned.get("pictures", 0),
            "emoji": learned.get("emoji", 0),
            "keeps_proportions": learned.get("keeps_proportions", False),
            "data_people": person["data"],
            "training_people": person["training"],
            "verdict": verdict(people, total, person["training"]),
            "verdict_data": verdict(people, total, person["data"]),
        },
        "_compare": compare,
        "_check": SORTER_CHECK,
        "_views": views,
        "_sheet": {
            "src": assets.sheet_url(list(projection.trajectories), SHEET_COLUMNS),
            "columns": min(SHEET_COLUMNS, total),
            "rows": -(-total // SHEET_COLUMNS),
            "width": views[0]["width"] if views else 0,
            "height": views[0]["height"] if views else 0,
        },
        "_references": [],
    }


def verdict(people: int, total: int, shown: float) -> str:
    """Whether the model draws people about as often as training showed them, less or more: the
    model's share against training's, with room for chance (two standard errors of `total` seeds,
    at least 0.1)."""
    if not total:
        return "none"
    share = people / total
    room = max(0.1, 2 * (shown * (1 - shown) / total) ** 0.5)
    if abs(share - shown) <= room:
        return "keeps"
    return "fewer" if share < shown else "more"


def _label(tag: str, value: str) -> str:
    """A bucket's name in the page's language ("not a person" → "no es una persona")."""
    return _phrase(f"tally.{tag}.{value.replace(' ', '_').replace('-', '_')}")


def _phrase(key: str, **values: str) -> str:
    return locale.now().plain(key, **values)


def _card(model: dict[str, Any]):
    """The data card of a bundle's model (its manifest's `model`): the builtin model's, else None."""
    return _builtin_card() if model.get("id") == "builtin" else None


@functools.lru_cache(maxsize=1)
def _builtin_card():
    from stepthrough.builtin import datacard

    return datacard.load_card(Path(datacard.__file__).resolve().parent / "weights")  # beside its weights


def _reference_jobs(sweep, settings: TallySettings) -> tuple[Job, ...]:
    """The explicit prompts, each drawn from `compare_seeds` at the sweep's steps and guidance."""
    prompts = [explicit.prompt for explicit in settings.compare_with]
    combos = itertools.product(prompts, settings.compare_seeds, sweep.steps, sweep.guidance)
    return tuple(dict.fromkeys(Job(p, s, n, float(g)) for p, s, n, g in combos))


WIDGET = Tally()
